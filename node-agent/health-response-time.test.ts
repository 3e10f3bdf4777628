// Healthcheck response time from Docker's State.Health.Log: the mean of the latest finished probes.
import { describe, expect, it } from 'vitest';
import { healthResponseTimeMs, type HealthProbeResult } from './health-response-time.js';

/** A probe that started at `startMs` past 12:00:00 and took `ms`, with Docker's nanosecond timestamps. */
const probe = (startMs: number, ms: number): HealthProbeResult => {
  const at = (t: number) => new Date(Date.UTC(2024, 0, 1, 12, 0, 0, t)).toISOString().replace('Z', '123456Z');
  return { Start: at(startMs), End: at(startMs + ms) };
};

describe('healthResponseTimeMs', () => {
  it.each<[string, HealthProbeResult[] | undefined, number]>([
    ['is 0 (unknown) without a healthcheck', undefined, 0],
    ['is 0 (unknown) before the first probe finished', [], 0],
    ['is the duration of a single probe', [probe(0, 207)], 207],
    ['averages the latest three of five probes, oldest first as Docker keeps them', [probe(0, 900), probe(1000, 900), probe(2000, 100), probe(3000, 200), probe(4000, 300)], 200],
    ['rounds the mean to whole milliseconds', [probe(0, 100), probe(1000, 101)], 101],
    ['reports a sub-millisecond probe as 1 ms so it never reads as unknown', [probe(0, 0)], 1],
  ])('%s', (_name, log, expected) => {
    expect(healthResponseTimeMs(log)).toBe(expected);
  });

  it('counts a probe that hit its timeout, since that is the slowest answer of all', () => {
    expect(healthResponseTimeMs([probe(0, 5000), probe(6000, 1000)])).toBe(3000);
  });

  it('skips entries with zero or unparsable times and looks further back for finished probes', () => {
    const log = [probe(0, 40), probe(1000, 60), { Start: '0001-01-01T00:00:00Z', End: '0001-01-01T00:00:00Z' }, { Start: 'garbage', End: '' }];
    expect(healthResponseTimeMs(log)).toBe(50);
  });

  it('averages as many latest probes as asked', () => {
    expect(healthResponseTimeMs([probe(0, 100), probe(1000, 300)], 1)).toBe(300);
  });
});
