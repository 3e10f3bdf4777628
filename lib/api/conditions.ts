// Status conditions as Kubernetes keeps them: one per type, whose lastTransitionTime moves only when
// its status does.
import type { Condition } from './resource.js';

/** A condition as a typed object's status holds it (lib/api/typed.ts): in the JSON form every field may be absent. */
export type StoredCondition = { [K in keyof Condition]?: K extends 'status' ? string : Condition[K] };

/** The condition of this type in a status (or a list of conditions), if any. */
export function conditionOf<C extends StoredCondition = Condition>(
  status: { conditions?: readonly C[] } | readonly C[] | undefined | null,
  type: string,
): C | undefined {
  const list: readonly C[] = isList(status) ? status : (status?.conditions ?? []);
  return list.find((c) => c.type === type);
}

const isList = <C>(v: { conditions?: readonly C[] } | readonly C[] | undefined | null): v is readonly C[] => Array.isArray(v);

/** When `next` took its status: the time of `before` when the status is unchanged, else now. */
export function transitionTime(before: StoredCondition | undefined, next: Pick<StoredCondition, 'status'>, now: string): string {
  return before && before.status === next.status && before.lastTransitionTime ? before.lastTransitionTime : now;
}

/** `next` with its lastTransitionTime decided against the condition of the same type it replaces. */
export function withTransitionTime(before: StoredCondition | undefined, next: Condition, now: string): Condition {
  return { ...next, lastTransitionTime: transitionTime(before, next, now) };
}

/** Replaces (or appends) the condition of next's type, keeping its transition time when the status is unchanged. */
export function setCondition<C extends StoredCondition = Condition>(conditions: readonly C[] | undefined, next: Condition, now: string): (C | Condition)[] {
  const list: (C | Condition)[] = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const merged = withTransitionTime(i >= 0 ? list[i] : undefined, next, now);
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}
