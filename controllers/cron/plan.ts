// The cron controller's decisions as a pure function: from a CronJob, its run Containers and the
// time, which runs to create and delete, the Events to record, the status to write and when to look again.
//
// Semantics follow Kubernetes' CronJob and Job controllers. A run is every attempt for one scheduled
// time (the persys.dev/scheduled-time label); its outcome is its latest attempt's. Runs without that
// label (started by hand) count as active runs and as history, never as a scheduled time.
import type { ContainerObject, CronJobObject } from '../../lib/api/typed.js';
import { ATTEMPT_LABEL, runLabels, runName, SCHEDULED_TIME_LABEL } from '../../lib/cron/run-name.js';
import { firesWithinAMinute, MISSED_COUNT_LIMIT, mostRecentRun, nextRunAfter } from '../../lib/cron/schedule.js';
import { API_VERSION } from '../../lib/api/kinds.js';

export interface CronPlanInput {
  cronJob: CronJobObject;
  /** The CronJob's Containers, every attempt, terminal ones too. */
  runs: ContainerObject[];
  nowMs: number;
}

export interface RunToCreate {
  name: string;
  scheduledMs: number;
  /** 0 for the first attempt, n for the n-th retry. */
  attempt: number;
  labels: Record<string, string>;
}

export type DeleteReason = 'History' | 'Replace' | 'Deadline';

export interface CronEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface RunReference {
  kind: string;
  name: string;
  namespace: string;
  /** '' for a run this plan creates (its uid is not known yet). */
  uid: string;
}

export interface CronJobStatusPlan {
  active: RunReference[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  nextScheduleTime?: string;
}

export interface CronPlan {
  create: RunToCreate[];
  delete: { name: string; reason: DeleteReason }[];
  events: CronEvent[];
  status: CronJobStatusPlan;
  /** When to plan again: at the next schedule, retry or deadline; at least MIN_REQUEUE_MS, at most MAX_REQUEUE_MS. */
  requeueAfterMs: number;
}

/** First retry delay after a failed attempt; doubles per attempt (Kubernetes' Job back-off). */
export const RETRY_BASE_MS = 10_000;
export const RETRY_MAX_MS = 6 * 60_000;
export const MIN_REQUEUE_MS = 100;
// Also the requeue when nothing is pending; keeps timers far below setTimeout's 2^31 ms limit.
export const MAX_REQUEUE_MS = 24 * 3_600_000;
// Kubernetes' threshold for "too many missed start times".
const MANY_MISSED = 100;

/** The delay before retrying after attempt `attempt` (0-based) failed. */
export function retryDelayMs(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 30));
}

interface Attempt {
  obj: ContainerObject;
  name: string;
  attempt: number;
}

// Terminating: its latest attempt is being deleted, so it is left alone.
type Outcome = 'Active' | 'Succeeded' | 'Failed' | 'Terminating';

interface Run {
  key: string;
  scheduledMs: number;
  /** From a schedule (has the scheduled-time label), not started by hand. */
  scheduled: boolean;
  attempts: Attempt[];
  latest: Attempt;
  outcome: Outcome;
  failure?: 'BackoffLimitExceeded' | 'DeadlineExceeded';
  /** When a failed latest attempt may be retried. */
  retryAtMs?: number;
  /** When the run's activeDeadlineSeconds runs out. */
  deadlineMs?: number;
  /** Killed for its deadline by this plan (its events are already recorded). */
  killedNow?: boolean;
}

interface Spec {
  schedule: string;
  timeZone: string;
  concurrencyPolicy: string;
  startingDeadlineSeconds?: number;
  suspend: boolean;
  successfulJobsHistoryLimit: number;
  failedJobsHistoryLimit: number;
  backoffLimit: number;
  activeDeadlineSeconds?: number;
}

