// Swarm membership planning: from the persys Nodes, what each engine reports about its swarm and the
// swarm persys recorded, decide the next steps (init, join, promote/demote/relabel, leave, remove),
// each Node's status.swarm and the quorum verdict. Pure: the controller inspects and carries out.
import type { SwarmJoinTokens, SwarmMember, SwarmState } from '../../lib/gen/persys/v1/agent.js';
import type { NodeSwarmStatus } from '../../lib/gen/persys/v1/cluster.js';

/** The swarm node label naming the persys Node an engine belongs to; persys manages only members that carry it. */
export const PERSYS_NODE_LABEL = 'dev.persys.node';
/** The swarm node label listing (comma-separated, sorted) the Node-label keys persys set: the only ones it may remove. */
export const MANAGED_LABELS_LABEL = 'dev.persys.managed-labels';
/** The Node condition membership planning reports on (and reads back to time a pending join). */
export const SWARM_MEMBER_CONDITION = 'SwarmMember';
/** The SwarmMember reason of an engine that waits on a join; its lastTransitionTime is when the wait began. */
export const JOIN_PENDING_REASON = 'JoinPending';
/** How long an engine may wait on a join before it is made to leave (forced) and join again. */
export const JOIN_PENDING_TIMEOUT_MS = 2 * 60_000;

export type SwarmRole = 'manager' | 'worker' | 'none';

/** What planning needs of a persys Node. */
export interface PersysNode {
  name: string;
  /** spec.swarm.role; absent means none. */
  role: SwarmRole;
  /** The Ready condition is True. */
  ready: boolean;
  /** The InternalIP address; '' when the node reports none. */
  internalIp: string;
  labels: Record<string, string>;
  /** status.swarm.nodeId as last written: finds the node's member entry after it left. */
  lastNodeId: string;
  /** The SwarmMember condition's lastTransitionTime while its reason is JoinPending; absent otherwise. */
  joinPendingSince?: string;
}

/** The answer of one node's engine to inspect, or why there is none. */
export type Observation = { reachable: true; state: SwarmState } | { reachable: false; error: string };

/** The swarm persys formed or adopted, as kept in the join-tokens Secret. */
export interface SwarmRecord {
  clusterId: string;
  workerToken: string;
  managerToken: string;
}

export interface MembershipInput {
  nodes: readonly PersysNode[];
  /** By node name; a node missing here was not inspected (not Ready) and counts as unreachable. */
  observed: ReadonlyMap<string, Observation>;
  record?: SwarmRecord;
  /** Milliseconds since the epoch; without it a pending join is never given up. */
  now?: number;
}

export type MembershipAction =
  | { type: 'init'; node: string; advertiseAddr: string }
  /** The token comes from the plan's record; actions never carry it. */
  | { type: 'join'; node: string; role: 'manager' | 'worker'; remoteAddrs: string[]; advertiseAddr: string }
  | {
      type: 'updateNode';
      /** The manager that carries it out. */
      on: string;
      /** The persys Node (or, for a member of no Node, its label or hostname) concerned. */
      node: string;
      nodeId: string;
      role: 'manager' | 'worker';
      availability: string;
      labels: Record<string, string>;
      roleChange?: 'promote' | 'demote';
    }
  /**
   * bestEffort: the node may well be gone; a failure must not stop what follows. joinTimedOut: the
   * engine waited on a join too long and leaves (forced, it is no raft member) to join again.
   */
  | { type: 'leave'; node: string; force: boolean; bestEffort?: boolean; joinTimedOut?: boolean }
  | { type: 'removeNode'; on: string; node: string; nodeId: string; force: boolean };

