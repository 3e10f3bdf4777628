// A SwarmService's status from a manager's answer to applyService: the Docker service's task counts
// and update state, observedGeneration, and the Ready and Available conditions; and how soon to look again.
import type { Condition } from '../../../lib/api/resource.js';
import { setCondition } from '../../../lib/api/conditions.js';
import type { SwarmServiceStatus } from '../../../lib/gen/persys/v1/workloads.js';
import type { ConditionDraft } from '../membership/membership.js';
import { PULL_SECRETS_CONDITION } from './registry-auth.js';

/** While tasks start or an update rolls, look again this soon (a benchmark times apply → all running). */
export const CONVERGING_POLL_MS = 250;
/** Once converged (or while nothing changes), look again at most this late, to repair drift. */
export const CONVERGED_POLL_MS = 30_000;
const SHOWN_TASK_ERRORS = 3;
const ROLLING = new Set(['updating', 'rollback_started']);

export function availableCondition(s: Pick<SwarmServiceStatus, 'desiredTasks' | 'runningTasks' | 'taskErrors'>): ConditionDraft {
  const counts = `${s.runningTasks} of ${s.desiredTasks} tasks running`;
  if (s.desiredTasks === 0 || s.runningTasks >= s.desiredTasks) return { status: 'True', reason: 'TasksRunning', message: counts };
  const errors = [...new Set(s.taskErrors)].slice(0, SHOWN_TASK_ERRORS);
  const more = s.taskErrors.length > SHOWN_TASK_ERRORS ? ' …' : '';
  return { status: 'False', reason: 'TasksNotRunning', message: errors.length ? `${counts}: ${errors.join('; ')}${more}` : counts };
}

const put = (conditions: Condition[] | undefined, type: string, d: ConditionDraft, now: string) => setCondition(conditions, { type, ...d }, now);

/** The status after a successful apply (the answer is authoritative for the Docker service's fields). */
export function statusAfterApply(prev: any, answer: SwarmServiceStatus, generation: number, now: string): any {
  // A manager that refuses the service (a name taken by a hand-made service, a spec Docker cannot take) says why.
  const refusal = answer.conditions.find((c) => c.type === 'Ready' && c.status === 'False');
  const ready: ConditionDraft = refusal
    ? { status: 'False', reason: refusal.reason, message: refusal.message }
    : { status: 'True', reason: 'Applied', message: 'the service is applied to the swarm' };
  let conditions = put(prev?.conditions, 'Ready', ready, now);
  conditions = put(conditions, 'Available', availableCondition(answer), now);
  return {
    serviceId: answer.serviceId,
    desiredTasks: answer.desiredTasks,
    runningTasks: answer.runningTasks,
    updateState: answer.updateState,
    updateMessage: answer.updateMessage,
    taskErrors: [...answer.taskErrors],
    observedGeneration: generation,
    conditions,
  };
}

/** The status after every manager failed: the last known counts stay, Ready says why. */
export function statusAfterFailure(prev: any, message: string, now: string): any {
  return { ...(prev ?? {}), conditions: put(prev?.conditions, 'Ready', { status: 'False', reason: 'SwarmUnavailable', message }, now) };
}

/**
 * `status` with the PullSecrets condition (controllers/swarm/services/registry-auth.ts) set, or removed when the
 * service names no imagePullSecrets any more.
 */
export function withPullSecretsCondition(status: any, condition: ConditionDraft | undefined, now: string): any {
  const others = ((status?.conditions ?? []) as Condition[]).filter((c) => c.type !== PULL_SECRETS_CONDITION);
  const prev = ((status?.conditions ?? []) as Condition[]).find((c) => c.type === PULL_SECRETS_CONDITION);
  if (!condition) return prev ? { ...status, conditions: others } : status;
  return { ...status, conditions: put(status?.conditions, PULL_SECRETS_CONDITION, condition, now) };
}

/** What a poll learned, to tell whether anything moved since the last one. */
export function answerFingerprint(a: SwarmServiceStatus): string {
  return JSON.stringify([a.serviceId, a.desiredTasks, a.runningTasks, a.updateState, a.updateMessage, a.taskErrors, a.conditions.map((c) => c.reason)]);
}

/**
 * How soon to look again: soon while tasks start or an update rolls, backing off (doubling up to the
 * converged interval) while nothing moves, e.g. a missing image or a paused update; late once converged
 * or refused.
 */
export function nextPollMs(answer: SwarmServiceStatus, previous?: { fingerprint: string; delayMs: number }): number {
  const converging = !!answer.serviceId && (answer.runningTasks < answer.desiredTasks || ROLLING.has(answer.updateState));
  if (!converging) return CONVERGED_POLL_MS;
  if (previous && previous.fingerprint === answerFingerprint(answer)) return Math.min(CONVERGED_POLL_MS, previous.delayMs * 2);
  return CONVERGING_POLL_MS;
}

