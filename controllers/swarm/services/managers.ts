// The managers the services controller may send SwarmServices to, read from Node status alone: the
// swarm-membership controller writes status.swarm and the SwarmMember condition after each round, and
// this reads them back. Pure: a function of the Node objects.
import type { Resource } from '../../../lib/api/resource.js';
import { NOT_MANAGED_REASON, SWARM_MEMBER_CONDITION } from '../membership/membership-model.js';

type NodeObject = Pick<Resource, 'metadata' | 'status'>;

interface Candidate {
  name: string;
  clusterId: string;
  leader: boolean;
}

type Conditions = { type: string; status: string; reason?: string }[];

/**
 * A Node through which a manager call can reach the persys swarm: its agent is connected (Ready), and
 * the membership round last saw it as a reachable manager of the swarm that persys manages.
 */
function candidateOf(node: NodeObject): Candidate | undefined {
  const swarm = node.status?.swarm ?? {};
  const conditions: Conditions = node.status?.conditions ?? [];
  const ready = conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  const member = conditions.find((c) => c.type === SWARM_MEMBER_CONDITION);
  if (!ready || swarm.role !== 'manager' || swarm.managerReachability !== 'reachable' || !swarm.clusterId) return undefined;
  // A manager of an adopted swarm that persys never managed carries out nothing for it.
  if (member?.status !== 'True' || member.reason === NOT_MANAGED_REASON) return undefined;
  return { name: node.metadata.name ?? '', clusterId: String(swarm.clusterId), leader: swarm.leader === true };
}

/**
 * Names of the Nodes that are reachable managers of the persys swarm, the leader first (asking it saves a
 * raft hop), then by name. Should statuses name two swarms (one written before the swarm was formed
 * again), only the leader's counts, else the one most managers report.
 */
export function swarmManagersOf(nodes: readonly NodeObject[]): string[] {
  const candidates = nodes.map(candidateOf).filter((c): c is Candidate => !!c && !!c.name);
  if (candidates.length === 0) return [];
  const counts = new Map<string, number>();
  for (const c of candidates) counts.set(c.clusterId, (counts.get(c.clusterId) ?? 0) + 1);
  const cluster =
    candidates.find((c) => c.leader)?.clusterId ?? [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))[0]![0];
  return candidates
    .filter((c) => c.clusterId === cluster)
    .sort((a, b) => Number(b.leader) - Number(a.leader) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((c) => c.name);
}

/** What of a Node swarmManagersOf reads: a change elsewhere (heartbeats, usage) cannot change the managers. */
export function managerFingerprint(node: NodeObject): string {
  const conditions: Conditions = node.status?.conditions ?? [];
  const pick = (type: string) => {
    const c = conditions.find((x) => x.type === type);
    return c && [c.status, c.reason ?? ''];
  };
  return JSON.stringify([node.status?.swarm ?? null, pick('Ready'), pick(SWARM_MEMBER_CONDITION)]);
}
