// Tables of the times schedules fire: cron syntax, macros, @every, seconds, time zones and both
// daylight-saving transitions (1-hour in Europe and America, 30-minute on Lord Howe Island).
import { describe, expect, it } from 'vitest';
import {
  firesWithinAMinute,
  hasSecondsField,
  MISSED_COUNT_LIMIT,
  mostRecentRun,
  nextRunAfter,
  ScheduleError,
} from './schedule.js';

const ms = (iso: string): number => Date.parse(iso);

/** The first `n` times after `after`, each found by nextRunAfter from the previous one. */
function runsAfter(schedule: string, tz: string, after: string, n: number, anchor = 0): string[] {
  const out: string[] = [];
  for (let t = ms(after); out.length < n; ) {
    t = nextRunAfter(schedule, tz, t, anchor);
    out.push(new Date(t).toISOString().replace('.000Z', 'Z'));
  }
  return out;
}

// [what, schedule, time zone, after (exclusive), the next runs in UTC (local time in comments)]
const NEXT_RUNS: [string, string, string, string, string[]][] = [
  ['a step in minutes', '*/5 * * * *', 'UTC', '2024-01-01T00:02:00Z', ['2024-01-01T00:05:00Z', '2024-01-01T00:10:00Z', '2024-01-01T00:15:00Z']],
  ['strictly after a matching time', '0 0 * * *', 'UTC', '2024-01-01T00:00:00Z', ['2024-01-02T00:00:00Z']],
  ['a range of hours', '0 9-11 * * *', 'UTC', '2024-01-01T10:30:00Z', ['2024-01-01T11:00:00Z', '2024-01-02T09:00:00Z', '2024-01-02T10:00:00Z']],
  ['a list of days of the month', '0 0 1,15 * *', 'UTC', '2024-01-10T00:00:00Z', ['2024-01-15T00:00:00Z', '2024-02-01T00:00:00Z', '2024-02-15T00:00:00Z']],
  ['a stepped range', '10-30/10 * * * *', 'UTC', '2024-01-01T00:00:00Z', ['2024-01-01T00:10:00Z', '2024-01-01T00:20:00Z', '2024-01-01T00:30:00Z', '2024-01-01T01:10:00Z']],
  // 2024-03-08 is a Friday.
  ['weekdays only', '0 9 * * 1-5', 'UTC', '2024-03-08T10:00:00Z', ['2024-03-11T09:00:00Z', '2024-03-12T09:00:00Z']],
  // Both fields restricted: either matches (Fridays, and the 13th which is a Sunday in Oct 2024).
  ['day of month OR day of week', '0 0 13 * 5', 'UTC', '2024-10-01T00:00:00Z', ['2024-10-04T00:00:00Z', '2024-10-11T00:00:00Z', '2024-10-13T00:00:00Z', '2024-10-18T00:00:00Z']],
  ['day of week alone when day of month is *', '0 0 * * 0', 'UTC', '2024-10-01T00:00:00Z', ['2024-10-06T00:00:00Z', '2024-10-13T00:00:00Z']],
  ['7 as Sunday', '0 0 * * 7', 'UTC', '2024-09-01T00:00:00Z', ['2024-09-08T00:00:00Z']],
  ['names of months and days', '30 8 * JAN,JUL SUN', 'UTC', '2024-01-20T00:00:00Z', ['2024-01-21T08:30:00Z', '2024-01-28T08:30:00Z', '2024-07-07T08:30:00Z']],
  ['the 31st skips shorter months', '0 0 31 * *', 'UTC', '2024-04-01T00:00:00Z', ['2024-05-31T00:00:00Z', '2024-07-31T00:00:00Z', '2024-08-31T00:00:00Z']],
  ['Feb 29 in a leap year', '0 12 29 2 *', 'UTC', '2024-02-01T00:00:00Z', ['2024-02-29T12:00:00Z']],
  ['Feb 29 waits four years', '0 0 29 2 *', 'UTC', '2024-03-01T00:00:00Z', ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z']],
  ['Feb 29 skips 2100 (no leap year)', '0 0 29 2 *', 'UTC', '2097-01-01T00:00:00Z', ['2104-02-29T00:00:00Z']],
  ['the last day of the month (L)', '0 0 L * *', 'UTC', '2024-02-01T00:00:00Z', ['2024-02-29T00:00:00Z', '2024-03-31T00:00:00Z', '2024-04-30T00:00:00Z']],
  ['the first Monday (1#1)', '0 0 * * 1#1', 'UTC', '2024-01-01T00:00:00Z', ['2024-02-05T00:00:00Z', '2024-03-04T00:00:00Z']],
  ['a seconds field', '*/20 * * * * *', 'UTC', '2024-01-01T00:00:00.500Z', ['2024-01-01T00:00:20Z', '2024-01-01T00:00:40Z', '2024-01-01T00:01:00Z']],
  ['a fixed second each hour', '15 30 * * * *', 'UTC', '2024-01-01T00:30:15Z', ['2024-01-01T01:30:15Z']],
  ['@hourly', '@hourly', 'UTC', '2024-01-01T00:59:59.999Z', ['2024-01-01T01:00:00Z', '2024-01-01T02:00:00Z']],
  ['@daily in New York', '@daily', 'America/New_York', '2024-01-01T00:00:00Z', ['2024-01-01T05:00:00Z', '2024-01-02T05:00:00Z']],
  ['@midnight', '@midnight', 'UTC', '2024-01-01T12:00:00Z', ['2024-01-02T00:00:00Z']],
  // 2024-01-03 is a Wednesday.
  ['@weekly on Sundays', '@weekly', 'UTC', '2024-01-03T00:00:00Z', ['2024-01-07T00:00:00Z', '2024-01-14T00:00:00Z']],
  ['@monthly', '@monthly', 'UTC', '2024-01-31T12:00:00Z', ['2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z']],
  ['@yearly', '@yearly', 'UTC', '2024-06-01T00:00:00Z', ['2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z']],
  ['@annually', '@annually', 'UTC', '2024-06-01T00:00:00Z', ['2025-01-01T00:00:00Z']],
  // 09:00 IST = 03:30 UTC all year (no DST, a half-hour offset).
  ['Asia/Kolkata weekdays at 09:00', '0 9 * * 1-5', 'Asia/Kolkata', '2024-03-08T00:00:00Z', ['2024-03-08T03:30:00Z', '2024-03-11T03:30:00Z']],
  ['Europe/Berlin in winter (CET)', '0 8 * * *', 'Europe/Berlin', '2024-01-10T12:00:00Z', ['2024-01-11T07:00:00Z']],
  ['Europe/Berlin in summer (CEST)', '0 8 * * *', 'Europe/Berlin', '2024-07-10T12:00:00Z', ['2024-07-11T06:00:00Z']],
  // Spring forward 2024-03-31 02:00 CET → 03:00 CEST: 02:30 does not exist, runs once at 03:30 CEST.
  ['Berlin spring-forward: a skipped 02:30 runs once, an hour later', '30 2 * * *', 'Europe/Berlin', '2024-03-30T12:00:00Z', ['2024-03-31T01:30:00Z', '2024-04-01T00:30:00Z']],
  // Fall back 2024-10-27 03:00 CEST → 02:00 CET: 02:30 happens twice, runs at the first (CEST).
  ['Berlin fall-back: a repeated 02:30 runs once', '30 2 * * *', 'Europe/Berlin', '2024-10-26T12:00:00Z', ['2024-10-27T00:30:00Z', '2024-10-28T01:30:00Z']],
  // 02:00 CEST, 02:00 CET, 03:00 CET: an hourly job keeps running every real hour.
  ['Berlin fall-back: hourly runs in both 02:00 hours', '0 * * * *', 'Europe/Berlin', '2024-10-26T23:30:00Z', ['2024-10-27T00:00:00Z', '2024-10-27T01:00:00Z', '2024-10-27T02:00:00Z']],
  // Spring forward 2024-03-10 02:00 EST → 03:00 EDT.
  ['New York spring-forward: a skipped 02:30 runs once at 03:30 EDT', '30 2 * * *', 'America/New_York', '2024-03-09T12:00:00Z', ['2024-03-10T07:30:00Z', '2024-03-11T06:30:00Z']],
  ['New York spring-forward: the skipped time still runs when asked just after the change', '30 2 * * *', 'America/New_York', '2024-03-10T07:10:00Z', ['2024-03-10T07:30:00Z']],
  ['New York spring-forward: hourly has no 02:00', '0 * * * *', 'America/New_York', '2024-03-10T05:30:00Z', ['2024-03-10T06:00:00Z', '2024-03-10T07:00:00Z']],
  ['New York spring-forward: gap times that land on real times run once', '15,45 2,3 * * *', 'America/New_York', '2024-03-10T06:00:00Z', ['2024-03-10T07:15:00Z', '2024-03-10T07:45:00Z', '2024-03-11T06:15:00Z']],
  ['New York spring-forward with a seconds field', '0 30 2 * * *', 'America/New_York', '2024-03-09T12:00:00Z', ['2024-03-10T07:30:00Z']],
  // Fall back 2024-11-03 02:00 EDT → 01:00 EST.
  ['New York fall-back: a repeated 01:30 runs once (EDT)', '30 1 * * *', 'America/New_York', '2024-11-02T12:00:00Z', ['2024-11-03T05:30:00Z', '2024-11-04T06:30:00Z']],
  ['New York fall-back: not again in the second 01:xx hour', '30 1 * * *', 'America/New_York', '2024-11-03T06:10:00Z', ['2024-11-04T06:30:00Z']],
  ['New York fall-back: */30 runs in both 01:xx hours', '*/30 * * * *', 'America/New_York', '2024-11-03T05:15:00Z', ['2024-11-03T05:30:00Z', '2024-11-03T06:00:00Z', '2024-11-03T06:30:00Z', '2024-11-03T07:00:00Z']],
  // Lord Howe: +10:30 ↔ +11. Spring forward 2024-10-06 02:00 → 02:30 (30 min gap).
  ['Lord Howe spring-forward: a skipped 02:15 runs once at 02:45', '15 2 * * *', 'Australia/Lord_Howe', '2024-10-05T12:00:00Z', ['2024-10-05T15:45:00Z', '2024-10-06T15:15:00Z']],
  ['Lord Howe spring-forward: */20 has no 02:00 or 02:20', '*/20 * * * *', 'Australia/Lord_Howe', '2024-10-05T15:00:00Z', ['2024-10-05T15:10:00Z', '2024-10-05T15:40:00Z', '2024-10-05T16:00:00Z']],
  // Fall back 2024-04-07 02:00 → 01:30: 01:30–02:00 happens twice.
  ['Lord Howe fall-back: a repeated 01:45 runs once', '45 1 * * *', 'Australia/Lord_Howe', '2024-04-06T10:00:00Z', ['2024-04-06T14:45:00Z', '2024-04-07T15:15:00Z']],
  ['Lord Howe fall-back: 01:15 (not repeated) runs once', '15 1 * * *', 'Australia/Lord_Howe', '2024-04-06T10:00:00Z', ['2024-04-06T14:15:00Z', '2024-04-07T14:45:00Z']],
  ['Lord Howe fall-back: */20 repeats 01:40', '*/20 * * * *', 'Australia/Lord_Howe', '2024-04-06T14:10:00Z', ['2024-04-06T14:20:00Z', '2024-04-06T14:40:00Z', '2024-04-06T15:10:00Z', '2024-04-06T15:30:00Z']],
];

describe('nextRunAfter', () => {
  it.each(NEXT_RUNS)('%s: %s in %s after %s', (_what, schedule, tz, after, expected) => {
    expect(runsAfter(schedule, tz, after, expected.length)).toEqual(expected);
  });

  it('anchors @every at the creation time cut to whole seconds', () => {
    expect(runsAfter('@every 10s', 'UTC', '2024-01-01T00:00:05Z', 3, ms('2024-01-01T00:00:03.700Z'))).toEqual([
      '2024-01-01T00:00:13Z',
      '2024-01-01T00:00:23Z',
      '2024-01-01T00:00:33Z',
    ]);
  });

  it('fires @every first one period after the anchor, never at the anchor itself', () => {
    const anchor = ms('2024-01-01T00:00:00Z');
    expect(nextRunAfter('@every 1h30m', 'UTC', anchor - 3_600_000, anchor)).toBe(ms('2024-01-01T01:30:00Z'));
    expect(nextRunAfter('@every 1h30m', 'UTC', anchor, anchor)).toBe(ms('2024-01-01T01:30:00Z'));
    expect(nextRunAfter('@every 1h30m', 'UTC', ms('2024-01-01T02:59:59Z'), anchor)).toBe(ms('2024-01-01T03:00:00Z'));
  });

  it('ignores the time zone for @every (a fixed period of real time)', () => {
    const anchor = ms('2024-03-10T06:30:00Z');
    expect(nextRunAfter('@every 1h', 'America/New_York', anchor, anchor)).toBe(ms('2024-03-10T07:30:00Z'));
  });

  it('throws ScheduleError for a schedule that does not parse', () => {
    expect(() => nextRunAfter('0 25 * * *', 'UTC', 0, 0)).toThrow(ScheduleError);
    expect(() => nextRunAfter('@sometimes', 'UTC', 0, 0)).toThrow(/unknown macro/);
  });

  it('throws ScheduleError naming an unknown time zone', () => {
    expect(() => nextRunAfter('0 0 * * *', 'Mars/Olympus', 0, 0)).toThrow(/unknown time zone "Mars\/Olympus"/);
  });
});

describe('mostRecentRun', () => {
  it('finds nothing when no time falls in the window', () => {
    expect(mostRecentRun('0 * * * *', 'UTC', ms('2024-01-01T00:00:00Z'), ms('2024-01-01T00:59:59Z'), 0)).toEqual({
      latestMs: undefined,
      missed: 0,
    });
  });

  it('counts the window as (since, now]: since excluded, now included', () => {
    expect(mostRecentRun('0 * * * *', 'UTC', ms('2024-01-01T00:00:00Z'), ms('2024-01-01T03:00:00Z'), 0)).toEqual({
      latestMs: ms('2024-01-01T03:00:00Z'),
      missed: 3,
    });
  });

  it('stops counting at the limit yet still finds the latest time', () => {
    const r = mostRecentRun('* * * * * *', 'UTC', ms('2024-01-01T00:00:00Z'), ms('2024-01-02T00:00:00.500Z'), 0);
    expect(r).toEqual({ latestMs: ms('2024-01-02T00:00:00Z'), missed: MISSED_COUNT_LIMIT });
  });

  it('finds the latest time past the limit for an irregular schedule', () => {
    // Every second of the 00:00 minute only: 60 a day, 600 over 10 days, well over the limit in 20.
    const r = mostRecentRun('* 0 0 * * *', 'UTC', ms('2024-01-01T00:00:00Z'), ms('2024-01-21T12:00:00Z'), 0);
    expect(r).toEqual({ latestMs: ms('2024-01-21T00:00:59Z'), missed: MISSED_COUNT_LIMIT });
  });

  it('counts @every times from its anchor', () => {
    expect(mostRecentRun('@every 7s', 'UTC', 0, 100_000, 0)).toEqual({ latestMs: 98_000, missed: 14 });
  });

  it('counts a skipped 02:30 once on the spring-forward day', () => {
    const r = mostRecentRun('30 2 * * *', 'America/New_York', ms('2024-03-09T12:00:00Z'), ms('2024-03-12T12:00:00Z'), 0);
    expect(r).toEqual({ latestMs: ms('2024-03-12T06:30:00Z'), missed: 3 });
  });

  it('counts both repeated hours on the fall-back day for an hourly schedule', () => {
    const r = mostRecentRun('@hourly', 'Europe/Berlin', ms('2024-10-26T23:30:00Z'), ms('2024-10-27T02:30:00Z'), 0);
    expect(r).toEqual({ latestMs: ms('2024-10-27T02:00:00Z'), missed: 3 });
  });
});

describe('hasSecondsField and firesWithinAMinute', () => {
  it.each([
    ['*/10 * * * * *', true, true],
    ['0 * * * * *', true, true],
    ['*/5 * * * *', false, false],
    ['@hourly', false, false],
    ['@every 30s', false, true],
    ['@every 1m', false, false],
    ['@every 90s', false, false],
  ])('%s: seconds field %s, two runs in a minute %s', (schedule, seconds, withinMinute) => {
    expect(hasSecondsField(schedule)).toBe(seconds);
    expect(firesWithinAMinute(schedule)).toBe(withinMinute);
  });
});
