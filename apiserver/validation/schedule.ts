// CronJob schedule checks for validation: the parsing itself lives in lib/cron/schedule.ts, shared
// with the cron controller so both read a schedule the same way.
import { parseDuration } from '../../lib/api/duration.js';

export { SCHEDULE_MACROS, scheduleError } from '../../lib/cron/schedule.js';

/** Milliseconds in a Go-style duration such as 10s or 1h30m; undefined when malformed. */
export const parseDurationMs = parseDuration;
