// The manager whose inspect lists the persys swarm's members (found, or adopted when none is recorded),
// the manager addresses a join goes to, and the quorum verdict of the swarm's raft.
import type { SwarmJoinTokens, SwarmMember, SwarmState } from '../../../lib/gen/persys/v1/agent.js';
import { isActive, managerAddrOf, stateOf } from './engine-state.js';
import type { MembershipInput, MembershipPlan, PersysNode, QuorumVerdict, SwarmRecord } from './membership-model.js';

/** The manager whose inspect lists the persys swarm's members. */
export interface ManagerView {
  node: string;
  state: SwarmState;
}

/**
 * Quorum of the swarm's raft: a majority of the managers must be reachable. A member promoted a moment
 * ago has no manager status (reachability '') until raft reports on it: it is not counted yet.
 */
export function quorumOf(members: readonly SwarmMember[]): QuorumVerdict {
  const counted = members.filter((m) => m.role === 'manager' && m.managerReachability !== '');
  const managers = counted.length;
  const reachable = counted.filter((m) => m.managerReachability === 'reachable').length;
  const majority = Math.floor(managers / 2) + 1;
  return {
    managers,
    reachable,
    majority,
    atRisk: reachable < majority,
    message: `${reachable} of ${managers} managers reachable; a majority (${majority}) is needed`,
  };
}

/**
 * The manager view of the recorded swarm, or of a swarm to adopt when none is recorded (then
 * plan.record is set). Token rotation shows here too: the record follows the managers' tokens.
 */
export function findManagerView(nodes: PersysNode[], input: MembershipInput, plan: MembershipPlan): ManagerView | undefined {
  const listsMembers = (s: SwarmState | undefined): s is SwarmState => isActive(s) && !!s?.controlAvailable && s.members.length > 0;
  const record = input.record;
  let view: ManagerView | undefined;
  if (record) {
    const candidates = nodes
      .map((n) => ({ node: n.name, state: stateOf(input.observed.get(n.name)) }))
      .filter((c): c is ManagerView => listsMembers(c.state) && c.state.clusterId === record.clusterId);
    // Asking the leader saves a raft hop; any manager that lists the members will do.
    view = candidates.find((c) => c.state.members.some((m) => m.id === c.state.nodeId && m.leader)) ?? candidates[0];
  } else {
    view = nodes
      .filter((n) => n.ready && n.role === 'manager')
      .map((n) => ({ node: n.name, state: stateOf(input.observed.get(n.name)) }))
      .find((c): c is ManagerView => listsMembers(c.state) && !!c.state.clusterId && !!c.state.joinTokens?.worker);
  }
  if (!view) return undefined;
  const tokens: SwarmJoinTokens | undefined = view.state.joinTokens;
  const next: SwarmRecord = {
    clusterId: view.state.clusterId,
    workerToken: tokens?.worker || record?.workerToken || '',
    managerToken: tokens?.manager || record?.managerToken || '',
  };
  if (!record || record.workerToken !== next.workerToken || record.managerToken !== next.managerToken) plan.recordWrite = 'write';
  plan.record = next;
  return view;
}

/** host:port of the swarm's managers for a join: the view's own list, else the managers' addresses. */
export function remoteManagers(s: SwarmState): string[] {
  if (s.remoteManagers.length > 0) return [...s.remoteManagers];
  const addrs = s.members.filter((m) => m.role === 'manager' && m.addr).map((m) => managerAddrOf(m.addr));
  return addrs.length > 0 ? addrs : s.nodeAddr ? [`${s.nodeAddr}:2377`] : [];
}