/** A condition without its transition time (the writer sets that). */
export interface ConditionDraft {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** What this round says about one Node; undefined fields are left as they are, null ones removed. */
export interface NodeSwarmReport {
  swarm?: NodeSwarmStatus | null;
  /** The SwarmMember condition. */
  member?: ConditionDraft | null;
  /** Whether the node is in the persys swarm (and so gets the SwarmQuorum condition). */
  inSwarm?: boolean;
}

export interface QuorumVerdict {
  managers: number;
  reachable: number;
  majority: number;
  atRisk: boolean;
  message: string;
}

export interface MembershipPlan {
  /** The persys swarm after this plan; undefined when there is none. */
  record?: SwarmRecord;
  /** What to do with the stored record before any action. */
  recordWrite: 'none' | 'write' | 'forget';
  actions: MembershipAction[];
  reports: Map<string, NodeSwarmReport>;
  quorum?: QuorumVerdict;
  /** Persys Nodes that are reachable managers of the persys swarm, the leader first. */
  managers: string[];
}

/** The manager whose inspect lists the persys swarm's members. */
interface ManagerView {
  node: string;
  state: SwarmState;
}

const isActive = (s: SwarmState | undefined) => s?.localNodeState === 'active';
const stateOf = (o: Observation | undefined) => (o?.reachable ? o.state : undefined);
const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The swarm labels a Node's engine should carry: the labels it has, minus the Node-label keys persys set
 * last time, plus the Node's labels, dev.persys.node and the list of Node-label keys set. Labels added by
 * hand (`docker node update --label-add`) or by whoever formed an adopted swarm stay.
 */
export function desiredSwarmLabels(node: Pick<PersysNode, 'name' | 'labels'>, current: Record<string, string> = {}): Record<string, string> {
  const labels = { ...current };
  for (const key of (current[MANAGED_LABELS_LABEL] ?? '').split(',')) if (key) delete labels[key];
  delete labels[MANAGED_LABELS_LABEL];
  const keys = Object.keys(node.labels)
    .filter((k) => k !== PERSYS_NODE_LABEL && k !== MANAGED_LABELS_LABEL)
    .sort();
  for (const key of keys) labels[key] = node.labels[key]!;
  labels[PERSYS_NODE_LABEL] = node.name;
  if (keys.length > 0) labels[MANAGED_LABELS_LABEL] = keys.join(',');
  return labels;
}

export function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ea = Object.entries(a ?? {});
  return ea.length === Object.keys(b ?? {}).length && ea.every(([k, v]) => (b ?? {})[k] === v);
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

function memberStatus(m: SwarmMember): NodeSwarmStatus {
  return { nodeId: m.id, role: m.role, availability: m.availability, state: m.state };
}

function localStatus(s: SwarmState): NodeSwarmStatus {
  const inSwarm = s.localNodeState !== 'inactive';
  return {
    nodeId: inSwarm ? s.nodeId : '',
    role: isActive(s) ? (s.controlAvailable ? 'manager' : 'worker') : '',
    availability: '',
    state: s.localNodeState || 'unknown',
  };
}

/** Why an engine that is not in the persys swarm cannot simply join it, or undefined when it can. */
function notJoinableReason(s: SwarmState, record: SwarmRecord | undefined): ConditionDraft | undefined {
  switch (s.localNodeState) {
    case 'inactive':
      return undefined;
    case 'locked':
      return { status: 'False', reason: 'SwarmLocked', message: "the engine's swarm is locked: unlock it with `docker swarm unlock` on the node" };
    case 'error':
      return {
        status: 'False',
        reason: 'SwarmError',
        message: `the engine's swarm is in error${s.error ? ` (${s.error})` : ''}: run \`docker swarm leave --force\` on the node to start over`,
      };
    default: {
      const which = s.clusterId ? `swarm ${s.clusterId}` : 'a swarm persys did not form';
      const persys = record ? ` instead of the persys swarm ${record.clusterId}` : '';
      return {
        status: 'False',
        reason: 'InAnotherSwarm',
        message: `the engine is in ${which}${persys}: run \`docker swarm leave\` on the node, or set spec.swarm.role to none`,
      };
    }
  }
}

/**
 * An engine that waits to reach the managers of a swarm (state pending), typically after a join that
 * outlived Docker's timeout. giveUp when it has waited longer than JOIN_PENDING_TIMEOUT_MS and the
 * caller knows it is no raft member (a manager view does not list it): a forced leave lets it join again.
 */
function pendingJoin(n: PersysNode, s: SwarmState, given: readonly string[], now: number | undefined, mayGiveUp: boolean): { member: ConditionDraft; giveUp: boolean } {
  const addrs = s.remoteManagers.length > 0 ? s.remoteManagers : given;
  const where = addrs.length > 0 ? `the managers at ${addrs.join(', ')}` : 'its managers';
  const since = n.joinPendingSince ? Date.parse(n.joinPendingSince) : NaN;
  const giveUp = mayGiveUp && now !== undefined && Number.isFinite(since) && now - since > JOIN_PENDING_TIMEOUT_MS;
  const waiting = `the engine waits to reach ${where}${n.joinPendingSince ? ` since ${n.joinPendingSince}` : ''}: check that this node reaches them on TCP port 2377 and they reach its address ${n.internalIp || '(none reported)'}`;
  const message = giveUp ? `${waiting}; it gave up after ${JOIN_PENDING_TIMEOUT_MS / 1000} s and leaves to join again` : waiting;
  return { member: { status: 'False', reason: JOIN_PENDING_REASON, message }, giveUp };
}

export function planMembership(input: MembershipInput): MembershipPlan {
  const nodes = [...input.nodes].sort(byName);
  const reports = new Map<string, NodeSwarmReport>(nodes.map((n) => [n.name, {}]));
  const plan: MembershipPlan = { record: input.record, recordWrite: 'none', actions: [], reports, managers: [] };

  const view = findManagerView(nodes, input, plan);
  if (view) {
    planWithView(nodes, input, view, plan);
    return plan;
  }
  planWithoutView(nodes, input, plan);
  return plan;
}

/**
 * The manager view of the recorded swarm, or of a swarm to adopt when none is recorded (then
 * plan.record is set). Token rotation shows here too: the record follows the managers' tokens.
 */
function findManagerView(nodes: PersysNode[], input: MembershipInput, plan: MembershipPlan): ManagerView | undefined {
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

function planWithView(nodes: PersysNode[], input: MembershipInput, view: ManagerView, plan: MembershipPlan): void {
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
      if (wanted === 'none' && !managed(current)) {
        // A member of an adopted swarm that persys never managed: no labels, no demotion, no leave.
        report.member = {
          status: 'True',
          reason: 'NotManaged',
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

/**
 * Whether an engine is, or may be, a manager of the recorded swarm. A manager without quorum fails
 * docker info's cluster inspect and reports no cluster id: it may well be one of ours.
 */
function mayManage(s: SwarmState | undefined, record: SwarmRecord): boolean {
  return !!s?.controlAvailable && (s.clusterId === record.clusterId || !s.clusterId);
}

/** host:port of the swarm's managers for a join: the view's own list, else the managers' addresses. */
function remoteManagers(s: SwarmState): string[] {
  if (s.remoteManagers.length > 0) return [...s.remoteManagers];
  const addrs = s.members.filter((m) => m.role === 'manager' && m.addr).map((m) => (m.addr.includes(':') ? m.addr : `${m.addr}:2377`));
  return addrs.length > 0 ? addrs : s.nodeAddr ? [`${s.nodeAddr}:2377`] : [];
}

/**
 * No manager lists the members: form a swarm when that is safe, else report and wait. A recorded
 * swarm is forgotten (and a new one formed) only when every role-manager node and every node that was
 * in a swarm (status.swarm.nodeId), whatever its role, answers and is in no swarm, and none reports the
 * recorded cluster: a manager silent for a moment must not come back to a second swarm beside its own.
 */
function planWithoutView(nodes: PersysNode[], input: MembershipInput, plan: MembershipPlan): void {
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

/** The planning view of a Node object (its JSON form): a missing spec.swarm.role means none. */
export function persysNodeOf(obj: { metadata: { name?: string; labels?: Record<string, string> }; spec?: any; status?: any }): PersysNode {
  const role = obj.spec?.swarm?.role;
  const conditions: { type: string; status: string; reason?: string; lastTransitionTime?: string }[] = obj.status?.conditions ?? [];
  const addresses: { type: string; address: string }[] = obj.status?.addresses ?? [];
  const member = conditions.find((c) => c.type === SWARM_MEMBER_CONDITION);
  const node: PersysNode = {
    name: obj.metadata.name ?? '',
    role: role === 'manager' || role === 'worker' ? role : 'none',
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    internalIp: addresses.find((a) => a.type === 'InternalIP')?.address ?? '',
    labels: { ...(obj.metadata.labels ?? {}) },
    lastNodeId: obj.status?.swarm?.nodeId ?? '',
  };
  if (member?.reason === JOIN_PENDING_REASON && member.lastTransitionTime) node.joinPendingSince = member.lastTransitionTime;
  return node;
}
