// Quantity parsing tables: what the scheduler will compare against node capacity.
import { describe, expect, it } from 'vitest';
import { InvalidQuantityError, parseCpuMillis, parseMemoryBytes } from './quantity.js';

describe('parseCpuMillis', () => {
  it.each([
    ['500m', 500],
    ['0.5', 500],
    ['2', 2000],
    ['1', 1000],
    ['0.1', 100],
    ['.25', 250],
    ['1.5', 1500],
    ['100m', 100],
    ['0', 0],
    ['0.0001', 1],
    ['2.5m', 3],
  ])('parses %s as %d millicores', (q, millis) => {
    expect(parseCpuMillis(q)).toBe(millis);
  });

  it.each(['abc', '-1', '10XB', '1Gi', '', 'm', '1.', '1 m', '2 ', '1e3', '+1'])('rejects %j', (q) => {
    expect(() => parseCpuMillis(q)).toThrow(InvalidQuantityError);
  });
});

describe('parseMemoryBytes', () => {
  it.each([
    ['256Mi', 256 * 1024 * 1024],
    ['1G', 1_000_000_000],
    ['1024', 1024],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1k', 1000],
    ['1Ki', 1024],
    ['0.5Ki', 512],
    ['2Ti', 2 * 2 ** 40],
    ['1M', 1_000_000],
    ['0', 0],
    ['0.1', 1],
  ])('parses %s as %d bytes', (q, bytes) => {
    expect(parseMemoryBytes(q)).toBe(bytes);
  });

  it.each(['abc', '-1', '10XB', '', 'Mi', '1.2.3', '1 Mi', '1KB', '1Zi'])('rejects %j', (q) => {
    expect(() => parseMemoryBytes(q)).toThrow(InvalidQuantityError);
  });

  it('explains that a Docker-style "256m" is not megabytes', () => {
    expect(() => parseMemoryBytes('256m')).toThrow(/use Ki, Mi, Gi/);
  });

  it('rejects a quantity too large to count exactly', () => {
    expect(() => parseMemoryBytes('100000Ei')).toThrow(/too large/);
  });
});
