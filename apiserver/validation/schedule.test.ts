// Schedule parsing: the forms a CronJob may use and the reasons given for the rest.
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../lib/api/duration.js';
import { scheduleError } from './schedule.js';

describe('parseDuration (Go durations)', () => {
  it.each([
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
  ])('parses %s as %d ms', (d, ms) => {
    expect(parseDuration(d)).toBe(ms);
  });

  it.each(['', '10', '10x', 'h', '1h 30m', '-5m'])('rejects %j', (d) => {
    expect(parseDuration(d)).toBeUndefined();
  });
});

describe('scheduleError', () => {
  it('accepts a 6-field expression with leading seconds', () => {
    expect(scheduleError('*/10 * * * * *')).toBeUndefined();
  });

  it('rejects an @every shorter than a second', () => {
    expect(scheduleError('@every 500ms')).toMatch(/at least 1s/);
  });

  it("passes on cron-parser's reason for a bad field", () => {
    expect(scheduleError('0 25 * * *')).toMatch(/expected range 0-23/);
  });

  it('rejects an impossible day of month', () => {
    expect(scheduleError('0 0 30 2 *')).toBeDefined();
  });
});
