// Membership planning when a manager lists the persys swarm's members: promote, demote and relabel
// members, join the Nodes outside it, make Nodes with role none leave, and remove entries left behind.
import type { SwarmMember, SwarmState } from '../../../lib/gen/persys/v1/agent.js';
import { listedMember, localStatus, memberStatus, stateOf } from './engine-state.js';
import { notJoinableReason, pendingJoin } from './join-blockers.js';
import { quorumOf, remoteManagers, type ManagerView } from './manager-view.js';
import { NOT_MANAGED_REASON, type MembershipAction, type MembershipInput, type MembershipPlan, type PersysNode } from './membership-model.js';
import { desiredSwarmLabels, PERSYS_NODE_LABEL, sameLabels } from './swarm-labels.js';

/** The member entries of the persys swarm that belong to one Node: current, and stale ones left behind. */
function entriesOf(n: PersysNode, s: SwarmState | undefined, reachable: boolean, members: readonly SwarmMember[]) {
  const byId = new Map(members.map((m) => [m.id, m]));
  const mine = members.filter((m) => m.id === n.lastNodeId || m.labels[PERSYS_NODE_LABEL] === n.name || (!!s?.nodeId && m.id === s.nodeId));
  let current: SwarmMember | undefined;
  if (reachable) {
    current = s && s.localNodeState !== 'inactive' && s.nodeId ? byId.get(s.nodeId) : undefined;
  } else {
    current = mine.find((m) => m.id === n.lastNodeId) ?? mine.find((m) => m.state !== 'down') ?? mine[0];
  }
  return { current, stale: mine.filter((m) => m !== current) };
}

