// The ContainerSet rollout step (Kubernetes Deployment math), pure: from the set and the Containers it
// owns, which Containers to create and delete now, and the status that describes what was observed.
import { createHash } from 'node:crypto';
import { DRAIN_ANNOTATION } from '../../lib/api/annotations.js';
import type { Condition, Resource } from '../../lib/api/resource.js';
import type { ContainerObject, ContainerSetObject } from '../../lib/api/typed.js';
import { conditionOf, withTransitionTime } from '../../lib/api/conditions.js';
import { stableJson } from '../../lib/api/stable-json.js';

export const TEMPLATE_HASH_LABEL = 'persys.dev/template-hash';
/** Kubernetes' default for a Deployment's progressDeadlineSeconds. */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';

export interface RolloutPlan {
  /** Hash of the set's template: the value of TEMPLATE_HASH_LABEL on Containers to create. */
  hash: string;
  /** Containers to create from the template. */
  create: number;
  /** Names of owned Containers to delete. */
  delete: string[];
  /** Why the deletions happen, for events: failed/lost replacement, scale down or rollout. */
  deleteReasons: Record<string, 'Replace' | 'ScaleDown' | 'Rollout'>;
  status: ContainerSetStatus;
  /** When the rollout will have made no progress for progressDeadlineSeconds, if it is still under way. */
  progressDeadlineAtMs?: number;
}

export interface ContainerSetStatus {
  replicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  observedGeneration: number;
  currentRevision: string;
  conditions: Condition[];
}

/** A stable hash of the template: key order never changes it, any value change does. */
export function templateHash(template: unknown): string {
  return createHash('sha256').update(stableJson(template ?? {})).digest('hex').slice(0, 10);
}

