// What a Container's status says about its placement: phase Scheduled with condition Scheduled=True
// once bound to a node, or phase Pending with Scheduled=False and the reason no node fits. The API
// server's Bind writes the first together with spec.nodeName; the scheduler writes the second.
import type { ContainerObject } from './typed.js';

export const SCHEDULED = 'Scheduled';
const UNSCHEDULABLE_REASON = 'Unschedulable';

type ContainerStatus = NonNullable<ContainerObject['status']>;
type SchedulingCondition = NonNullable<ContainerStatus['conditions']>[number];

/** The status after binding to `node`: phase Scheduled and condition Scheduled=True. */
export function scheduledStatus(c: ContainerObject, node: string, now: string): ContainerStatus {
  return withScheduledCondition(c, 'Scheduled', { type: SCHEDULED, status: 'True', reason: SCHEDULED, message: `assigned to node ${node}` }, now);
}

/** The status of a Container no node can take: phase Pending and condition Scheduled=False with the reason. */
export function unschedulableStatus(c: ContainerObject, message: string, now: string): ContainerStatus {
  return withScheduledCondition(c, 'Pending', { type: SCHEDULED, status: 'False', reason: UNSCHEDULABLE_REASON, message }, now);
}

export function scheduledCondition(status: ContainerStatus | undefined): SchedulingCondition | undefined {
  return (status?.conditions ?? []).find((x) => x.type === SCHEDULED);
}

// Other conditions (Ready, from the agent) are kept; the transition time moves only when the status flips.
function withScheduledCondition(c: ContainerObject, phase: string, cond: SchedulingCondition, now: string): ContainerStatus {
  const status = { ...(c.status ?? {}) };
  const previous = scheduledCondition(status);
  const next: SchedulingCondition = {
    ...cond,
    lastTransitionTime: previous && previous.status === cond.status ? (previous.lastTransitionTime ?? now) : now,
    observedGeneration: c.metadata.generation ?? 0,
  };
  const others = (status.conditions ?? []).filter((x) => x.type !== SCHEDULED);
  return { ...status, phase, conditions: [...others, next] };
}
