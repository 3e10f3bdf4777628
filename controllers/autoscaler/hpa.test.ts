// Table tests of the autoscaling decision: the HPA rule, tolerance, bounds, windows, metrics and gaps.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { decideReplicas, type ReplicaObservation, type UsageSample } from './hpa.js';
import type { Recommendation } from './stabilization.js';

const NOW = 1_700_000_000_000;
const MI = 2 ** 20;

function set(opts: { replicas?: number; autoscale: Record<string, unknown>; resources?: Record<string, unknown> }): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name: 'web', namespace: 'hpa' },
    spec: {
      replicas: opts.replicas,
      autoscale: { minReplicas: 1, maxReplicas: 10, scaleDownStabilizationSeconds: 0, ...opts.autoscale },
      template: { metadata: { labels: { app: 'web' } }, spec: { image: 'x', resources: opts.resources } },
    },
  };
}

const usage = (u: Partial<UsageSample>): UsageSample => ({ cpuPercent: 0, memoryBytes: 0, memoryLimitBytes: 0, networkBytesPerSecond: 0, ...u });
/** Ready replicas web-0, web-1 … with the given usage; undefined is a replica nobody reported. */
const ready = (...us: (Partial<UsageSample> | undefined)[]): ReplicaObservation[] =>
  us.map((u, i) => ({ name: `web-${i}`, ready: true, usage: u ? usage(u) : undefined }));
const CPU_100M = { requests: { cpu: '100m' } };

interface Case {
  name: string;
  set: Resource;
  replicas: ReplicaObservation[];
  history?: Recommendation[];
  desired: number;
  reason?: string | RegExp;
}

