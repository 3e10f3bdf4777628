// The vocabulary of swarm membership planning: what it reads (Nodes, engine observations, the recorded
// swarm) and what it returns (actions, per-Node reports, the plan), and persysNodeOf that reads a Node.
import type { SwarmState } from '../../../lib/gen/persys/v1/agent.js';
import type { NodeSwarmStatus } from '../../../lib/gen/persys/v1/cluster.js';

/** The Node condition membership planning reports on (and reads back to time a pending join). */
export const SWARM_MEMBER_CONDITION = 'SwarmMember';
/** The SwarmMember reason of an engine that waits on a join; its lastTransitionTime is when the wait began. */
export const JOIN_PENDING_REASON = 'JoinPending';
/** The SwarmMember reason of a member of an adopted swarm that persys leaves alone (and sends no manager calls). */
export const NOT_MANAGED_REASON = 'NotManaged';

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

/** The part of status.swarm every round can tell, from an engine's own answer or a manager's member list. */
export type SwarmBasics = Pick<NodeSwarmStatus, 'nodeId' | 'role' | 'availability' | 'state'>;

/**
 * What a manager of the persys swarm lists of a member besides the basics: the rest of status.swarm,
 * which the swarm-services controller reads to find the managers it may call.
 */
export type ListedMember = Pick<NodeSwarmStatus, 'clusterId' | 'managerReachability' | 'leader' | 'managerAddr'>;

/** What this round says about one Node; undefined fields are left as they are, null ones removed. */
export interface NodeSwarmReport {
  swarm?: SwarmBasics | null;
  /** Set with swarm while a manager of the persys swarm lists the node; without it status.swarm has basics only. */
  listed?: ListedMember;
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

/** Orders Nodes by name, so plans list nodes and actions in a stable order. */
export const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

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