/** "25%" of total rounded up or down, or an absolute "1" / 1; undefined or empty uses the fallback. */
export function scaledValue(value: string | number | undefined, total: number, roundUp: boolean, fallback = '25%'): number {
  const v = value === undefined || value === '' ? fallback : value;
  if (typeof v === 'number') return Math.max(0, Math.trunc(v));
  const m = /^(\d+)%$/.exec(v.trim());
  if (m) {
    const exact = (Number(m[1]) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

const isTerminal = (c: ContainerObject) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed';
const readyCondition = (c: ContainerObject): Condition | undefined =>
  ((c.status?.conditions ?? []) as Condition[]).find((x) => x.type === 'Ready');

/**
 * Ready: its Ready condition is True, or it runs and has no healthcheck to say otherwise. A Container on a
 * lost node (phase Unknown) is not ready but still counts: it is replaced only once the node controller
 * evicts it, after the eviction timeout and within its rate limit.
 */
export function isContainerReady(c: ContainerObject): boolean {
  if (c.status?.phase === 'Unknown') return false;
  const cond = readyCondition(c);
  if (cond) return cond.status === 'True';
  return c.status?.phase === 'Running' && !c.spec?.healthcheck;
}

// Available: ready for at least minReadySeconds (Kubernetes' availability rule).
function isAvailable(c: ContainerObject, minReadySeconds: number, nowMs: number): boolean {
  if (!isContainerReady(c)) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(readyCondition(c)?.lastTransitionTime ?? '');
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= nowMs;
}

// Which to delete first when scaling down: not ready before ready, then the newest (the controller's
// ActivePods ranking, reduced to what persys observes).
function deletionOrder(a: ContainerObject, b: ContainerObject): number {
  const ra = isContainerReady(a) ? 1 : 0;
  const rb = isContainerReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? 1 : -1;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na < nb ? 1 : na > nb ? -1 : 0;
}

/** One step toward the set's desired state; `nowMs` only dates conditions and measures availability. */
export function planRollout(set: ContainerSetObject, owned: ContainerObject[], nowMs: number): RolloutPlan {
  const spec = set.spec ?? {};
  const desired = Math.max(0, Number(spec.replicas ?? 1));
  const hash = templateHash(spec.template);
  const minReadySeconds = Number(spec.minReadySeconds ?? 0);
  const live = owned.filter((c) => !c.metadata.deletionTimestamp);
  const broken = live.filter(isTerminal);
  const active = live.filter((c) => !isTerminal(c));
  // A Container asked to leave its node (drain) is replaced like one of an older template.
  const isCurrent = (c: ContainerObject) => c.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash && !c.metadata.annotations?.[DRAIN_ANNOTATION];
  const current = active.filter(isCurrent);
  const old = active.filter((c) => !isCurrent(c));

  const deleteReasons: RolloutPlan['deleteReasons'] = {};
  for (const c of broken) deleteReasons[c.metadata.name!] = 'Replace';
  let create = 0;

  const scaleCurrent = () => {
    if (current.length < desired) create = desired - current.length;
    else for (const c of [...current].sort(deletionOrder).slice(0, current.length - desired)) deleteReasons[c.metadata.name!] = 'ScaleDown';
  };

  const recreate = spec.strategy?.type === 'Recreate';
  const oldTerminating = owned.some((c) => c.metadata.deletionTimestamp && c.metadata.labels?.[TEMPLATE_HASH_LABEL] !== hash);
  if (recreate && (old.length > 0 || oldTerminating)) {
    // Recreate: nothing of the new template runs until every old Container is gone.
    for (const c of old) deleteReasons[c.metadata.name!] = 'Rollout';
  } else if (old.length === 0) {
    scaleCurrent();
  } else {
    let maxSurge = scaledValue(spec.strategy?.rollingUpdate?.maxSurge, desired, true);
    const maxUnavailable = scaledValue(spec.strategy?.rollingUpdate?.maxUnavailable, desired, false);
    if (maxSurge === 0 && maxUnavailable === 0) maxSurge = 1; // else the rollout could never move
    const total = active.length;
    if (current.length > desired) {
      for (const c of [...current].sort(deletionOrder).slice(0, current.length - desired)) deleteReasons[c.metadata.name!] = 'ScaleDown';
    } else {
      create = Math.max(0, Math.min(desired + maxSurge - total, desired - current.length));
    }
    // Old Containers go only while the ready count stays at or above desired − maxUnavailable.
    const minAvailable = desired - maxUnavailable;
    const currentNotReady = current.filter((c) => !isContainerReady(c)).length;
    const maxScaledDown = total - minAvailable - currentNotReady;
    if (maxScaledDown > 0) {
      const ranked = [...old].sort(deletionOrder);
      const notReady = ranked.filter((c) => !isContainerReady(c)).slice(0, maxScaledDown);
      for (const c of notReady) deleteReasons[c.metadata.name!] = 'Rollout';
      const readyTotal = active.filter(isContainerReady).length;
      const readyOld = ranked.filter(isContainerReady);
      for (const c of readyOld.slice(0, Math.max(0, readyTotal - minAvailable))) deleteReasons[c.metadata.name!] = 'Rollout';
    }
    // A drained Container that is not ready serves nobody: it leaves at once, whatever the budget.
    for (const c of old) if (c.metadata.annotations?.[DRAIN_ANNOTATION] && !isContainerReady(c)) deleteReasons[c.metadata.name!] = 'Rollout';
  }

  const status = computeStatus(set, active, current, hash, desired, minReadySeconds, nowMs);
  const progressing = status.conditions.find((c) => c.type === 'Progressing')!;
  const deadlineSeconds = Number(spec.progressDeadlineSeconds || DEFAULT_PROGRESS_DEADLINE_SECONDS);
  const underWay = progressing.status === 'True' && progressing.reason === 'ContainersUpdating';
  return {
    hash,
    create,
    delete: Object.keys(deleteReasons),
    deleteReasons,
    status,
    progressDeadlineAtMs: underWay ? Date.parse(progressing.lastUpdateTime!) + deadlineSeconds * 1000 : undefined,
  };
}

// Progress, as Kubernetes counts it: a new revision, or more updated, ready or available replicas, or fewer old.
function madeProgress(before: ContainerSetObject['status'], after: Omit<ContainerSetStatus, 'conditions'>): boolean {
  const b = before ?? {};
  const n = (k: 'replicas' | 'updatedReplicas' | 'readyReplicas' | 'availableReplicas') => Number(b[k] ?? 0);
  return (
    (b.currentRevision ?? '') !== after.currentRevision ||
    after.updatedReplicas > n('updatedReplicas') ||
    after.readyReplicas > n('readyReplicas') ||
    after.availableReplicas > n('availableReplicas') ||
    after.replicas - after.updatedReplicas < n('replicas') - n('updatedReplicas')
  );
}

function computeStatus(
  set: ContainerSetObject,
  active: ContainerObject[],
  current: ContainerObject[],
  hash: string,
  desired: number,
  minReadySeconds: number,
  nowMs: number,
): ContainerSetStatus {
  const ready = active.filter(isContainerReady).length;
  const available = active.filter((c) => isAvailable(c, minReadySeconds, nowMs)).length;
  const currentAvailable = current.filter((c) => isAvailable(c, minReadySeconds, nowMs)).length;
  const maxUnavailable =
    set.spec?.strategy?.type === 'Recreate' ? 0 : scaledValue(set.spec?.strategy?.rollingUpdate?.maxUnavailable, desired, false);
  const complete = current.length === desired && active.length === desired && currentAvailable === desired;
  const previous = (set.status?.conditions ?? []) as Condition[];
  const now = new Date(nowMs).toISOString();
  const condition = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
    return withTransitionTime(conditionOf(previous, type), { type, status, reason, message }, now);
  };
  const counts = {
    replicas: active.length,
    readyReplicas: ready,
    updatedReplicas: current.length,
    availableReplicas: available,
    observedGeneration: Number(set.metadata.generation ?? 0),
    currentRevision: hash,
  };
  return {
    ...counts,
    conditions: [
      available >= desired - maxUnavailable
        ? condition('Available', 'True', 'MinimumReplicasAvailable', `${available} of ${desired} available`)
        : condition('Available', 'False', 'MinimumReplicasUnavailable', `${available} of ${desired} available`),
      progressingCondition(set, counts, complete, condition, nowMs, `${current.length} of ${desired} updated, ${currentAvailable} available`),
    ],
  };
}

// Progressing: True while the rollout moves (lastUpdateTime marks the last move), False once it has not moved
// for progressDeadlineSeconds, True again as soon as it moves or completes (Kubernetes' rules).
function progressingCondition(
  set: ContainerSetObject,
  counts: Omit<ContainerSetStatus, 'conditions'>,
  complete: boolean,
  condition: (type: string, status: Condition['status'], reason: string, message: string) => Condition,
  nowMs: number,
  progressMessage: string,
): Condition {
  const now = new Date(nowMs).toISOString();
  const before = ((set.status?.conditions ?? []) as Condition[]).find((c) => c.type === 'Progressing');
  if (complete) {
    const c = condition('Progressing', 'True', 'NewContainersAvailable', `revision ${counts.currentRevision} is available`);
    return { ...c, lastUpdateTime: before?.reason === 'NewContainersAvailable' && before.lastUpdateTime ? before.lastUpdateTime : now };
  }
  if (!before || madeProgress(set.status, counts)) {
    return { ...condition('Progressing', 'True', 'ContainersUpdating', progressMessage), lastUpdateTime: now };
  }
  const deadlineSeconds = Number(set.spec?.progressDeadlineSeconds || DEFAULT_PROGRESS_DEADLINE_SECONDS);
  const lastProgress = Date.parse(before.lastUpdateTime ?? before.lastTransitionTime ?? '') || nowMs;
  if (before.reason === PROGRESS_DEADLINE_EXCEEDED || lastProgress + deadlineSeconds * 1000 <= nowMs) {
    const c = condition('Progressing', 'False', PROGRESS_DEADLINE_EXCEEDED, `ContainerSet "${set.metadata.name}" has timed out progressing: ${progressMessage}`);
    return { ...c, lastUpdateTime: before.reason === PROGRESS_DEADLINE_EXCEEDED && before.lastUpdateTime ? before.lastUpdateTime : now };
  }
  // Still within the deadline; a new message alone is not progress.
  return { ...condition('Progressing', 'True', 'ContainersUpdating', progressMessage), lastUpdateTime: new Date(lastProgress).toISOString() };
}

/** Whether a written status already says what `next` says (the proto JSON form omits zeros). */
export function statusEqual(written: ContainerSetObject['status'], next: ContainerSetStatus): boolean {
  const w = written ?? {};
  for (const k of ['replicas', 'readyReplicas', 'updatedReplicas', 'availableReplicas', 'observedGeneration'] as const) {
    if (Number(w[k] ?? 0) !== next[k]) return false;
  }
  if ((w.currentRevision ?? '') !== next.currentRevision) return false;
  const wc = w.conditions ?? [];
  if (wc.length !== next.conditions.length) return false;
  return next.conditions.every((c, i) => {
    const o = wc[i]!;
    return o.type === c.type && o.status === c.status && (o.reason ?? '') === c.reason && (o.message ?? '') === c.message;
  });
}