function specOf(cronJob: CronJobObject): Spec {
  const s = cronJob.spec ?? {};
  const num = (v: number | undefined): number | undefined => (v === undefined || v === null ? undefined : Number(v));
  return {
    schedule: s.schedule ?? '',
    timeZone: s.timeZone || 'UTC',
    concurrencyPolicy: s.concurrencyPolicy || 'Allow',
    startingDeadlineSeconds: num(s.startingDeadlineSeconds),
    suspend: Boolean(s.suspend),
    successfulJobsHistoryLimit: num(s.successfulJobsHistoryLimit) ?? 3,
    failedJobsHistoryLimit: num(s.failedJobsHistoryLimit) ?? 1,
    backoffLimit: num(s.backoffLimit) ?? 6,
    activeDeadlineSeconds: num(s.activeDeadlineSeconds),
  };
}

function timeMs(iso: unknown): number | undefined {
  if (typeof iso !== 'string' || iso === '') return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function phaseOf(obj: ContainerObject): string {
  return obj.status?.phase || 'Pending';
}

/** Groups attempts into runs by scheduled time; runs started by hand are runs of their own. */
function groupRuns(runs: ContainerObject[]): Map<string, Run> {
  const groups = new Map<string, { scheduledMs: number; scheduled: boolean; attempts: Attempt[] }>();
  for (const obj of runs) {
    const labels = obj.metadata.labels ?? {};
    const name = obj.metadata.name ?? '';
    const seconds = Number(labels[SCHEDULED_TIME_LABEL]);
    const scheduled = labels[SCHEDULED_TIME_LABEL] !== undefined && Number.isInteger(seconds);
    const key = scheduled ? `t:${seconds}` : `n:${name}`;
    const scheduledMs = scheduled ? seconds * 1000 : (timeMs(obj.metadata.creationTimestamp) ?? 0);
    const attempt = Number.parseInt(labels[ATTEMPT_LABEL] ?? '0', 10);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { scheduledMs, scheduled, attempts: [] }));
    g.attempts.push({ obj, name, attempt: Number.isNaN(attempt) ? 0 : attempt });
  }
  const out = new Map<string, Run>();
  for (const [key, g] of groups) {
    g.attempts.sort((a, b) => a.attempt - b.attempt || a.name.localeCompare(b.name));
    out.set(key, { key, ...g, latest: g.attempts[g.attempts.length - 1]!, outcome: 'Active' });
  }
  return out;
}

/** Decides each run's outcome, killing runs past activeDeadlineSeconds. */
function judgeRun(run: Run, spec: Spec, nowMs: number, plan: CronPlan, deletes: Map<string, DeleteReason>): void {
  const first = run.attempts[0]!;
  const startedMs = timeMs(first.obj.metadata.creationTimestamp) ?? run.scheduledMs;
  // As in a Kubernetes Job, the deadline covers the whole run, retries included.
  if (spec.activeDeadlineSeconds !== undefined) run.deadlineMs = startedMs + spec.activeDeadlineSeconds * 1000;
  const pastDeadline = run.deadlineMs !== undefined && nowMs >= run.deadlineMs;
  const latest = run.latest;
  const phase = phaseOf(latest.obj);

  // Being deleted (replaced, trimmed, killed or by hand): no longer active, retried or history.
  if (latest.obj.metadata.deletionTimestamp) {
    run.outcome = 'Terminating';
    return;
  }
  if (phase === 'Succeeded') {
    run.outcome = 'Succeeded';
    return;
  }
  if (phase === 'Failed') {
    if (!run.scheduled) {
      // Retries are grouped by scheduled time; a run started by hand without one is not retried.
      run.outcome = 'Failed';
    } else if (pastDeadline) {
      run.outcome = 'Failed';
      run.failure = 'DeadlineExceeded';
    } else if (latest.attempt >= spec.backoffLimit) {
      run.outcome = 'Failed';
      run.failure = 'BackoffLimitExceeded';
    } else {
      run.outcome = 'Active';
      const failedAt = timeMs(latest.obj.status?.finishedAt) ?? timeMs(latest.obj.metadata.creationTimestamp) ?? nowMs;
      run.retryAtMs = failedAt + retryDelayMs(latest.attempt);
    }
    return;
  }
  if (pastDeadline) {
    run.outcome = 'Failed';
    run.failure = 'DeadlineExceeded';
    run.killedNow = true;
    for (const a of run.attempts) {
      if (!isTerminal(a.obj) && !a.obj.metadata.deletionTimestamp && !deletes.has(a.name)) deletes.set(a.name, 'Deadline');
    }
    plan.events.push({
      type: 'Warning',
      reason: 'DeadlineExceeded',
      message: `Run ${latest.name} was active longer than activeDeadlineSeconds=${spec.activeDeadlineSeconds}; deleting it, no retry`,
    });
    return;
  }
  run.outcome = 'Active';
}

