// Status conditions as Kubernetes keeps them: one per type, whose lastTransitionTime moves only when
// its status does.
import type { Condition } from './resource.js';

/** The condition of this type in a status (or a list of conditions), if any. */
export function conditionOf(status: { conditions?: Condition[] } | Condition[] | undefined | null, type: string): Condition | undefined {
  const list = Array.isArray(status) ? status : (status?.conditions ?? []);
  return list.find((c) => c.type === type);
}

/** When `next` took its status: the time of `before` when the status is unchanged, else now. */
export function transitionTime(before: Condition | undefined, next: Pick<Condition, 'status'>, now: string): string {
  return before && before.status === next.status && before.lastTransitionTime ? before.lastTransitionTime : now;
}

/** `next` with its lastTransitionTime decided against the condition of the same type it replaces. */
export function withTransitionTime(before: Condition | undefined, next: Condition, now: string): Condition {
  return { ...next, lastTransitionTime: transitionTime(before, next, now) };
}

/** Replaces (or appends) the condition of next's type, keeping its transition time when the status is unchanged. */
export function setCondition(conditions: Condition[] | undefined, next: Condition, now: string): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const merged = withTransitionTime(i >= 0 ? list[i] : undefined, next, now);
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}
