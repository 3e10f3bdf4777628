// AGE formatting matches kubectl's HumanDuration.
import { describe, expect, it } from 'vitest';
import { age, humanDuration } from './age.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('humanDuration (kubectl AGE)', () => {
  it.each([
    [0, '0s'],
    [-1500, '0s'],
    [-5 * S, '<invalid>'],
    [5 * S, '5s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [2 * M + 5 * S, '2m5s'],
    [3 * M, '3m'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [2 * H, '120m'],
    [4 * H, '4h'],
    [3 * H + 20 * M, '3h20m'],
    [8 * H, '8h'],
    [47 * H, '47h'],
    [4 * D, '4d'],
    [3 * D + 4 * H, '3d4h'],
    [30 * D, '30d'],
    [2 * 365 * D, '2y'],
    [3 * 365 * D + 10 * D, '3y10d'],
    [9 * 365 * D, '9y'],
  ])('%d ms prints as %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });
});

describe('age', () => {
  const now = new Date('2024-05-01T12:00:00Z');
  it('measures from an RFC 3339 timestamp', () => {
    expect(age('2024-05-01T11:57:00Z', now)).toBe('3m');
  });
  it('prints <unknown> for a missing or malformed timestamp', () => {
    expect(age(undefined, now)).toBe('<unknown>');
    expect(age('yesterday', now)).toBe('<unknown>');
  });
});
