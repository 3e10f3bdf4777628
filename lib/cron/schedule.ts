// CronJob schedules, the one place they are parsed: 5-field cron, an optional leading seconds field,
// the @-macros and `@every <duration>`, and the instants they fire at in an IANA time zone.
//
// Daylight saving follows Vixie cron and cron-parser, which agree on the 1-hour transitions (checked
// against cron-parser 5.10 in America/New_York and Europe/Berlin):
// - a wall-clock time that a spring-forward skips fires once, shifted forward by the gap
//   (02:30 in a 02:00→03:00 gap runs at 03:30 new time), for schedules at a fixed time;
// - a wall-clock time that a fall-back repeats fires once, at its first occurrence, for schedules
//   at a fixed time;
// - a schedule whose minute or hour field starts with `*` (e.g. @hourly, `*/15 * * * *`) follows
//   the clock as it is: nothing in the skipped hour, both occurrences of the repeated hour.
// A schedule is "at a fixed time" unless its minute or hour field starts with `*` (Vixie's rule).
// cron-parser's own tz mode gets the 30-minute transitions of Australia/Lord_Howe wrong (it drops
// a 02:15 run on the spring-forward day and can throw "loop limit exceeded" around the fall-back),
// so it is used here only to match fields against wall-clock times in UTC, and the zone's rules are
// applied on top with the runtime's tz database.
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { parseDuration } from '../api/duration.js';
import { firstOffsetChange, offsetAt } from './time-zone.js';

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

/** How many missed times mostRecentRun counts before it stops counting (Kubernetes warns at 100). */
export const MISSED_COUNT_LIMIT = 1000;

// Longer than any offset change in the tz database (30 min on Lord Howe, 1 h usually, 2 h historically).
const MAX_OFFSET_CHANGE_MS = 3 * 3_600_000;
// A valid schedule fires at least every 4 years + a week (Feb 29 with the 7-year gap around 2100):
// about 20 offset changes; more means the expression cannot fire.
const MAX_SEGMENTS = 64;

