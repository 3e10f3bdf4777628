// Names and labels of the Containers a CronJob runs. Names are a pure function of the CronJob and
// the scheduled time (as in Kubernetes), so a controller restarted mid-work cannot start a run twice.
import { createHash } from 'node:crypto';

export const CRONJOB_LABEL = 'persys.dev/cronjob';
/** The scheduled time of the run, in seconds since the epoch. */
export const SCHEDULED_TIME_LABEL = 'persys.dev/scheduled-time';
/** 0 for a run's first attempt, n for its n-th retry. */
export const ATTEMPT_LABEL = 'persys.dev/attempt';

/** Docker container names and DNS labels: what a run's name must fit in. */
export const MAX_RUN_NAME_LENGTH = 63;
const HASH_LENGTH = 8;

/**
 * `name` cut to at most `max` characters; when cut, its end is replaced by a hash of the whole
 * name so that two long CronJob names sharing a prefix still get different runs.
 */
export function shortenName(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_LENGTH);
  const head = name.slice(0, Math.max(0, max - HASH_LENGTH - 1)).replace(/[-.]+$/, '');
  return head ? `${head}-${hash}` : hash.slice(0, max);
}

/**
 * The run's Container name: `NAME-<minutes since epoch>`, or seconds since epoch when the schedule
 * can fire twice in a minute, and `-<attempt>` for retries (attempt ≥ 1).
 */
export function runName(cronJobName: string, scheduledMs: number, seconds: boolean, attempt = 0): string {
  const time = Math.floor(scheduledMs / (seconds ? 1000 : 60_000));
  const suffix = attempt >= 1 ? `-${time}-${attempt}` : `-${time}`;
  return shortenName(cronJobName, MAX_RUN_NAME_LENGTH - suffix.length) + suffix;
}

/** The labels every attempt of a run carries. */
export function runLabels(cronJobName: string, scheduledMs: number, attempt: number): Record<string, string> {
  return {
    // Label values are limited to 63 characters like names.
    [CRONJOB_LABEL]: shortenName(cronJobName, 63),
    [SCHEDULED_TIME_LABEL]: String(Math.floor(scheduledMs / 1000)),
    [ATTEMPT_LABEL]: String(attempt),
  };
}

/** Marks a run started by hand (`persys create run --from=cronjob/NAME`) rather than by the schedule. */
export const MANUAL_RUN_ANNOTATION = 'persys.dev/instantiate';
