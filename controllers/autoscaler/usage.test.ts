// The usage snapshot: one fetch per round shared by every set, converted from the wire's strings; the
// healthcheck response time reaches the HPA's response-time target only when an agent measured it.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import type { ContainerUsage } from '../../lib/gen/persys/v1/agent.js';
import { FakeClock } from '../../lib/queue/fake-clock.js';
import { decideReplicas } from './hpa.js';
import { toUsageSample, UsageSnapshot } from './usage.js';

const sample = (uid: string, cpu: number, healthResponseTimeMs = 0): ContainerUsage => ({
  uid,
  namespace: 'ns',
  name: uid,
  cpuPercent: cpu,
  memoryBytes: '2048',
  memoryLimitBytes: '4096',
  networkRxBytesPerSecond: '100',
  networkTxBytesPerSecond: '23',
  healthResponseTimeMs,
});

describe('toUsageSample', () => {
  it('carries a measured healthcheck response time as responseTimeMs', () => {
    expect(toUsageSample(sample('a', 1, 240)).responseTimeMs).toBe(240);
  });

  it('leaves responseTimeMs out when the agent reported 0 (no healthcheck, or no probe yet)', () => {
    expect(toUsageSample(sample('a', 1, 0))).not.toHaveProperty('responseTimeMs');
  });

  it('lets replicas without a measured response time dampen a scale-up instead of counting as fast', () => {
    const set: Resource = {
      apiVersion: 'persys.dev/v1',
      kind: 'ContainerSet',
      metadata: { name: 'web', namespace: 'ns' },
      spec: {
        replicas: 2,
        autoscale: { minReplicas: 1, maxReplicas: 10, targetResponseTimeMs: 100 },
        template: { metadata: { labels: { app: 'web' } }, spec: { image: 'x' } },
      },
    };
    const decide = (...ms: number[]) =>
      decideReplicas({
        set,
        replicas: ms.map((m, i) => ({ name: `web-${i}`, ready: true, usage: toUsageSample(sample(`u${i}`, 0, m)) })),
        history: [],
        nowMs: 0,
      });
    // Both measured at 250 ms against 100: ceil(2 × 2.5) = 5.
    expect(decide(250, 250)).toMatchObject({ desiredReplicas: 5, reason: 'response time 250ms above target 100ms' });
    // One unknown counts as idle on a scale-up: mean (250 + 0) / 2 = 125 → ceil(2 × 1.25) = 3.
    expect(decide(250, 0).desiredReplicas).toBe(3);
  });
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
