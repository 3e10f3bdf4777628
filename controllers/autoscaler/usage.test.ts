// The usage snapshot: one fetch per round shared by every set, converted from the wire's strings.
import { describe, expect, it } from 'vitest';
import type { ContainerUsage } from '../../lib/gen/persys/v1/agent.js';
import { FakeClock } from '../runtime/fake-clock.js';
import { UsageSnapshot } from './usage.js';

const sample = (uid: string, cpu: number): ContainerUsage => ({
  uid,
  namespace: 'ns',
  name: uid,
  cpuPercent: cpu,
  memoryBytes: '2048',
  memoryLimitBytes: '4096',
  networkRxBytesPerSecond: '100',
  networkTxBytesPerSecond: '23',
});

describe('UsageSnapshot', () => {
  it('shares one fetch between concurrent callers and converts int64 strings to numbers', async () => {
    let calls = 0;
    const snap = new UsageSnapshot(async () => (calls++, [sample('a', 12.5)]), new FakeClock(), 1000);
    const [x, y] = await Promise.all([snap.get(), snap.get()]);
    expect(calls).toBe(1);
    expect(x).toBe(y);
    expect(x.get('a')).toEqual({ cpuPercent: 12.5, memoryBytes: 2048, memoryLimitBytes: 4096, networkBytesPerSecond: 123 });
  });

  it('fetches again once the snapshot is older than its maximum age', async () => {
    const clock = new FakeClock();
    let cpu = 1;
    const snap = new UsageSnapshot(async () => [sample('a', cpu++)], clock, 1000);
    expect((await snap.get()).get('a')?.cpuPercent).toBe(1);
    clock.advance(999);
    expect((await snap.get()).get('a')?.cpuPercent).toBe(1);
    clock.advance(1);
    expect((await snap.get()).get('a')?.cpuPercent).toBe(2);
  });

  it('rejects when the fetch fails rather than reporting no usage, and retries on the next call', async () => {
    let fail = true;
    const snap = new UsageSnapshot(async () => {
      if (fail) throw new Error('top failed');
      return [sample('a', 5)];
    }, new FakeClock(), 1000);
    await expect(snap.get()).rejects.toThrow('top failed');
    fail = false;
    expect((await snap.get()).get('a')?.cpuPercent).toBe(5);
  });
});
