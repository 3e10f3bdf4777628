// Zone offsets and where they change, read from the runtime's tz database.
import { describe, expect, it } from 'vitest';
import { firstOffsetChange, offsetAt } from './time-zone.js';

const H = 3_600_000;

describe('offsetAt', () => {
  it.each([
    ['UTC', '2024-07-01T00:00:00Z', 0],
    ['Europe/Berlin', '2024-01-15T12:00:00Z', 1 * H],
    ['Europe/Berlin', '2024-07-15T12:00:00Z', 2 * H],
    ['America/New_York', '2024-01-15T12:00:00Z', -5 * H],
    ['Asia/Kolkata', '2024-07-15T12:00:00Z', 5.5 * H],
    ['Australia/Lord_Howe', '2024-01-15T12:00:00Z', 11 * H],
    ['Australia/Lord_Howe', '2024-07-15T12:00:00Z', 10.5 * H],
  ])('%s at %s is %d ms', (tz, at, offset) => {
    expect(offsetAt(tz, Date.parse(at))).toBe(offset);
  });
});

describe('firstOffsetChange', () => {
  it('finds the exact instant of a change several days ahead', () => {
    const from = Date.parse('2024-03-01T00:00:00Z');
    expect(firstOffsetChange('America/New_York', from, Date.parse('2024-04-01T00:00:00Z'), -5 * H)).toBe(
      Date.parse('2024-03-10T07:00:00Z'),
    );
  });

  it('finds the 30-minute fall-back on Lord Howe', () => {
    const from = Date.parse('2024-04-01T00:00:00Z');
    expect(firstOffsetChange('Australia/Lord_Howe', from, Date.parse('2024-05-01T00:00:00Z'), 11 * H)).toBe(
      Date.parse('2024-04-06T15:00:00Z'),
    );
  });

  it('returns undefined when the offset holds', () => {
    const from = Date.parse('2024-01-01T00:00:00Z');
    expect(firstOffsetChange('Asia/Kolkata', from, Date.parse('2025-01-01T00:00:00Z'), 5.5 * H)).toBeUndefined();
    expect(firstOffsetChange('Europe/Berlin', from, Date.parse('2024-03-31T00:59:59Z'), 1 * H)).toBeUndefined();
  });
});
