import { describe, expect, it } from 'vitest';
import { discrepancies, dueAtMs, highestRateWithinSlos, idleWritesPerHour, pickRollout, planSets, planSteps, sloBreaches } from './scale-plan.js';

const sum = (xs: { replicas: number }[]) => xs.reduce((a, s) => a + s.replicas, 0);

describe('planSets', () => {
  it.each([
    [30_000, 20],
    [3_000, 20],
    [500, 20],
    [7, 3],
    [1, 1],
  ])('plans exactly %i replicas over at most %i namespaces', (total, namespaces) => {
    const sets = planSets(total, namespaces);
    expect(sum(sets)).toBe(total);
    expect(new Set(sets.map((s) => `${s.namespace}/${s.name}`)).size).toBe(sets.length);
    expect(new Set(sets.map((s) => s.namespace)).size).toBeLessThanOrEqual(namespaces);
  });

  it('mixes 5, 30, 100 and 500-replica sets at full size, big sets spread through the list', () => {
    const sets = planSets(30_000, 20);
    const sizes = new Set(sets.map((s) => s.replicas));
    expect([...sizes].sort((a, b) => a - b)).toEqual([5, 30, 100, 500]);
    const half = sets.slice(0, Math.floor(sets.length / 2));
    // The first half of the list holds about half of the replicas, so a kill "midway" hits a mixed load.
    expect(sum(half) / 30_000).toBeGreaterThan(0.4);
    expect(sum(half) / 30_000).toBeLessThan(0.6);
    expect(half.some((s) => s.replicas === 500)).toBe(true);
  });

  it('rejects a total or namespace count below 1', () => {
    expect(() => planSets(0, 20)).toThrow(RangeError);
    expect(() => planSets(10, 0)).toThrow(RangeError);
  });
});

describe('pickRollout', () => {
  it.each([30_000, 3_000, 500])('picks about a tenth of %i replicas, never more than 10%% over', (total) => {
    const sets = planSets(total, 20);
    const picked = pickRollout(sets, 0.1).map((i) => sets[i]!);
    expect(sum(picked)).toBeGreaterThanOrEqual(total * 0.1 * 0.9);
    expect(sum(picked)).toBeLessThanOrEqual(total * 0.1 * 1.1);
  });

  it('rolls the smallest set when every set is bigger than the tenth', () => {
    const sets = planSets(20, 4);
    expect(pickRollout(sets, 0.1).map((i) => sets[i]!.replicas)).toEqual([Math.min(...sets.map((s) => s.replicas))]);
  });
});

describe('planSteps', () => {
  it('puts every set in exactly one step, in order, about equal replicas per step', () => {
    const sets = planSets(30_000, 20);
    const steps = planSteps(sets, [25, 50, 100, 200]);
    expect(steps.flatMap((s) => s.sets)).toEqual(sets.map((_, i) => i));
    for (const s of steps) expect(Math.abs(s.replicas - 7_500)).toBeLessThan(600);
  });

  it('rejects no rates or a rate that is not positive', () => {
    expect(() => planSteps(planSets(10, 1), [])).toThrow(RangeError);
    expect(() => planSteps(planSets(10, 1), [10, 0])).toThrow(RangeError);
  });

  it('schedules replica n at n / rate seconds', () => {
    expect(dueAtMs(0, 50)).toBe(0);
    expect(dueAtMs(100, 50)).toBe(2_000);
  });
});

describe('SLO verdicts', () => {
  it.each([
    [{ startupP99Ms: 4_000, mutatingP99Ms: 200, getP99Ms: 50, namespaceListP99Ms: 900, clusterListP99Ms: 9_000 }, [], []],
    [{ startupP99Ms: 6_000, mutatingP99Ms: 1_200, getP99Ms: 50, namespaceListP99Ms: 900, clusterListP99Ms: 9_000 }, ['startupP99Ms', 'mutatingP99Ms'], []],
    [{ startupP99Ms: 4_000, mutatingP99Ms: 200, getP99Ms: 50, namespaceListP99Ms: 900, clusterListP99Ms: NaN }, [], ['clusterListP99Ms']],
  ])('%j breaks %j, leaves %j unmeasured', (measured, broken, unmeasured) => {
    expect(sloBreaches(measured)).toEqual({ broken, unmeasured });
  });

  it('takes the highest achieved rate among steps that broke nothing', () => {
    expect(
      highestRateWithinSlos([
        { rate: 25, achieved: 24, broken: [] },
        { rate: 50, achieved: 48, broken: [] },
        { rate: 100, achieved: 70, broken: ['startupP99Ms'] },
      ]),
    ).toEqual({ asked: 50, achieved: 48 });
    expect(highestRateWithinSlos([{ rate: 25, achieved: 24, broken: ['getP99Ms'] }])).toBeUndefined();
  });
});

describe('idleWritesPerHour', () => {
  it('extrapolates a window to an hour and separates one Lease renewal per node per heartbeat', () => {
    // 1,000 nodes at 10 s: 100 renewals/s, 6,000 in 60 s; 6,010 revisions leave 600/h for the rest.
    expect(idleWritesPerHour(6_010, 60_000, 1_000, 10_000)).toEqual({ perHour: 360_600, leaseRenewalsPerHour: 360_000, otherPerHour: 600 });
  });
});

describe('discrepancies', () => {
  it.each([
    [{ desired: 3, names: ['a', 'b', 'c'], running: 3 }, []],
    [{ desired: 3, names: ['a', 'b'], running: 2 }, ['ns/s: 1 lost (2/3)']],
    [{ desired: 2, names: ['a', 'b', 'c'], running: 3 }, ['ns/s: 1 doubled (3/2)']],
    [{ desired: 2, names: ['a', 'a'], running: 2 }, ['ns/s: 1 duplicate Container names']],
    [{ desired: 2, names: ['a', 'b'], running: 1 }, ['ns/s: 1 not Running']],
  ])('%j → %j', (set, want) => {
    expect(discrepancies([{ namespace: 'ns', name: 's', ...set }])).toEqual(want);
  });

  it('reports Containers that belong to no planned set', () => {
    expect(discrepancies([], 4)).toEqual(['4 Containers owned by no planned set']);
  });
});
