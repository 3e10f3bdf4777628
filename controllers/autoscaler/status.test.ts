// Which status.autoscale changes are worth a write, and how a decision becomes status.
import { describe, expect, it } from 'vitest';
import type { AutoscaleDecision } from './hpa.js';
import { autoscaleStatus, autoscaleStatusChanged, type AutoscaleStatus } from './status.js';

const TARGETS = { targetCpuUtilizationPercent: 50, targetNetworkBytesPerSecond: '1000' };
const base: AutoscaleStatus = {
  currentCpuUtilizationPercent: 50,
  currentNetworkBytesPerSecond: '1000',
  desiredReplicas: 2,
  lastScaleTime: '2024-01-01T00:00:00.000Z',
  lastScaleReason: 'cpu utilization 90% of request above target 50%',
  replicas: [{ name: 'web-a', class: 'Medium', cpuPercent: 50 }],
};

describe('autoscaleStatusChanged', () => {
  it.each<[string, Partial<AutoscaleStatus>, boolean]>([
    ['ignores cpu moving within 10% of its target', { currentCpuUtilizationPercent: 54 }, false],
    ['reports cpu moving beyond 10% of its target', { currentCpuUtilizationPercent: 56 }, true],
    ['ignores network moving within 10% of its target', { currentNetworkBytesPerSecond: '1090' }, false],
    ['reports network moving beyond 10% of its target', { currentNetworkBytesPerSecond: '1200' }, true],
    ['reports another desired size', { desiredReplicas: 3 }, true],
    ['reports a new scaling decision', { lastScaleTime: '2024-01-01T00:01:00.000Z' }, true],
    ['reports a replica changing class', { replicas: [{ name: 'web-a', class: 'High', cpuPercent: 52 }] }, true],
    ['reports a replica appearing', { replicas: [...base.replicas!, { name: 'web-b', class: 'Low', cpuPercent: 1 }] }, true],
  ])('%s', (_name, change, changed) => {
    expect(autoscaleStatusChanged(base, { ...base, ...change }, TARGETS)).toBe(changed);
  });

  it('reads a figure the server omitted as 0, as proto JSON omits zeros, so an idle set is not rewritten', () => {
    const stored: AutoscaleStatus = { desiredReplicas: 1, replicas: [{ name: 'web-a', class: 'Low' }] };
    const next: AutoscaleStatus = {
      currentCpuUtilizationPercent: 0,
      currentNetworkBytesPerSecond: '0',
      desiredReplicas: 1,
      replicas: [{ name: 'web-a', class: 'Low', cpuPercent: 0, memoryPercent: 0 }],
    };
    expect(autoscaleStatusChanged(stored, next, TARGETS)).toBe(false);
    expect(autoscaleStatusChanged(stored, { ...next, currentCpuUtilizationPercent: 6 }, TARGETS)).toBe(true);
  });

  it('reports anything when there was no status', () => {
    expect(autoscaleStatusChanged(undefined, base, TARGETS)).toBe(true);
  });
});

describe('autoscaleStatus', () => {
  const decision: AutoscaleDecision = {
    currentReplicas: 2,
    desiredReplicas: 2,
    reason: 'keeping 2',
    metrics: [
      { metric: 'cpu', current: 49.6, target: 50, base: 'request', proposal: 2 },
      { metric: 'network', current: 1234.4, target: 1000, proposal: 2 },
    ],
    replicas: [{ name: 'web-a', class: 'Medium', cpuPercent: 50, memoryPercent: 0 }],
    history: [],
  };

  it('keeps the last scaling decision when this round did not scale', () => {
    const s = autoscaleStatus(decision, base);
    expect(s).toEqual({
      currentCpuUtilizationPercent: 50,
      currentNetworkBytesPerSecond: '1234',
      desiredReplicas: 2,
      lastScaleTime: base.lastScaleTime,
      lastScaleReason: base.lastScaleReason,
      replicas: [{ name: 'web-a', class: 'Medium', cpuPercent: 50, memoryPercent: 0 }],
    });
  });

  it('records this round\'s scaling decision', () => {
    const s = autoscaleStatus(decision, base, { time: '2024-01-02T00:00:00.000Z', reason: 'why' });
    expect([s.lastScaleTime, s.lastScaleReason]).toEqual(['2024-01-02T00:00:00.000Z', 'why']);
  });
});
