// Table tests of planCronJob: due times, missed times after downtime, starting deadline, crash-restart,
// suspend, the three concurrency policies, retries with back-off, active deadline, history and status.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { runLabels, runName } from '../../lib/cron/run-name.js';
import { MAX_REQUEUE_MS, planCronJob, retryDelayMs, type CronPlan } from './plan.js';

const ms = (iso: string): number => Date.parse(iso);
const at = (hms: string): string => `2024-05-01T${hms}Z`;
const NOW = ms(at('12:00:30'));

interface CronJobOpts {
  schedule?: string;
  timeZone?: string;
  created?: string;
  concurrencyPolicy?: string;
  startingDeadlineSeconds?: number;
  suspend?: boolean;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  /** Names of the runs listed in status.active. */
  active?: string[];
}

function cronJob(o: CronJobOpts = {}): Resource {
  const { schedule, timeZone, created, lastScheduleTime, lastSuccessfulTime, active, ...spec } = o;
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'CronJob',
    metadata: { name: 'backup', namespace: 'ops', uid: 'cj-uid', creationTimestamp: created ?? at('00:00:00') },
    spec: { schedule: schedule ?? '*/5 * * * *', timeZone: timeZone ?? 'UTC', ...spec, jobTemplate: { spec: { image: 'busybox' } } },
    status: {
      ...(lastScheduleTime && { lastScheduleTime }),
      ...(lastSuccessfulTime && { lastSuccessfulTime }),
      active: (active ?? []).map((name) => ({ kind: 'Container', name, namespace: 'ops', uid: `uid-${name}` })),
    },
  };
}

interface RunOpts {
  attempt?: number;
  phase?: string;
  created?: string;
  finished?: string;
  deleting?: boolean;
  seconds?: boolean;
}

/** An attempt of the run scheduled at `scheduled` (an ISO time). */
function run(scheduled: string, o: RunOpts = {}): Resource {
  const t = ms(scheduled);
  const attempt = o.attempt ?? 0;
  const name = runName('backup', t, o.seconds ?? false, attempt);
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: {
      name,
      namespace: 'ops',
      uid: `uid-${name}`,
      labels: runLabels('backup', t, attempt),
      creationTimestamp: o.created ?? scheduled,
      ...(o.deleting && { deletionTimestamp: at('12:00:29') }),
    },
    spec: { image: 'busybox' },
    status: { phase: o.phase ?? 'Running', ...(o.finished && { finishedAt: o.finished }) },
  };
}

const nameOf = (scheduled: string, attempt = 0, seconds = false): string => runName('backup', ms(scheduled), seconds, attempt);

interface Want {
  create?: string[];
  createAttempts?: number[];
  delete?: [string, string][];
  events?: string[];
  active?: string[];
  lastScheduleTime?: string | undefined;
  lastSuccessfulTime?: string | undefined;
  nextScheduleTime?: string | undefined;
  requeueAfterMs?: number;
  message?: RegExp;
}

interface Case {
  what: string;
  cronJob: CronJobOpts;
  runs?: Resource[];
  now?: number;
  want: Want;
}

