// Membership planning when no manager lists the persys swarm's members: form a swarm when that is safe,
// else report on each Node and wait.
import type { SwarmState } from '../../../lib/gen/persys/v1/agent.js';
import { isActive, localStatus, stateOf } from './engine-state.js';
import { notJoinableReason, pendingJoin } from './join-blockers.js';
import { byName, type MembershipInput, type MembershipPlan, type PersysNode, type SwarmRecord } from './membership-model.js';

/**
 * Whether an engine is, or may be, a manager of the recorded swarm. A manager without quorum fails
 * docker info's cluster inspect and reports no cluster id: it may well be one of ours.
 */
function mayManage(s: SwarmState | undefined, record: SwarmRecord): boolean {
  return !!s?.controlAvailable && (s.clusterId === record.clusterId || !s.clusterId);
}

/**
 * No manager lists the members: form a swarm when that is safe, else report and wait. A recorded
 * swarm is forgotten (and a new one formed) only when every role-manager node and every node that was
 * in a swarm (status.swarm.nodeId), whatever its role, answers and is in no swarm, and none reports the
 * recorded cluster: a manager silent for a moment must not come back to a second swarm beside its own.
 */
export function planWithoutView(nodes: PersysNode[], input: MembershipInput, plan: MembershipPlan): void {
  const record = input.record;
  const state = (n: PersysNode) => stateOf(input.observed.get(n.name));
  const roleManagers = nodes.filter((n) => n.role === 'manager');
  const formerMembers = nodes.filter((n) => n.lastNodeId);
  let initOn: PersysNode | undefined;
  let waiting: string;

  if (record) {
    const inRecorded = nodes.some((n) => mayManage(state(n), record));
    const allIdle = roleManagers.length > 0 && roleManagers.every((n) => state(n)?.localNodeState === 'inactive');
    const stillIn = formerMembers.filter((n) => state(n)?.localNodeState !== 'inactive');
    if (!inRecorded && allIdle && stillIn.length === 0) {
      initOn = roleManagers[0];
      plan.record = undefined;
      plan.recordWrite = 'forget';
    }
    waiting = inRecorded
      ? `no manager of swarm ${record.clusterId} can list its members (has it lost quorum?)`
      : `no manager of swarm ${record.clusterId} answers; a new swarm is formed only when every node with spec.swarm.role manager is Ready and in no swarm` +
        (stillIn.length > 0 ? `, and so is every node that was in the swarm (not yet: ${stillIn.map((n) => n.name).join(', ')})` : '');
  } else {
    const readyManagers = nodes.filter((n) => n.ready && n.role === 'manager');
    // A node that was in a swarm and does not answer may hold a swarm whose record was lost.
    const silent = [...new Set([...readyManagers, ...formerMembers])].filter((n) => !state(n)).sort(byName);
    const busy = readyManagers.filter((n) => state(n)?.controlAvailable);
    // A manager that did not answer, or one without quorum, may hold the swarm to adopt: never form a second one beside it.
    if (silent.length === 0 && busy.length === 0) initOn = readyManagers.find((n) => state(n)?.localNodeState === 'inactive');
    waiting =
      readyManagers.length === 0
        ? 'no swarm yet: set spec.swarm.role to manager on a Ready node to form one'
        : silent.length > 0
          ? `no swarm yet: waiting for node ${silent.map((n) => n.name).join(', ')} to answer before forming one`
          : busy.length > 0
            ? `no swarm yet: node ${busy.map((n) => n.name).join(', ')} manages a swarm that cannot list its members`
            : 'no swarm yet: no Ready node with spec.swarm.role manager is free to form one';
  }
  if (initOn) plan.actions.push({ type: 'init', node: initOn.name, advertiseAddr: initOn.internalIp });

  const current = plan.record;
  let inSwarm = 0;
  for (const n of nodes) {
    const report = plan.reports.get(n.name)!;
    const s = state(n);
    if (!s) {
      // A connected node that was in the swarm but cannot answer (a manager without quorum fails its inspect).
      if (current && n.ready && n.lastNodeId) {
        inSwarm++;
        report.inSwarm = true;
      }
      continue;
    }
    report.swarm = localStatus(s);
    const inRecorded = !!current && isActive(s) && (s.controlAvailable ? mayManage(s, current) : true);
    if (inRecorded) {
      // A worker cannot tell its cluster: with a recorded swarm and no manager to ask, count it in.
      inSwarm++;
      report.inSwarm = true;
      report.member =
        n.role === 'none'
          ? { status: 'True', reason: 'Leaving', message: 'spec.swarm.role is none: the node leaves once a manager of the swarm answers' }
          : { status: 'Unknown', reason: 'NoManagerView', message: waiting };
      continue;
    }
    report.inSwarm = false;
    if (n.role === 'none') {
      report.member = null;
      continue;
    }
    report.member =
      (s.localNodeState === 'pending' ? pendingJoin(n, s, [], input.now, false).member : notJoinableReason(s, current)) ??
      (initOn === n
        ? { status: 'False', reason: 'Initializing', message: 'forming a new swarm on this node' }
        : { status: 'False', reason: 'NoSwarm', message: waiting });
  }
  if (current && inSwarm > 0) {
    plan.quorum = {
      managers: 0,
      reachable: 0,
      majority: 0,
      atRisk: true,
      message: `no manager of swarm ${current.clusterId} can list its members although ${inSwarm} node${inSwarm === 1 ? ' is' : 's are'} in it`,
    };
  }
}
