// A SwarmService's status from a manager's answer to applyService: the Docker service's task counts
// and update state, observedGeneration, and the Ready and Available conditions; and how soon to look again.
import type { Condition } from '../../lib/api/resource.js';
import { setCondition } from '../../apiserver/agents/node-status.js';
import type { SwarmServiceStatus } from '../../lib/gen/persys/v1/workloads.js';
import type { ConditionDraft } from './membership.js';

/** While tasks start or an update rolls, look again this soon (a benchmark times apply → all running). */
export const CONVERGING_POLL_MS = 500;
/** Once converged, look again this late to repair drift. */
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
  let conditions = put(prev?.conditions, 'Ready', { status: 'True', reason: 'Applied', message: 'the service is applied to the swarm' }, now);
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

export function nextPollMs(answer: Pick<SwarmServiceStatus, 'desiredTasks' | 'runningTasks' | 'updateState'>): number {
  return answer.runningTasks < answer.desiredTasks || ROLLING.has(answer.updateState) ? CONVERGING_POLL_MS : CONVERGED_POLL_MS;
}