const CASES: Case[] = [
  {
    what: 'creates the run for a due time, named by its scheduled minute',
    cronJob: { lastScheduleTime: at('11:55:00') },
    want: {
      create: [nameOf(at('12:00:00'))],
      createAttempts: [0],
      events: ['SuccessfulCreate'],
      active: [nameOf(at('12:00:00'))],
      lastScheduleTime: at('12:00:00.000'),
      nextScheduleTime: at('12:05:00.000'),
      requeueAfterMs: 270_000,
    },
  },
  {
    what: 'creates nothing before the next time is due',
    cronJob: { lastScheduleTime: at('12:00:00'), active: [nameOf(at('12:00:00'))] },
    runs: [run(at('12:00:00'))],
    want: { create: [], delete: [], events: [], active: [nameOf(at('12:00:00'))], requeueAfterMs: 270_000 },
  },
  {
    what: 'scans from the creation time when nothing was scheduled yet',
    cronJob: { created: at('11:58:00') },
    want: { create: [nameOf(at('12:00:00'))] },
  },
  {
    what: 'does not run a time from before the CronJob existed',
    cronJob: { created: at('12:00:10') },
    want: { create: [], events: [], lastScheduleTime: undefined, nextScheduleTime: at('12:05:00.000') },
  },
  {
    what: 'after downtime starts only the most recent missed time and warns how many were skipped',
    cronJob: { lastScheduleTime: at('10:00:00') },
    want: {
      create: [nameOf(at('12:00:00'))],
      events: ['MissedSchedule', 'SuccessfulCreate'],
      message: /Missed 24 scheduled times since 2024-05-01T10:00:00.000Z; starting only the latest/,
    },
  },
  {
    what: 'warns TooManyMissedTimes after a long downtime',
    cronJob: { lastScheduleTime: '2024-04-30T00:00:00Z' },
    want: { create: [nameOf(at('12:00:00'))], events: ['TooManyMissedTimes', 'SuccessfulCreate'], message: /Missed 432 scheduled times/ },
  },
  {
    what: 'skips a time older than startingDeadlineSeconds and keeps lastScheduleTime',
    cronJob: { lastScheduleTime: at('11:55:00'), startingDeadlineSeconds: 20 },
    want: {
      create: [],
      events: ['MissedSchedule'],
      lastScheduleTime: at('11:55:00.000'),
      message: /the latest, 2024-05-01T12:00:00.000Z, is more than startingDeadlineSeconds=20 ago/,
    },
  },
  {
    what: 'starts a time within startingDeadlineSeconds',
    cronJob: { lastScheduleTime: at('11:55:00'), startingDeadlineSeconds: 60 },
    want: { create: [nameOf(at('12:00:00'))], events: ['SuccessfulCreate'] },
  },
  {
    what: 'crash-restart: lastScheduleTime is behind but the run for the latest time exists, so nothing is created',
    cronJob: { lastScheduleTime: at('11:55:00') },
    runs: [run(at('12:00:00'))],
    want: { create: [], events: [], active: [nameOf(at('12:00:00'))], lastScheduleTime: at('12:00:00.000') },
  },
  {
    what: 'crash-restart: a retry attempt for the latest time also counts as its run',
    cronJob: { lastScheduleTime: at('11:55:00') },
    runs: [run(at('12:00:00'), { phase: 'Failed', finished: at('12:00:05') }), run(at('12:00:00'), { attempt: 1, created: at('12:00:20') })],
    want: { create: [], active: [nameOf(at('12:00:00'), 1)] },
  },
  {
    what: 'suspend starts nothing new but still reports status',
    cronJob: { lastScheduleTime: at('11:55:00'), suspend: true, active: [nameOf(at('11:55:00'))] },
    runs: [run(at('11:55:00'))],
    want: {
      create: [],
      events: [],
      active: [nameOf(at('11:55:00'))],
      lastScheduleTime: at('11:55:00.000'),
      nextScheduleTime: undefined,
      requeueAfterMs: MAX_REQUEUE_MS,
    },
  },
  {
    what: 'suspend still enforces activeDeadlineSeconds on a running run',
    cronJob: { lastScheduleTime: at('11:55:00'), suspend: true, activeDeadlineSeconds: 60 },
    runs: [run(at('11:55:00'))],
    want: { create: [], delete: [[nameOf(at('11:55:00')), 'Deadline']], events: ['DeadlineExceeded'], active: [] },
  },
  {
    what: 'Allow starts the due run beside an active one',
    cronJob: { lastScheduleTime: at('11:55:00'), concurrencyPolicy: 'Allow' },
    runs: [run(at('11:55:00'))],
    want: { create: [nameOf(at('12:00:00'))], delete: [], active: [nameOf(at('11:55:00')), nameOf(at('12:00:00'))] },
  },
  {
    what: 'Forbid skips the due time while a run is active, without advancing lastScheduleTime',
    cronJob: { lastScheduleTime: at('11:55:00'), concurrencyPolicy: 'Forbid' },
    runs: [run(at('11:55:00'))],
    want: { create: [], events: ['RunAlreadyActive'], active: [nameOf(at('11:55:00'))], lastScheduleTime: at('11:55:00.000') },
  },
  {
    what: 'Forbid starts the skipped time once the active run has finished',
    cronJob: { lastScheduleTime: at('11:55:00'), concurrencyPolicy: 'Forbid', active: [nameOf(at('11:55:00'))] },
    runs: [run(at('11:55:00'), { phase: 'Succeeded', finished: at('12:00:20') })],
    want: { create: [nameOf(at('12:00:00'))], events: ['SawCompletedRun', 'SuccessfulCreate'], lastSuccessfulTime: at('11:55:00.000') },
  },
  {
    what: 'Forbid counts a run waiting for its retry as active',
    cronJob: { lastScheduleTime: at('11:55:00'), concurrencyPolicy: 'Forbid' },
    runs: [run(at('11:55:00'), { phase: 'Failed', finished: at('12:00:25') })],
    want: { create: [], events: ['RunAlreadyActive', 'RetryScheduled'], active: [nameOf(at('11:55:00'))], requeueAfterMs: 5_000 },
  },
  {
    what: 'Forbid ignores a run that is being deleted',
    cronJob: { lastScheduleTime: at('11:55:00'), concurrencyPolicy: 'Forbid' },
    runs: [run(at('11:55:00'), { deleting: true })],
    want: { create: [nameOf(at('12:00:00'))], delete: [], active: [nameOf(at('12:00:00'))] },
  },
  {
    what: 'Replace deletes the active run and starts the due one',
    cronJob: { lastScheduleTime: at('11:55:00'), concurrencyPolicy: 'Replace' },
    runs: [run(at('11:55:00'))],
    want: {
      create: [nameOf(at('12:00:00'))],
      delete: [[nameOf(at('11:55:00')), 'Replace']],
      events: ['SuccessfulDelete', 'SuccessfulCreate'],
      active: [nameOf(at('12:00:00'))],
    },
  },
  {
    what: 'Replace deletes every attempt of the replaced run and does not retry it',
    cronJob: { lastScheduleTime: at('11:55:00'), concurrencyPolicy: 'Replace' },
    runs: [run(at('11:55:00'), { phase: 'Failed', finished: at('11:56:00') }), run(at('11:55:00'), { attempt: 1, phase: 'Failed', finished: at('11:57:00') })],
    want: {
      create: [nameOf(at('12:00:00'))],
      delete: [
        [nameOf(at('11:55:00')), 'Replace'],
        [nameOf(at('11:55:00'), 1), 'Replace'],
      ],
    },
  },
  {
    what: 'retries a failed run after 10 s, counted from finishedAt',
    cronJob: { lastScheduleTime: at('12:00:00') },
    runs: [run(at('11:55:00'), { phase: 'Failed', finished: at('12:00:15') }), run(at('12:00:00'))],
    want: {
      create: [nameOf(at('11:55:00'), 1)],
      createAttempts: [1],
      events: ['SuccessfulCreate'],
      active: [nameOf(at('11:55:00'), 1), nameOf(at('12:00:00'))],
    },
  },
  {
    what: 'doubles the back-off per attempt (attempt 2 failed: 40 s) and requeues for it',
    cronJob: { lastScheduleTime: at('12:00:00') },
    runs: [run(at('12:00:00'), { attempt: 2, phase: 'Failed', finished: at('12:00:00') })],
    want: { create: [], events: ['RetryScheduled'], requeueAfterMs: 10_000, message: /retrying at 2024-05-01T12:00:40.000Z \(retry 3 of 6\)/ },
  },
  {
    what: 'caps the back-off at 6 minutes',
    cronJob: { lastScheduleTime: at('12:00:00'), backoffLimit: 10 },
    runs: [run(at('12:00:00'), { attempt: 6, phase: 'Failed', finished: at('11:58:00') })],
    want: { create: [], events: ['RetryScheduled'], requeueAfterMs: 210_000 },
  },
  {
    what: 'measures the back-off from creation when the failed attempt has no finishedAt',
    cronJob: { lastScheduleTime: at('12:00:00') },
    runs: [run(at('12:00:00'), { phase: 'Failed', created: at('12:00:05') })],
    want: { create: [nameOf(at('12:00:00'), 1)], createAttempts: [1] },
  },
  {
    what: 'stops retrying at backoffLimit and reports the failure once',
    cronJob: { lastScheduleTime: at('12:00:00'), backoffLimit: 2, active: [nameOf(at('12:00:00'), 2)] },
    runs: [
      run(at('12:00:00'), { phase: 'Failed', finished: at('12:00:01') }),
      run(at('12:00:00'), { attempt: 1, phase: 'Failed', finished: at('12:00:10') }),
      run(at('12:00:00'), { attempt: 2, phase: 'Failed', finished: at('12:00:25') }),
    ],
    want: { create: [], delete: [], events: ['SawCompletedRun', 'BackoffLimitExceeded'], active: [], requeueAfterMs: 270_000 },
  },
  {
    what: 'kills a run past activeDeadlineSeconds, without retry, and requeues for the next deadline',
    cronJob: { lastScheduleTime: at('12:00:00'), activeDeadlineSeconds: 60, active: [nameOf(at('11:55:00'))] },
    runs: [run(at('11:55:00')), run(at('12:00:00'))],
    want: {
      create: [],
      delete: [[nameOf(at('11:55:00')), 'Deadline']],
      events: ['DeadlineExceeded'],
      active: [nameOf(at('12:00:00'))],
      requeueAfterMs: 30_000,
    },
  },
  {
    what: 'counts activeDeadlineSeconds over the whole run: no retry once it has passed',
    cronJob: { lastScheduleTime: at('12:00:00'), activeDeadlineSeconds: 120 },
    runs: [run(at('11:55:00'), { phase: 'Failed', finished: at('12:00:20') }), run(at('12:00:00'), { phase: 'Succeeded', finished: at('12:00:10') })],
    want: { create: [], delete: [], active: [] },
  },
  {
    what: 'keeps successfulJobsHistoryLimit succeeded runs, deleting the oldest whole runs first',
    cronJob: { lastScheduleTime: at('12:00:00') },
    runs: [
      run(at('11:35:00'), { phase: 'Succeeded' }),
      run(at('11:40:00'), { phase: 'Failed', finished: at('11:40:05') }),
      run(at('11:40:00'), { attempt: 1, phase: 'Succeeded' }),
      run(at('11:45:00'), { phase: 'Succeeded' }),
      run(at('11:50:00'), { phase: 'Succeeded' }),
      run(at('12:00:00'), { phase: 'Succeeded' }),
    ],
    want: {
      create: [],
      delete: [
        [nameOf(at('11:35:00')), 'History'],
        [nameOf(at('11:40:00')), 'History'],
        [nameOf(at('11:40:00'), 1), 'History'],
      ],
      events: ['SuccessfulDelete', 'SuccessfulDelete'],
      lastSuccessfulTime: at('12:00:00.000'),
    },
  },
  {
    what: 'keeps failedJobsHistoryLimit failed runs',
    cronJob: { lastScheduleTime: at('12:00:00'), backoffLimit: 0, failedJobsHistoryLimit: 1 },
    runs: [run(at('11:50:00'), { phase: 'Failed' }), run(at('11:55:00'), { phase: 'Failed' }), run(at('12:00:00'), { phase: 'Succeeded' })],
    want: { delete: [[nameOf(at('11:50:00')), 'History']] },
  },
  {
    what: 'keeps lastSuccessfulTime when a history limit of 0 deletes the run',
    cronJob: { lastScheduleTime: at('12:00:00'), successfulJobsHistoryLimit: 0 },
    runs: [run(at('12:00:00'), { phase: 'Succeeded' })],
    want: { delete: [[nameOf(at('12:00:00')), 'History']], lastSuccessfulTime: at('12:00:00.000') },
  },
  {
    what: 'reports the latest succeeded run as lastSuccessfulTime even when a later run failed',
    cronJob: { lastScheduleTime: at('12:00:00'), backoffLimit: 0, lastSuccessfulTime: at('11:00:00') },
    runs: [run(at('11:55:00'), { phase: 'Succeeded' }), run(at('12:00:00'), { phase: 'Failed' })],
    want: { lastSuccessfulTime: at('11:55:00.000'), active: [] },
  },
  {
    what: 'records SawCompletedRun only for a run it listed as active',
    cronJob: { lastScheduleTime: at('12:00:00') },
    runs: [run(at('12:00:00'), { phase: 'Succeeded' })],
    want: { events: [], active: [] },
  },
  {
    what: 'warns about a schedule it cannot parse and creates nothing',
    cronJob: { schedule: '61 * * * *', lastScheduleTime: at('11:55:00') },
    want: { create: [], events: ['InvalidSchedule'], nextScheduleTime: undefined, requeueAfterMs: MAX_REQUEUE_MS },
  },
  {
    what: 'reads the schedule in its time zone',
    cronJob: { schedule: '0 9 * * *', timeZone: 'Asia/Kolkata', created: '2024-04-01T00:00:00Z', lastScheduleTime: '2024-04-30T03:30:00Z' },
    now: ms('2024-05-01T03:30:10Z'),
    want: { create: [runName('backup', ms('2024-05-01T03:30:00Z'), false)], nextScheduleTime: '2024-05-02T03:30:00.000Z' },
  },
  {
    what: 'names runs by epoch seconds for a seconds-field schedule',
    cronJob: { schedule: '*/10 * * * * *', lastScheduleTime: at('12:00:20') },
    want: { create: [nameOf(at('12:00:30'), 0, true)], nextScheduleTime: at('12:00:40.000'), requeueAfterMs: 10_000 },
  },
  {
    what: 'anchors @every at the creation time',
    cronJob: { schedule: '@every 1m', created: at('11:59:10') },
    want: { create: [nameOf(at('12:00:10'))], lastScheduleTime: at('12:00:10.000'), nextScheduleTime: at('12:01:10.000') },
  },
  {
    what: 'requeues no sooner than 100 ms',
    cronJob: { lastScheduleTime: at('12:00:00') },
    now: ms(at('12:04:59.950')),
    want: { create: [], requeueAfterMs: 100 },
  },
  {
    what: 'counts a run started by hand (no scheduled-time label) as active for Forbid',
    cronJob: { lastScheduleTime: at('11:55:00'), concurrencyPolicy: 'Forbid' },
    runs: [
      {
        apiVersion: 'persys.dev/v1',
        kind: 'Container',
        metadata: { name: 'backup-manual-abc', namespace: 'ops', uid: 'm1', labels: { 'persys.dev/cronjob': 'backup' }, creationTimestamp: at('11:59:00') },
        status: { phase: 'Running' },
      },
    ],
    want: { create: [], events: ['RunAlreadyActive'], active: ['backup-manual-abc'] },
  },
];

