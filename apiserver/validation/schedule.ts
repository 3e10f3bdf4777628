// CronJob schedules: 5-field cron, an optional leading seconds field, the @-macros and
// `@every <duration>`, checked with cron-parser 5 in the CronJob's time zone.
import { parseDuration } from '../../lib/api/duration.js';
import { CronExpressionParser } from 'cron-parser';

/** Macros accepted in spec.schedule and the cron expression each stands for. */
export const SCHEDULE_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};


/** Parses a Go-style duration such as "10s", "5m" or "1h30m" to milliseconds; undefined if malformed. */
/** Milliseconds in a Go-style duration such as 10s or 1h30m; undefined when malformed. */
export const parseDurationMs = parseDuration;

/** Why `schedule` is not a valid schedule in time zone `tz`, or undefined when it is. */
export function scheduleError(schedule: string, tz = 'UTC'): string | undefined {
  const s = schedule.trim();
  if (s.startsWith('@every')) {
    const d = s.slice('@every'.length).trim();
    const ms = parseDurationMs(d);
    if (ms === undefined) return `invalid duration ${JSON.stringify(d)} in @every: use e.g. 10s, 5m or 1h30m`;
    if (ms < 1000) return `@every duration must be at least 1s, got ${JSON.stringify(d)}`;
    return undefined;
  }
  if (s.startsWith('@')) {
    if (!Object.hasOwn(SCHEDULE_MACROS, s)) {
      return `unknown macro ${JSON.stringify(s)}: use ${Object.keys(SCHEDULE_MACROS).join(', ')} or @every <duration>`;
    }
    return undefined;
  }
  // cron-parser pads short expressions with "*" fields; a schedule must spell out 5 or 6.
  const fields = s.split(/\s+/).filter(Boolean).length;
  if (fields !== 5 && fields !== 6) return `expected 5 fields (or 6 with leading seconds), got ${fields}`;
  try {
    CronExpressionParser.parse(s, { tz });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
