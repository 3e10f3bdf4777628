// Run names and labels: deterministic from the CronJob and scheduled time, within 63 characters.
import { describe, expect, it } from 'vitest';
import { MAX_RUN_NAME_LENGTH, runLabels, runName, shortenName } from './run-name.js';

const T = Date.parse('2024-01-01T00:00:30Z'); // 28401120 minutes, 1704067230 seconds since the epoch

describe('runName', () => {
  it('appends minutes since the epoch, as Kubernetes does', () => {
    expect(runName('backup', T, false)).toBe('backup-28401120');
  });

  it('appends seconds since the epoch when the schedule fires within a minute', () => {
    expect(runName('backup', T, true)).toBe('backup-1704067230');
  });

  it('appends the attempt for retries only', () => {
    expect(runName('backup', T, false, 0)).toBe('backup-28401120');
    expect(runName('backup', T, false, 2)).toBe('backup-28401120-2');
  });

  it('gives the same name for the same time and different names for different minutes', () => {
    expect(runName('backup', T + 29_000, false)).toBe(runName('backup', T, false));
    expect(runName('backup', T + 31_000, false)).not.toBe(runName('backup', T, false));
  });

  it('keeps long names within 63 characters, deterministically and distinct per CronJob', () => {
    const a = 'a'.repeat(60) + '-one';
    const b = 'a'.repeat(60) + '-two';
    for (const attempt of [0, 1, 12]) {
      const n = runName(a, T, true, attempt);
      expect(n.length).toBeLessThanOrEqual(MAX_RUN_NAME_LENGTH);
      expect(n).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      expect(runName(a, T, true, attempt)).toBe(n);
      expect(runName(b, T, true, attempt)).not.toBe(n);
    }
  });
});

describe('shortenName', () => {
  it('leaves a name that fits alone', () => {
    expect(shortenName('backup', 10)).toBe('backup');
  });

  it('does not end the kept part with a dash or dot', () => {
    expect(shortenName('abc-.defghijklmnop', 12)).toMatch(/^abc-[0-9a-f]{8}$/);
  });
});

describe('runLabels', () => {
  it('labels the CronJob, the scheduled time in epoch seconds and the attempt', () => {
    expect(runLabels('backup', T, 3)).toEqual({
      'persys.dev/cronjob': 'backup',
      'persys.dev/scheduled-time': '1704067230',
      'persys.dev/attempt': '3',
    });
  });

  it('keeps the CronJob label value within 63 characters', () => {
    expect(runLabels('x'.repeat(100), T, 0)['persys.dev/cronjob']!.length).toBeLessThanOrEqual(63);
  });
});
