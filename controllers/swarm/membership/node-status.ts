// A Node's status after a membership round: status.swarm and the SwarmMember and SwarmQuorum
// conditions change; every other field and condition (the API server's, the node controller's) stays.
import type { Condition } from '../../../lib/api/resource.js';
import { conditionOf, setCondition } from '../../../lib/api/conditions.js';
import { JOIN_PENDING_REASON, SWARM_MEMBER_CONDITION, type ConditionDraft, type NodeSwarmReport, type QuorumVerdict } from './membership.js';
import { sameStatus } from '../same-status.js';

export { SWARM_MEMBER_CONDITION };
export const SWARM_QUORUM_CONDITION = 'SwarmQuorum';

export function quorumCondition(q: QuorumVerdict): ConditionDraft {
  return q.atRisk ? { status: 'False', reason: 'QuorumAtRisk', message: q.message } : { status: 'True', reason: 'QuorumHealthy', message: q.message };
}

function withCondition(conditions: Condition[], type: string, draft: ConditionDraft | null | undefined, now: string): Condition[] {
  if (draft === undefined) return conditions;
  if (draft === null) return conditions.filter((c) => c.type !== type);
  return setCondition(conditions, { type, ...draft }, now);
}

/** The status to write after a round, or undefined when it would say what it already says. */
export function nodeStatusAfterRound(prev: any, report: NodeSwarmReport, quorum: QuorumVerdict | undefined, now: string): any | undefined {
  const next: Record<string, unknown> = { ...(prev ?? {}) };
  if (report.swarm === null) delete next.swarm;
  // Stored proto JSON drops empty strings and false: so does the status compared with it.
  else if (report.swarm) next.swarm = Object.fromEntries(Object.entries({ ...report.swarm, ...report.listed }).filter(([, v]) => v !== '' && v !== false));
  let conditions: Condition[] = [...(prev?.conditions ?? [])];
  // A pending join is timed from its own start (planning reads it back), not from when SwarmMember last turned False.
  if (report.member?.reason === JOIN_PENDING_REASON && conditionOf(prev, SWARM_MEMBER_CONDITION)?.reason !== JOIN_PENDING_REASON) {
    conditions = conditions.map((c) => (c.type === SWARM_MEMBER_CONDITION ? { ...c, lastTransitionTime: '' } : c));
  }
  conditions = withCondition(conditions, SWARM_MEMBER_CONDITION, report.member, now);
  const quorumDraft = report.inSwarm === true ? (quorum ? quorumCondition(quorum) : undefined) : report.inSwarm === false ? null : undefined;
  conditions = withCondition(conditions, SWARM_QUORUM_CONDITION, quorumDraft, now);
  next.conditions = conditions;
  return sameStatus(prev, next) ? undefined : next;
}

/** Whether SwarmQuorum turned False between two statuses (a Warning Event is due). */
export function quorumTurnedAtRisk(prev: any, next: any): boolean {
  return conditionOf(next, SWARM_QUORUM_CONDITION)?.status === 'False' && conditionOf(prev, SWARM_QUORUM_CONDITION)?.status !== 'False';
}