function isTerminal(obj: ContainerObject): boolean {
  const p = phaseOf(obj);
  return p === 'Succeeded' || p === 'Failed';
}

function refOf(obj: ContainerObject, namespace: string): RunReference {
  return {
    kind: 'Container',
    name: obj.metadata.name ?? '',
    namespace: obj.metadata.namespace ?? namespace,
    uid: obj.metadata.uid ?? '',
  };
}

export function planCronJob(input: CronPlanInput): CronPlan {
  const { cronJob, nowMs } = input;
  const spec = specOf(cronJob);
  const name = cronJob.metadata.name ?? '';
  const namespace = cronJob.metadata.namespace ?? '';
  const plan: CronPlan = { create: [], delete: [], events: [], status: { active: [] }, requeueAfterMs: MAX_REQUEUE_MS };
  const deletes = new Map<string, DeleteReason>();
  const wakeups: number[] = [];

  const runs = groupRuns(input.runs);
  for (const run of runs.values()) judgeRun(run, spec, nowMs, plan, deletes);

  // Runs this CronJob listed as active last time: finishing one is worth an Event, once.
  const wasActive = new Set<string>((cronJob.status?.active ?? []).map((r: { name?: string }) => r.name ?? ''));
  for (const run of runs.values()) {
    if (run.outcome !== 'Succeeded' && run.outcome !== 'Failed') continue;
    if (run.killedNow || !run.attempts.some((a) => wasActive.has(a.name))) continue;
    plan.events.push({
      type: 'Normal',
      reason: 'SawCompletedRun',
      message: `Saw completed run ${run.latest.name}, status: ${run.outcome}`,
    });
    if (run.failure === 'BackoffLimitExceeded') {
      plan.events.push({
        type: 'Warning',
        reason: 'BackoffLimitExceeded',
        message: `Run ${run.latest.name} failed ${run.latest.attempt + 1} times; backoffLimit is ${spec.backoffLimit}`,
      });
    } else if (run.failure === 'DeadlineExceeded') {
      plan.events.push({
        type: 'Warning',
        reason: 'DeadlineExceeded',
        message: `Run ${run.latest.name} passed activeDeadlineSeconds=${spec.activeDeadlineSeconds}; no retry`,
      });
    }
  }

  const created = scheduleRun(input, spec, runs, plan, deletes, wakeups);

  // Retries and deadlines of the runs still active (a replaced run is gone).
  for (const run of runs.values()) {
    if (run.outcome !== 'Active') continue;
    if (run.deadlineMs !== undefined) wakeups.push(run.deadlineMs);
    if (run.retryAtMs === undefined) continue;
    if (run.retryAtMs > nowMs) {
      wakeups.push(run.retryAtMs);
      plan.events.push({
        type: 'Normal',
        reason: 'RetryScheduled',
        message: `Run ${run.latest.name} failed; retrying at ${iso(run.retryAtMs)} (retry ${run.latest.attempt + 1} of ${spec.backoffLimit})`,
      });
      continue;
    }
    const attempt = run.latest.attempt + 1;
    const retry: RunToCreate = {
      name: runName(name, run.scheduledMs, runNameInSeconds(spec.schedule), attempt),
      scheduledMs: run.scheduledMs,
      attempt,
      labels: runLabels(name, run.scheduledMs, attempt),
    };
    plan.create.push(retry);
    plan.events.push({
      type: 'Normal',
      reason: 'SuccessfulCreate',
      message: `Created run ${retry.name} (retry ${attempt} of ${spec.backoffLimit})`,
    });
    run.latest = { obj: { apiVersion: API_VERSION, kind: 'Container', metadata: { name: retry.name, namespace } }, name: retry.name, attempt };
  }

  trimHistory(runs, 'Succeeded', spec.successfulJobsHistoryLimit, deletes, plan);
  trimHistory(runs, 'Failed', spec.failedJobsHistoryLimit, deletes, plan);
  for (const [n, reason] of deletes) plan.delete.push({ name: n, reason });

  // Status.
  const active = [...runs.values()].filter((r) => r.outcome === 'Active').sort((a, b) => a.scheduledMs - b.scheduledMs);
  plan.status.active = active.map((r) => refOf(r.latest.obj, namespace));
  if (created) plan.status.active.push({ kind: 'Container', name: created.name, namespace, uid: '' });
  const lastSchedule = maxOf(
    timeMs(cronJob.status?.lastScheduleTime),
    created?.scheduledMs,
    ...[...runs.values()].filter((r) => r.scheduled && r.scheduledMs <= nowMs).map((r) => r.scheduledMs),
  );
  if (lastSchedule !== undefined) plan.status.lastScheduleTime = iso(lastSchedule);
  const lastSuccess = maxOf(
    timeMs(cronJob.status?.lastSuccessfulTime),
    ...[...runs.values()].filter((r) => phaseOf(r.latest.obj) === 'Succeeded').map((r) => r.scheduledMs),
  );
  if (lastSuccess !== undefined) plan.status.lastSuccessfulTime = iso(lastSuccess);

  const wake = wakeups.filter((t) => t > nowMs);
  if (wake.length > 0) plan.requeueAfterMs = Math.min(MAX_REQUEUE_MS, Math.max(MIN_REQUEUE_MS, Math.min(...wake) - nowMs));
  return plan;
}

