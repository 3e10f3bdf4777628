// What a Container's status says about its placement: phase Scheduled with condition Scheduled=True
// once bound to a node, or phase Pending with Scheduled=False and the reason no node fits. The API
// server's Bind writes the first together with spec.nodeName; the scheduler writes the second.
import type { Condition, Resource } from './resource.js';

export const SCHEDULED = 'Scheduled';
const UNSCHEDULABLE_REASON = 'Unschedulable';

type SchedulingCondition = Condition & { observedGeneration?: number };

/** The status after binding to `node`: phase Scheduled and condition Scheduled=True. */
export function scheduledStatus(c: Resource, node: string, now: string): Record<string, unknown> {
  return withScheduledCondition(c, 'Scheduled', { type: SCHEDULED, status: 'True', reason: SCHEDULED, message: `assigned to node ${node}` }, now);
}

/** The status of a Container no node can take: phase Pending and condition Scheduled=False with the reason. */
export function unschedulableStatus(c: Resource, message: string, now: string): Record<string, unknown> {
  return withScheduledCondition(c, 'Pending', { type: SCHEDULED, status: 'False', reason: UNSCHEDULABLE_REASON, message }, now);
}

export function scheduledCondition(status: Record<string, any> | undefined): SchedulingCondition | undefined {
  return ((status?.conditions ?? []) as SchedulingCondition[]).find((x) => x.type === SCHEDULED);
}

// Other conditions (Ready, from the agent) are kept; the transition time moves only when the status flips.
function withScheduledCondition(c: Resource, phase: string, cond: SchedulingCondition, now: string): Record<string, unknown> {
  const status = { ...(c.status ?? {}) } as Record<string, any>;
  const previous = scheduledCondition(status);
  const next: SchedulingCondition = {
    ...cond,
    lastTransitionTime: previous && previous.status === cond.status ? (previous.lastTransitionTime ?? now) : now,
    observedGeneration: c.metadata.generation ?? 0,
  };
  const others = ((status.conditions ?? []) as SchedulingCondition[]).filter((x) => x.type !== SCHEDULED);
  return { ...status, phase, conditions: [...others, next] };
}