export function planWithView(nodes: PersysNode[], input: MembershipInput, view: ManagerView, plan: MembershipPlan): void {
  const members = view.state.members;
  const record = plan.record!;
  const names = new Set(nodes.map((n) => n.name));
  const claimed = new Map<string, string>(); // member id → persys Node name
  const promotions: MembershipAction[] = [];
  const demotions: MembershipAction[] = [];
  const joins: MembershipAction[] = [];
  const leaves: MembershipAction[] = [];
  const removals: MembershipAction[] = [];

  const placed = nodes.map((n) => {
    const o = input.observed.get(n.name);
    const s = stateOf(o);
    const { current, stale } = entriesOf(n, s, !!o?.reachable, members);
    if (current) claimed.set(current.id, n.name);
    for (const m of stale) if (!claimed.has(m.id)) claimed.set(m.id, n.name);
    return { n, o, s, current, stale };
  });

  // Reachable managers through their own agents, the leader first: where manager-side calls run.
  const managerNames = members
    .filter((m) => m.role === 'manager' && m.managerReachability === 'reachable' && claimed.has(m.id))
    .sort((a, b) => Number(b.leader) - Number(a.leader) || (claimed.get(a.id)! < claimed.get(b.id)! ? -1 : 1))
    .map((m) => claimed.get(m.id)!)
    // A member persys does not manage (role none, no dev.persys.node) carries out nothing for it.
    .filter((name) => placed.some((p) => p.n.name === name && p.o?.reachable && p.current?.role === 'manager' && (p.n.role !== 'none' || !!p.current.labels[PERSYS_NODE_LABEL])));
  plan.managers = [...new Set(managerNames)];
  const runOn = (targetId: string): string => plan.managers.find((name) => placed.find((p) => p.n.name === name)?.current?.id !== targetId) ?? view.node;

  const totalManagers = members.filter((m) => m.role === 'manager').length;
  // Reachable managers after this round's promotions (which run first): a demotion must leave one.
  let managers = members.filter((m) => m.role === 'manager' && m.managerReachability === 'reachable').length;
  for (const p of placed) {
    if (p.n.role === 'manager' && p.current?.role === 'worker' && p.current.state === 'ready') managers++;
  }
  const isReachableManager = (m: SwarmMember) => m.managerReachability === 'reachable';
  const update = (node: string, m: SwarmMember, role: 'manager' | 'worker', labels: Record<string, string>, roleChange?: 'promote' | 'demote'): MembershipAction => ({
    type: 'updateNode',
    on: runOn(m.id),
    node,
    nodeId: m.id,
    role,
    availability: m.availability || 'active',
    labels,
    ...(roleChange && { roleChange }),
  });
  /** Demotes a manager entry unless it is the last; returns whether it may go. */
  const demote = (node: string, m: SwarmMember, labels: Record<string, string>): boolean => {
    if (isReachableManager(m)) {
      if (managers <= 1) return false;
      managers--;
    }
    demotions.push(update(node, m, 'worker', labels, 'demote'));
    return true;
  };
  const removeEntry = (node: string, m: SwarmMember, force: boolean) => {
    if (m.role === 'manager') demote(node, m, m.labels);
    else removals.push({ type: 'removeNode', on: runOn(m.id), node, nodeId: m.id, force });
  };

  for (const { n, o, s, current, stale } of placed) {
    const report = plan.reports.get(n.name)!;
    const wanted = n.role;
    // persys manages (and so may make leave) a member of a Node with role none only if it labelled it.
    const managed = (m: SwarmMember) => wanted !== 'none' || !!m.labels[PERSYS_NODE_LABEL];
    // Entries a rejoin or a leave left behind go once the swarm sees them down.
    for (const m of stale) if (m.state === 'down' && claimed.get(m.id) === n.name && managed(m)) removeEntry(n.name, m, false);

    if (current) {
      report.inSwarm = true;
      report.swarm = memberStatus(current);
      report.listed = listedMember(current, record.clusterId);
      if (wanted === 'none' && !managed(current)) {
        // A member of an adopted swarm that persys never managed: no labels, no demotion, no leave.
        report.member = {
          status: 'True',
          reason: NOT_MANAGED_REASON,
          message: `${current.role} of swarm ${record.clusterId}, left as it is: spec.swarm.role is none and persys never managed this member (no ${PERSYS_NODE_LABEL} label)`,
        };
        continue;
      }
      if (wanted === 'none') {
        report.member = { status: 'True', reason: 'Leaving', message: 'spec.swarm.role is none: the node leaves the swarm' };
        if (current.role === 'manager') {
          if (demote(n.name, current, current.labels)) continue;
          const comingManagers = nodes.filter((other) => other !== n && other.role === 'manager').map((other) => other.name);
          if (totalManagers > 1 || comingManagers.length > 0) {
            // Forcing it out now would leave the others a raft they cannot reach a majority of: demote it once another manager is reachable.
            const another = comingManagers.length > 0 && totalManagers === 1 ? ` (node ${comingManagers.join(', ')})` : '';
            report.member = { status: 'True', reason: 'Leaving', message: `spec.swarm.role is none: the node leaves once another manager${another} of the swarm is reachable` };
          } else if (o?.reachable) {
            // The last manager and no node wants to be one: leaving dismantles the swarm, so it takes --force.
            leaves.push({ type: 'leave', node: n.name, force: true });
          }
        } else if (o?.reachable) {
          leaves.push({ type: 'leave', node: n.name, force: false });
        } else {
          report.member = { status: 'True', reason: 'Leaving', message: 'spec.swarm.role is none: the node leaves the swarm once its agent is connected' };
        }
        continue;
      }
      const labels = desiredSwarmLabels(n, current.labels);
      let role = current.role as 'manager' | 'worker';
      let roleChange: 'promote' | 'demote' | undefined;
      report.member = { status: 'True', reason: 'Member', message: `${current.role} of swarm ${record.clusterId}` };
      if (wanted === 'manager' && role === 'worker' && current.state === 'ready') {
        role = 'manager';
        roleChange = 'promote';
      } else if (wanted === 'worker' && role === 'manager') {
        if (managers > 1 || !isReachableManager(current)) {
          if (isReachableManager(current)) managers--;
          role = 'worker';
          roleChange = 'demote';
        } else {
          report.member = { status: 'True', reason: 'LastManager', message: 'not demoted: it is the last reachable manager of the swarm; make another node a manager first' };
        }
      }
      if (roleChange || !sameLabels(current.labels, labels)) {
        (roleChange === 'demote' ? demotions : promotions).push(update(n.name, current, role, labels, roleChange));
      }
      continue;
    }

    // Not in the member list and not answering: nothing is known beyond what status already says.
    if (!o?.reachable || !s) continue;
    report.inSwarm = false;
    const leftEntry = stale.find((m) => claimed.get(m.id) === n.name);
    if (wanted === 'none') {
      // Until its left entry is removed, status keeps that entry's id (and so finds it next round).
      report.swarm = leftEntry && s.localNodeState === 'inactive' ? memberStatus(leftEntry) : localStatus(s);
      report.member = null;
      continue;
    }
    report.swarm = localStatus(s);
    if (s.localNodeState === 'pending') {
      const pending = pendingJoin(n, s, remoteManagers(view.state), input.now, true);
      report.member = pending.member;
      if (pending.giveUp) leaves.push({ type: 'leave', node: n.name, force: true, joinTimedOut: true });
      continue;
    }
    const blocked = notJoinableReason(s, record);
    if (blocked) {
      report.member = blocked;
      continue;
    }
    if (!(wanted === 'manager' ? record.managerToken : record.workerToken)) {
      report.member = { status: 'False', reason: 'NoJoinToken', message: `the managers of swarm ${record.clusterId} reported no ${wanted} join token` };
      continue;
    }
    joins.push({
      type: 'join',
      node: n.name,
      role: wanted,
      remoteAddrs: remoteManagers(view.state),
      advertiseAddr: n.internalIp,
    });
    report.member = { status: 'False', reason: 'Joining', message: `joining swarm ${record.clusterId} as a ${wanted}` };
  }

  // Members labelled for a Node that no longer exists: the node is gone, so its entry goes too.
  for (const m of members) {
    const owner = m.labels[PERSYS_NODE_LABEL];
    if (!owner || names.has(owner) || claimed.has(m.id)) continue;
    if (m.role === 'manager') {
      demote(owner, m, m.labels);
      continue;
    }
    if (m.state !== 'down') leaves.push({ type: 'leave', node: owner, force: false, bestEffort: true });
    removals.push({ type: 'removeNode', on: runOn(m.id), node: owner, nodeId: m.id, force: true });
  }

  plan.actions = [...promotions, ...demotions, ...joins, ...leaves, ...removals];
  plan.quorum = quorumOf(members);
}