function maxOf(...values: (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length > 0 ? Math.max(...defined) : undefined;
}

function runNameInSeconds(schedule: string): boolean {
  try {
    return firesWithinAMinute(schedule);
  } catch {
    return true;
  }
}

/**
 * Starts the most recent due scheduled time, if any and if allowed, and sets nextScheduleTime.
 * Returns the run it creates.
 */
function scheduleRun(
  input: CronPlanInput,
  spec: Spec,
  runs: Map<string, Run>,
  plan: CronPlan,
  deletes: Map<string, DeleteReason>,
  wakeups: number[],
): RunToCreate | undefined {
  const { cronJob, nowMs } = input;
  if (spec.suspend) return undefined;
  const name = cronJob.metadata.name ?? '';
  const anchorMs = timeMs(cronJob.metadata.creationTimestamp) ?? 0;
  // A run already made for a time the status does not yet record (a crash before the status write)
  // moves the scan past that time.
  const sinceMs = maxOf(
    timeMs(cronJob.status?.lastScheduleTime) ?? timeMs(cronJob.metadata.creationTimestamp) ?? nowMs,
    ...[...runs.values()].filter((r) => r.scheduled && r.scheduledMs <= nowMs).map((r) => r.scheduledMs),
  )!;

  let due: { latestMs?: number; missed: number };
  try {
    const next = nextRunAfter(spec.schedule, spec.timeZone, nowMs, anchorMs);
    plan.status.nextScheduleTime = iso(next);
    wakeups.push(next);
    due = mostRecentRun(spec.schedule, spec.timeZone, sinceMs, nowMs, anchorMs);
  } catch (e) {
    plan.events.push({ type: 'Warning', reason: 'InvalidSchedule', message: (e as Error).message });
    return undefined;
  }
  const scheduledMs = due.latestMs;
  if (scheduledMs === undefined) return undefined;
  if (runs.has(`t:${Math.floor(scheduledMs / 1000)}`)) return undefined;

  const missedText = due.missed >= MISSED_COUNT_LIMIT ? `${MISSED_COUNT_LIMIT} or more` : String(due.missed);
  const deadline = spec.startingDeadlineSeconds;
  if (deadline !== undefined && nowMs - scheduledMs > deadline * 1000) {
    plan.events.push({
      type: 'Warning',
      reason: due.missed >= MANY_MISSED ? 'TooManyMissedTimes' : 'MissedSchedule',
      message: `Missed ${missedText} scheduled times since ${iso(sinceMs)}; the latest, ${iso(scheduledMs)}, is more than startingDeadlineSeconds=${deadline} ago, not starting it`,
    });
    return undefined;
  }

  const active = [...runs.values()].filter((r) => r.outcome === 'Active');
  if (spec.concurrencyPolicy === 'Forbid' && active.length > 0) {
    // Kubernetes leaves lastScheduleTime alone here: once the active run ends, the latest missed
    // time still within startingDeadlineSeconds starts.
    plan.events.push({
      type: 'Normal',
      reason: 'RunAlreadyActive',
      message: `Not starting the run scheduled at ${iso(scheduledMs)}: run ${active[0]!.latest.name} is still active and concurrencyPolicy is Forbid`,
    });
    return undefined;
  }
  if (spec.concurrencyPolicy === 'Replace') {
    for (const run of active) {
      for (const a of run.attempts) {
        if (!a.obj.metadata.deletionTimestamp && !deletes.has(a.name)) deletes.set(a.name, 'Replace');
      }
      run.outcome = 'Terminating';
      plan.events.push({
        type: 'Normal',
        reason: 'SuccessfulDelete',
        message: `Deleted run ${run.latest.name}: replaced by the run scheduled at ${iso(scheduledMs)} (concurrencyPolicy Replace)`,
      });
    }
  }

  if (due.missed > 1) {
    plan.events.push({
      type: 'Warning',
      reason: due.missed >= MANY_MISSED ? 'TooManyMissedTimes' : 'MissedSchedule',
      message: `Missed ${missedText} scheduled times since ${iso(sinceMs)}; starting only the latest, ${iso(scheduledMs)}`,
    });
  }
  const run: RunToCreate = {
    name: runName(name, scheduledMs, runNameInSeconds(spec.schedule)),
    scheduledMs,
    attempt: 0,
    labels: runLabels(name, scheduledMs, 0),
  };
  plan.create.push(run);
  plan.events.push({ type: 'Normal', reason: 'SuccessfulCreate', message: `Created run ${run.name} scheduled at ${iso(scheduledMs)}` });
  return run;
}

/** Deletes whole runs (every attempt), oldest first, beyond `limit` runs with this outcome. */
function trimHistory(
  runs: Map<string, Run>,
  outcome: 'Succeeded' | 'Failed',
  limit: number,
  deletes: Map<string, DeleteReason>,
  plan: CronPlan,
): void {
  const done = [...runs.values()]
    .filter((r) => r.outcome === outcome)
    .sort((a, b) => a.scheduledMs - b.scheduledMs || a.latest.name.localeCompare(b.latest.name));
  for (const run of done.slice(0, Math.max(0, done.length - limit))) {
    let any = false;
    for (const a of run.attempts) {
      if (a.obj.metadata.deletionTimestamp || deletes.has(a.name)) continue;
      deletes.set(a.name, 'History');
      any = true;
    }
    if (any) {
      plan.events.push({ type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted ${outcome.toLowerCase()} run ${run.latest.name} beyond the history limit of ${limit}` });
    }
  }
}