const cases: Case[] = [
  {
    name: 'scales one replica at 180% of its cpu request to ceil(1 × 180/50) = 4',
    set: set({ replicas: 1, autoscale: { targetCpuUtilizationPercent: 50 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 18 }),
    desired: 4,
    reason: 'cpu utilization 180% of request above target 50%',
  },
  {
    name: 'keeps the size when the ratio is within the 10% tolerance (54% for 50%)',
    set: set({ replicas: 3, autoscale: { targetCpuUtilizationPercent: 50 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 5.4 }, { cpuPercent: 5.4 }, { cpuPercent: 5.4 }),
    desired: 3,
    reason: 'cpu utilization 54% of request (target 50%); keeping 3',
  },
  {
    name: 'scales when the ratio is just outside the tolerance (56% for 50% → ceil(3 × 1.12) = 4)',
    set: set({ replicas: 3, autoscale: { targetCpuUtilizationPercent: 50 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 5.6 }, { cpuPercent: 5.6 }, { cpuPercent: 5.6 }),
    desired: 4,
  },
  {
    name: 'caps a scale-up at maxReplicas and says so',
    set: set({ replicas: 1, autoscale: { targetCpuUtilizationPercent: 50, maxReplicas: 3 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 100 }),
    desired: 3,
    reason: 'cpu utilization 1000% of request above target 50%; limited to maxReplicas 3',
  },
  {
    name: 'stops a scale-down at minReplicas',
    set: set({ replicas: 4, autoscale: { targetCpuUtilizationPercent: 50, minReplicas: 2 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 0 }, { cpuPercent: 0 }, { cpuPercent: 0 }, { cpuPercent: 0 }),
    desired: 2,
    reason: /below target 50%; limited to minReplicas 2$/,
  },
  {
    name: 'measures cpu against the limit when there is no request',
    set: set({ replicas: 1, autoscale: { targetCpuUtilizationPercent: 50 }, resources: { limits: { cpu: '200m' } } }),
    replicas: ready({ cpuPercent: 20 }),
    desired: 2,
    reason: 'cpu utilization 100% of limit above target 50%',
  },
  {
    name: 'measures cpu against one core when there is neither request nor limit',
    set: set({ replicas: 2, autoscale: { targetCpuUtilizationPercent: 25 } }),
    replicas: ready({ cpuPercent: 100 }, { cpuPercent: 100 }),
    desired: 8,
    reason: 'cpu utilization 100% of one core above target 25%',
  },
  {
    name: 'measures memory against the request',
    set: set({ replicas: 2, autoscale: { targetMemoryUtilizationPercent: 40 }, resources: { requests: { memory: '100Mi' } } }),
    replicas: ready({ memoryBytes: 80 * MI }, { memoryBytes: 80 * MI }),
    desired: 4,
    reason: 'memory utilization 80% of request above target 40%',
  },
  {
    name: 'measures memory against the reported limit when the template sets none',
    set: set({ replicas: 2, autoscale: { targetMemoryUtilizationPercent: 60 } }),
    replicas: ready({ memoryBytes: 900, memoryLimitBytes: 1000 }, { memoryBytes: 900, memoryLimitBytes: 1000 }),
    desired: 3,
    reason: 'memory utilization 90% of reported limit above target 60%',
  },
  {
    name: 'scales on network bytes per second per replica',
    set: set({ replicas: 2, autoscale: { targetNetworkBytesPerSecond: '1000' } }),
    replicas: ready({ networkBytesPerSecond: 3000 }, { networkBytesPerSecond: 3000 }),
    desired: 6,
    reason: 'network 3000 B/s per replica above target 1000 B/s',
  },
  {
    name: 'scales on response time when replicas report it',
    set: set({ replicas: 2, autoscale: { targetResponseTimeMs: 100 } }),
    replicas: ready({ responseTimeMs: 250 }, { responseTimeMs: 250 }),
    desired: 5,
    reason: 'response time 250ms above target 100ms',
  },
  {
    name: 'takes the largest proposal over several metrics and names that metric',
    set: set({
      replicas: 2,
      autoscale: { targetCpuUtilizationPercent: 50, targetMemoryUtilizationPercent: 20 },
      resources: { requests: { cpu: '100m', memory: '100Mi' } },
    }),
    replicas: ready({ cpuPercent: 5, memoryBytes: 50 * MI }, { cpuPercent: 5, memoryBytes: 50 * MI }),
    desired: 5,
    reason: 'memory utilization 50% of request above target 20%',
  },
  {
    name: 'ignores a metric whose target is 0',
    set: set({ replicas: 2, autoscale: { targetCpuUtilizationPercent: 50, targetMemoryUtilizationPercent: 0 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 5, memoryBytes: 1e12, memoryLimitBytes: 1 }, { cpuPercent: 5, memoryBytes: 1e12, memoryLimitBytes: 1 }),
    desired: 2,
  },
  {
    name: 'keeps the size when no ready replica has reported usage',
    set: set({ replicas: 2, autoscale: { targetCpuUtilizationPercent: 50 }, resources: CPU_100M }),
    replicas: ready(undefined, undefined),
    desired: 2,
    reason: 'no usage reported by ready replicas; keeping 2',
  },
  {
    name: 'counts a ready replica without a sample as idle on a scale-up',
    set: set({ replicas: 2, autoscale: { targetCpuUtilizationPercent: 50 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 20 }, undefined),
    // 200% alone would ask for ceil(1 × 4) = 4; with the missing one at 0%: mean 100% → ceil(2 × 2) = 4.
    desired: 4,
  },
  {
    name: 'counts a ready replica without a sample as at target on a scale-down',
    set: set({ replicas: 4, autoscale: { targetCpuUtilizationPercent: 50 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 1 }, { cpuPercent: 1 }, undefined, undefined),
    // 10% alone asks for 1; with the missing two at 50%: mean 30% → ceil(4 × 0.6) = 3.
    desired: 3,
  },
  {
    name: 'ignores not-ready replicas on a scale-down',
    set: set({ replicas: 3, autoscale: { targetCpuUtilizationPercent: 50 }, resources: CPU_100M }),
    replicas: [...ready({ cpuPercent: 1 }, { cpuPercent: 1 }), { name: 'web-2', ready: false, usage: usage({ cpuPercent: 90 }) }],
    desired: 1,
  },
  {
    name: 'keeps the size when not-ready replicas counted as idle turn a scale-up into a scale-down',
    set: set({ replicas: 2, autoscale: { targetCpuUtilizationPercent: 50 }, resources: CPU_100M }),
    replicas: [...ready({ cpuPercent: 6 }), { name: 'web-1', ready: false }],
    desired: 2,
  },
  {
    name: 'holds a scale-down at the highest recommendation of the down window',
    set: set({ replicas: 5, autoscale: { targetCpuUtilizationPercent: 50, scaleDownStabilizationSeconds: 300 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 2 }, { cpuPercent: 2 }, { cpuPercent: 2 }, { cpuPercent: 2 }, { cpuPercent: 2 }),
    history: [{ atMs: NOW - 200_000, replicas: 5 }, { atMs: NOW - 100_000, replicas: 4 }],
    desired: 5,
    reason: 'cpu utilization 20% of request below target 50%; held at 5 by the scale-down stabilization window',
  },
  {
    name: 'scales down to the highest recommendation still inside the down window',
    set: set({ replicas: 5, autoscale: { targetCpuUtilizationPercent: 50, scaleDownStabilizationSeconds: 300 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 2 }, { cpuPercent: 2 }, { cpuPercent: 2 }, { cpuPercent: 2 }, { cpuPercent: 2 }),
    history: [{ atMs: NOW - 301_000, replicas: 5 }, { atMs: NOW - 100_000, replicas: 4 }],
    desired: 4,
  },
  {
    name: 'scales down fully once every higher recommendation has left the down window',
    set: set({ replicas: 5, autoscale: { targetCpuUtilizationPercent: 50, scaleDownStabilizationSeconds: 5 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 2 }, { cpuPercent: 2 }, { cpuPercent: 2 }, { cpuPercent: 2 }, { cpuPercent: 2 }),
    history: [{ atMs: NOW - 6_000, replicas: 5 }],
    desired: 2,
  },
  {
    name: 'holds a scale-up at the lowest recommendation of the up window',
    set: set({ replicas: 2, autoscale: { targetCpuUtilizationPercent: 50, scaleUpStabilizationSeconds: 60 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 15 }, { cpuPercent: 15 }),
    history: [{ atMs: NOW - 30_000, replicas: 3 }],
    desired: 3,
    reason: /above target 50%; held at 3 by the scale-up stabilization window$/,
  },
  {
    name: 'scales up fully once lower recommendations have left the up window',
    set: set({ replicas: 2, autoscale: { targetCpuUtilizationPercent: 50, scaleUpStabilizationSeconds: 60 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 15 }, { cpuPercent: 15 }),
    history: [{ atMs: NOW - 61_000, replicas: 3 }],
    desired: 6,
  },
  {
    name: 'does not scale down on its first round: the current size counts as a recent recommendation',
    set: set({ replicas: 4, autoscale: { targetCpuUtilizationPercent: 50, scaleDownStabilizationSeconds: undefined }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 0 }, { cpuPercent: 0 }, { cpuPercent: 0 }, { cpuPercent: 0 }),
    desired: 4,
  },
  {
    name: 'brings a size above maxReplicas back into range whatever the metrics say',
    set: set({ replicas: 7, autoscale: { targetCpuUtilizationPercent: 50, maxReplicas: 5 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 100 }),
    desired: 5,
    reason: 'current replicas 7 above maxReplicas 5',
  },
  {
    name: 'treats an absent spec.replicas as 1',
    set: set({ autoscale: { targetCpuUtilizationPercent: 50, minReplicas: 1 }, resources: CPU_100M }),
    replicas: ready({ cpuPercent: 15 }),
    desired: 3,
  },
];

describe('decideReplicas', () => {
  it.each(cases)('$name', (c) => {
    const d = decideReplicas({ set: c.set, replicas: c.replicas, history: c.history ?? [], nowMs: NOW });
    expect(d.desiredReplicas).toBe(c.desired);
    if (typeof c.reason === 'string') expect(d.reason).toBe(c.reason);
    else if (c.reason) expect(d.reason).toMatch(c.reason);
  });

  it('classes each replica by its busiest metric: Low below 50% of target, High above 90%', () => {
    const d = decideReplicas({
      set: set({
        replicas: 4,
        autoscale: { targetCpuUtilizationPercent: 50, targetMemoryUtilizationPercent: 50 },
        resources: { requests: { cpu: '100m', memory: '100Mi' } },
      }),
      replicas: ready(
        { cpuPercent: 2, memoryBytes: 10 * MI },
        { cpuPercent: 3, memoryBytes: 10 * MI },
        { cpuPercent: 1, memoryBytes: 48 * MI },
        undefined,
      ),
      history: [],
      nowMs: NOW,
    });
    expect(d.replicas).toEqual([
      { name: 'web-0', class: 'Low', cpuPercent: 20, memoryPercent: 10 },
      { name: 'web-1', class: 'Medium', cpuPercent: 30, memoryPercent: 10 },
      { name: 'web-2', class: 'High', cpuPercent: 10, memoryPercent: 48 },
    ]);
  });

  it('reports the mean of each metric over ready replicas with a sample', () => {
    const d = decideReplicas({
      set: set({ replicas: 2, autoscale: { targetCpuUtilizationPercent: 50, targetNetworkBytesPerSecond: '100' }, resources: CPU_100M }),
      replicas: ready({ cpuPercent: 4, networkBytesPerSecond: 50 }, { cpuPercent: 8, networkBytesPerSecond: 150 }),
      history: [],
      nowMs: NOW,
    });
    expect(d.metrics.map((m) => [m.metric, Math.round(m.current), m.target])).toEqual([
      ['cpu', 60, 50],
      ['network', 100, 100],
    ]);
  });

  it('remembers this round and forgets recommendations older than both windows', () => {
    const d = decideReplicas({
      set: set({ replicas: 2, autoscale: { targetCpuUtilizationPercent: 50, scaleUpStabilizationSeconds: 10, scaleDownStabilizationSeconds: 20 }, resources: CPU_100M }),
      replicas: ready({ cpuPercent: 5 }, { cpuPercent: 5 }),
      history: [{ atMs: NOW - 25_000, replicas: 9 }, { atMs: NOW - 15_000, replicas: 2 }],
      nowMs: NOW,
    });
    expect(d.history).toEqual([{ atMs: NOW - 15_000, replicas: 2 }, { atMs: NOW, replicas: 2 }]);
  });
});