function check(plan: CronPlan, want: Want): void {
  if (want.create) expect(plan.create.map((c) => c.name)).toEqual(want.create);
  if (want.createAttempts) expect(plan.create.map((c) => c.attempt)).toEqual(want.createAttempts);
  if (want.delete) expect(plan.delete.map((d) => [d.name, d.reason])).toEqual(want.delete);
  if (want.events) expect(plan.events.map((e) => e.reason)).toEqual(want.events);
  if (want.message) expect(plan.events.map((e) => e.message).join('\n')).toMatch(want.message);
  if (want.active) expect(plan.status.active.map((a) => a.name)).toEqual(want.active);
  if ('lastScheduleTime' in want) expect(plan.status.lastScheduleTime).toBe(want.lastScheduleTime);
  if ('lastSuccessfulTime' in want) expect(plan.status.lastSuccessfulTime).toBe(want.lastSuccessfulTime);
  if ('nextScheduleTime' in want) expect(plan.status.nextScheduleTime).toBe(want.nextScheduleTime);
  if (want.requeueAfterMs !== undefined) expect(plan.requeueAfterMs).toBe(want.requeueAfterMs);
}

describe('planCronJob', () => {
  it.each(CASES)('$what', (c) => {
    check(planCronJob({ cronJob: cronJob(c.cronJob), runs: c.runs ?? [], nowMs: c.now ?? NOW }), c.want);
  });

  it('labels a new run with the CronJob, its scheduled time and attempt 0', () => {
    const plan = planCronJob({ cronJob: cronJob({ lastScheduleTime: at('11:55:00') }), runs: [], nowMs: NOW });
    expect(plan.create[0]).toEqual({
      name: nameOf(at('12:00:00')),
      scheduledMs: ms(at('12:00:00')),
      attempt: 0,
      labels: { 'persys.dev/cronjob': 'backup', 'persys.dev/scheduled-time': String(ms(at('12:00:00')) / 1000), 'persys.dev/attempt': '0' },
    });
    expect(plan.status.active[0]).toEqual({ kind: 'Container', name: nameOf(at('12:00:00')), namespace: 'ops', uid: '' });
  });

  it('reaches the same decision when planned again after its own actions (idempotent across restarts)', () => {
    const cj = cronJob({ lastScheduleTime: at('11:55:00') });
    const first = planCronJob({ cronJob: cj, runs: [], nowMs: NOW });
    expect(first.create).toHaveLength(1);
    // The run was created but the status write was lost: planning again from the old status creates nothing.
    const again = planCronJob({ cronJob: cj, runs: [run(at('12:00:00'), { phase: 'Pending' })], nowMs: NOW + 50 });
    expect(again.create).toEqual([]);
    expect(again.status.lastScheduleTime).toBe(first.status.lastScheduleTime);
  });
});

describe('retryDelayMs', () => {
  it.each([
    [0, 10_000],
    [1, 20_000],
    [2, 40_000],
    [5, 320_000],
    [6, 360_000],
    [40, 360_000],
  ])('after attempt %d failed waits %d ms', (attempt, delay) => {
    expect(retryDelayMs(attempt)).toBe(delay);
  });
});