/** A schedule that does not parse or never fires. */
export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/** Why `schedule` is not a valid schedule in time zone `tz`, or undefined when it is. */
export function scheduleError(schedule: string, tz = 'UTC'): string | undefined {
  const s = schedule.trim();
  if (s.startsWith('@every')) {
    const d = s.slice('@every'.length).trim();
    const ms = parseDuration(d);
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

type Parsed =
  | { kind: 'every'; periodMs: number }
  | { kind: 'cron'; expr: CronExpression; fixedTime: boolean; seconds: boolean };

// Parsed schedules by text; CronJobs share few distinct schedules, so the cache stays small.
const parsedCache = new Map<string, Parsed>();

function parse(schedule: string): Parsed {
  const cached = parsedCache.get(schedule);
  if (cached) return cached;
  const reason = scheduleError(schedule);
  if (reason) throw new ScheduleError(`invalid schedule ${JSON.stringify(schedule)}: ${reason}`);
  const s = schedule.trim();
  let parsed: Parsed;
  if (s.startsWith('@every')) {
    parsed = { kind: 'every', periodMs: parseDuration(s.slice('@every'.length).trim())! };
  } else {
    const text = SCHEDULE_MACROS[s] ?? s;
    const fields = text.split(/\s+/);
    const seconds = fields.length === 6;
    const [minute, hour] = seconds ? fields.slice(1, 3) : fields.slice(0, 2);
    // Matched against wall-clock times written as UTC; the zone is applied in nextCronAfter.
    const expr = CronExpressionParser.parse(text, { tz: 'UTC', currentDate: 0 });
    parsed = { kind: 'cron', expr, fixedTime: !minute!.startsWith('*') && !hour!.startsWith('*'), seconds };
  }
  if (parsedCache.size >= 1024) parsedCache.clear();
  parsedCache.set(schedule, parsed);
  return parsed;
}

/** Whether the schedule has a leading seconds field (6 fields). */
export function hasSecondsField(schedule: string): boolean {
  const p = parse(schedule);
  return p.kind === 'cron' && p.seconds;
}

/** Whether two runs can fall within one minute: a seconds field, or @every shorter than a minute. */
export function firesWithinAMinute(schedule: string): boolean {
  const p = parse(schedule);
  return p.kind === 'cron' ? p.seconds : p.periodMs < 60_000;
}

/**
 * The first time the schedule fires strictly after `afterMs`, in time zone `tz` (an IANA name).
 * `@every D` fires at anchor + k·D for k ≥ 1, the anchor (the CronJob's creation) cut to whole
 * seconds. Throws ScheduleError for a schedule that does not parse or never fires.
 */
export function nextRunAfter(schedule: string, tz: string, afterMs: number, anchorMs: number): number {
  const p = parse(schedule);
  if (p.kind === 'every') {
    const anchor = Math.floor(anchorMs / 1000) * 1000;
    const k = Math.max(1, Math.floor((afterMs - anchor) / p.periodMs) + 1);
    return anchor + k * p.periodMs;
  }
  const zone = tz || 'UTC';
  try {
    offsetAt(zone, afterMs);
  } catch (e) {
    throw new ScheduleError(`unknown time zone ${JSON.stringify(zone)}`, { cause: e });
  }
  const next = nextCronAfter(p.expr, p.fixedTime, zone, afterMs);
  if (next === undefined) throw new ScheduleError(`schedule ${JSON.stringify(schedule)} never fires after ${new Date(afterMs).toISOString()}`);
  return next;
}

export interface RecentRun {
  /** The latest time in (since, now] the schedule fired; undefined when none. */
  latestMs?: number;
  /** How many times fell in (since, now]; MISSED_COUNT_LIMIT means that many or more. */
  missed: number;
}

/** The most recent time the schedule fired in (sinceMs, nowMs] and how many times it fired there. */
export function mostRecentRun(schedule: string, tz: string, sinceMs: number, nowMs: number, anchorMs: number): RecentRun {
  const next = (t: number): number => nextRunAfter(schedule, tz, t, anchorMs);
  let latest: number | undefined;
  let missed = 0;
  for (let t = sinceMs; missed < MISSED_COUNT_LIMIT; ) {
    const n = next(t);
    if (n > nowMs) return { latestMs: latest, missed };
    latest = t = n;
    missed++;
  }
  // Too many to walk: bisect for the last one. next(t) ≤ now holds exactly for t below it.
  let lo = latest! - 1;
  let hi = nowMs;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (next(mid) <= nowMs) lo = mid;
    else hi = mid;
  }
  return { latestMs: next(lo), missed };
}

/** The first matching wall-clock time strictly after `wallMs` (both as UTC), or undefined if none. */
function wallNext(expr: CronExpression, wallMs: number): number | undefined {
  expr.reset(new Date(wallMs));
  try {
    return expr.next().getTime();
  } catch {
    return undefined;
  }
}

/**
 * Walks the zone's stretches of constant offset from `afterMs`. In each, wall-clock matches map to
 * instants by that offset; at a spring-forward the skipped walls map by the old offset (fixed-time
 * schedules only), at a fall-back the repeated walls are left out (fixed-time schedules only).
 */
function nextCronAfter(expr: CronExpression, fixedTime: boolean, tz: string, afterMs: number): number | undefined {
  let from = afterMs;
  let offset = offsetAt(tz, from);
  // Walls skipped by a spring-forward at the start of this stretch, and the offset they map by.
  let gap: { fromWall: number; toWall: number; offset: number } | undefined;
  // Exclusive lower bound for walls in this stretch: after a fall-back, those already passed.
  let wallFloor = -Infinity;
  const enter = (at: number, before: number, after: number): void => {
    gap = fixedTime && after > before ? { fromWall: at + before, toWall: at + after, offset: before } : undefined;
    wallFloor = fixedTime && after < before ? at + before - 1 : -Infinity;
  };
  const earlier = offsetAt(tz, from - MAX_OFFSET_CHANGE_MS);
  if (earlier !== offset) enter(firstOffsetChange(tz, from - MAX_OFFSET_CHANGE_MS, from, earlier)!, earlier, offset);

  for (let i = 0; i < MAX_SEGMENTS; i++) {
    let best: number | undefined;
    if (gap) {
      const g = wallNext(expr, Math.max(gap.fromWall - 1, from + gap.offset));
      if (g !== undefined && g < gap.toWall) best = g - gap.offset;
    }
    const w = wallNext(expr, Math.max(from + offset, wallFloor));
    if (w === undefined) return best;
    const candidate = w - offset;
    const change = firstOffsetChange(tz, from, candidate, offset);
    if (change === undefined) return best === undefined ? candidate : Math.min(best, candidate);
    if (best !== undefined && best < change) return best;
    const next = offsetAt(tz, change);
    enter(change, offset, next);
    from = change - 1;
    offset = next;
  }
  return undefined;
}
