// CronJob schedule checks for validation: the parsing itself lives in lib/cron/schedule.ts, shared
// with the cron controller so both read a schedule the same way.
export { SCHEDULE_MACROS, scheduleError } from '../../lib/cron/schedule.js';
