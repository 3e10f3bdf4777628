// Table-driven cases for the ContainerSet rollout step: scaling, replacement, RollingUpdate bounds and Recreate.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { DRAIN_ANNOTATION } from '../../lib/api/annotations.js';
import { planRollout, scaledValue, statusEqual, templateHash, TEMPLATE_HASH_LABEL } from './rollout.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const template = { metadata: { labels: { app: 'web' } }, spec: { image: 'web:2' } };
const NEW = templateHash(template);
const OLD = templateHash({ ...template, spec: { image: 'web:1' } });

type State = 'ready' | 'starting' | 'failed' | 'succeeded' | 'lost' | 'terminating' | 'running-nohc' | 'running-hc';

function set(replicas: number, strategy?: any, extra: any = {}): Resource {
  return { apiVersion: 'persys.dev/v1', kind: 'ContainerSet', metadata: { name: 's', generation: 4 }, spec: { replicas, template, strategy, ...extra } };
}

// Names sort with creation order: c1 is the oldest.
function c(name: string, hash: string, state: State = 'ready', readySince = '2026-01-01T00:00:00Z'): Resource {
  const n = Number(name.replace(/\D/g, ''));
  const status: any = {
    ready: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: readySince }] },
    starting: { phase: 'Pending' },
    failed: { phase: 'Failed' },
    succeeded: { phase: 'Succeeded' },
    lost: { phase: 'Unknown' },
    terminating: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    'running-nohc': { phase: 'Running' },
    'running-hc': { phase: 'Running' },
  }[state];
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: {
      name,
      labels: { app: 'web', [TEMPLATE_HASH_LABEL]: hash },
      creationTimestamp: `2026-01-01T00:00:${String(n).padStart(2, '0')}Z`,
      ...(state === 'terminating' ? { deletionTimestamp: '2026-01-01T00:09:00Z' } : {}),
    },
    spec: { image: 'x', ...(state === 'running-hc' ? { healthcheck: { test: ['CMD', 'true'] } } : {}) },
    status,
  };
}

const rolling = (maxSurge?: string, maxUnavailable?: string) => ({ type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } });
const many = (prefix: string, from: number, n: number, hash: string, state: State = 'ready') =>
  Array.from({ length: n }, (_, i) => c(`${prefix}${from + i}`, hash, state));

interface Case {
  name: string;
  set: Resource;
  owned: Resource[];
  create: number;
  delete: string[];
}

const cases: Case[] = [
  { name: 'creates every replica of a new set', set: set(3), owned: [], create: 3, delete: [] },
  { name: 'does nothing when the set is converged', set: set(3), owned: many('c', 1, 3, NEW), create: 0, delete: [] },
  { name: 'scales up by the missing count', set: set(5), owned: many('c', 1, 3, NEW), create: 2, delete: [] },
  { name: 'scales down deleting the newest first', set: set(2), owned: many('c', 1, 4, NEW), create: 0, delete: ['c4', 'c3'] },
  {
    name: 'scales down deleting not-ready Containers before ready ones',
    set: set(2),
    owned: [c('c1', NEW, 'starting'), c('c2', NEW), c('c3', NEW), c('c4', NEW)],
    create: 0,
    delete: ['c1', 'c4'],
  },
  { name: 'scales to zero', set: set(0), owned: many('c', 1, 2, NEW), create: 0, delete: ['c2', 'c1'] },
  { name: 'replaces a failed Container', set: set(3), owned: [c('c1', NEW), c('c2', NEW, 'failed'), c('c3', NEW)], create: 1, delete: ['c2'] },
  { name: 'replaces a succeeded Container', set: set(2), owned: [c('c1', NEW, 'succeeded'), c('c2', NEW)], create: 1, delete: ['c1'] },
  // Only the node controller's eviction (after its timeout, rate-limited) replaces it: it deletes the Container.
  { name: 'keeps a Container on a lost node until it is evicted', set: set(2), owned: [c('c1', NEW), c('c2', NEW, 'lost')], create: 0, delete: [] },
  { name: 'scales down a lost Container first', set: set(1), owned: [c('c1', NEW), c('c2', NEW, 'lost')], create: 0, delete: ['c2'] },
  {
    name: 'does not count a terminating Container and does not delete it again',
    set: set(2),
    owned: [c('c1', NEW), c('c2', NEW, 'terminating')],
    create: 1,
    delete: [],
  },
  {
    name: 'rolling update with maxSurge 1 / maxUnavailable 0 creates one and deletes none while the new one starts',
    set: set(3, rolling('1', '0')),
    owned: many('o', 1, 3, OLD),
    create: 1,
    delete: [],
  },
  {
    name: 'rolling update with maxUnavailable 0 deletes one old once the new one is ready',
    set: set(3, rolling('1', '0')),
    owned: [...many('o', 1, 3, OLD), c('n4', NEW)],
    create: 0,
    delete: ['o3'],
  },
  {
    name: 'rolling update with maxUnavailable 0 never deletes ready old Containers while new ones are not ready',
    set: set(3, rolling('1', '0')),
    owned: [...many('o', 1, 2, OLD), c('n3', NEW), c('n4', NEW, 'starting')],
    create: 0,
    delete: [],
  },
  {
    name: 'rolling update deletes the last old Container once enough new are ready',
    set: set(3, rolling('1', '0')),
    owned: [c('o1', OLD), ...many('n', 2, 3, NEW)],
    create: 0,
    delete: ['o1'],
  },
  {
    name: 'default 25%/25% on 4 replicas surges one and removes one at once',
    set: set(4),
    owned: many('o', 1, 4, OLD),
    create: 1,
    delete: ['o4'],
  },
  {
    name: 'maxSurge 0 / maxUnavailable 1 deletes before it creates',
    set: set(3, rolling('0', '1')),
    owned: many('o', 1, 3, OLD),
    create: 0,
    delete: ['o3'],
  },
  {
    name: 'maxSurge 0 / maxUnavailable 1 creates a new one once an old one is gone',
    set: set(3, rolling('0', '1')),
    owned: many('o', 1, 2, OLD),
    create: 1,
    delete: [],
  },
  {
    name: 'maxSurge 0 and maxUnavailable 0 still moves by surging one',
    set: set(2, rolling('0', '0')),
    owned: many('o', 1, 2, OLD),
    create: 1,
    delete: [],
  },
  {
    name: 'percentages: 50% surge on 4 adds two, 50% unavailable removes two',
    set: set(4, rolling('50%', '50%')),
    owned: many('o', 1, 4, OLD),
    create: 2,
    delete: ['o4', 'o3'],
  },
  {
    name: 'rolling update removes not-ready old Containers first without touching ready ones',
    set: set(3, rolling('1', '0')),
    owned: [c('o1', OLD), c('o2', OLD), c('o3', OLD), c('o4', OLD, 'starting')],
    create: 0,
    delete: ['o4'],
  },
  {
    name: 'rolling update replaces a failed new Container',
    set: set(2, rolling('1', '0')),
    owned: [c('o1', OLD), c('o2', OLD), c('n3', NEW, 'failed')],
    create: 1,
    delete: ['n3'],
  },
  {
    name: 'scale down during a rollout trims surplus ready old Containers',
    set: set(2, rolling('1', '0')),
    owned: many('o', 1, 5, OLD),
    create: 0,
    delete: ['o5', 'o4', 'o3'],
  },
  {
    name: 'recreate deletes every old Container and creates nothing yet',
    set: set(3, { type: 'Recreate' }),
    owned: [...many('o', 1, 3, OLD)],
    create: 0,
    delete: ['o1', 'o2', 'o3'],
  },
  { name: 'recreate creates the new ones once the old are gone', set: set(3, { type: 'Recreate' }), owned: [], create: 3, delete: [] },
  {
    name: 'recreate waits while old Containers are still terminating',
    set: set(2, { type: 'Recreate' }),
    owned: [c('o1', OLD, 'terminating')],
    create: 0,
    delete: [],
  },
];

describe('planRollout', () => {
  it.each(cases)('$name', (tc) => {
    const plan = planRollout(tc.set, tc.owned, NOW);
    expect(plan.hash).toBe(NEW);
    expect(plan.create).toBe(tc.create);
    expect([...plan.delete].sort()).toEqual([...tc.delete].sort());
  });

  it('with maxUnavailable 0 a simulated rollout never has fewer than R ready and ends with R new', () => {
    for (const R of [1, 2, 3, 5]) {
      let owned = many('o', 1, R, OLD);
      let next = 100;
      for (let step = 0; step < 50; step++) {
        const plan = planRollout(set(R, rolling('1', '0')), owned, NOW);
        owned = owned.filter((x) => !plan.delete.includes(x.metadata.name!));
        expect(owned.filter((x) => x.status.phase === 'Running').length).toBeGreaterThanOrEqual(R);
        for (let i = 0; i < plan.create; i++) owned.push(c(`n${next++}`, NEW, 'starting'));
        expect(owned.length).toBeLessThanOrEqual(R + 1);
        // Every new Container becomes ready before the next step (the agent's part).
        owned = owned.map((x) => (x.status.phase === 'Pending' ? c(x.metadata.name!, NEW) : x));
        if (plan.create === 0 && plan.delete.length === 0) break;
      }
      expect(owned.map((x) => x.metadata.labels![TEMPLATE_HASH_LABEL])).toEqual(Array(R).fill(NEW));
    }
  });

  it('counts a running Container without healthcheck as ready, one with a healthcheck only by its Ready condition', () => {
    const plan = planRollout(set(2), [c('c1', NEW, 'running-nohc'), c('c2', NEW, 'running-hc')], NOW);
    expect(plan.status.readyReplicas).toBe(1);
  });

  it('reports status: replicas, ready, updated, available after minReadySeconds, generation and revision', () => {
    const s = set(3, rolling('1', '0'), { minReadySeconds: 60 });
    const owned = [c('o1', OLD), c('n2', NEW), c('n3', NEW, 'ready', '2026-01-01T00:09:30Z'), c('n4', NEW, 'starting')];
    const { status } = planRollout(s, owned, NOW);
    expect(status).toMatchObject({ replicas: 4, readyReplicas: 3, updatedReplicas: 3, availableReplicas: 2, observedGeneration: 4, currentRevision: NEW });
    expect(status.conditions.find((x) => x.type === 'Available')?.status).toBe('False');
    expect(status.conditions.find((x) => x.type === 'Progressing')?.reason).toBe('ContainersUpdating');
  });

  it('reports a finished rollout as Available and NewContainersAvailable, keeping transition times', () => {
    const first = planRollout(set(2), many('n', 1, 2, NEW), NOW).status;
    expect(first.conditions.map((x) => [x.type, x.status, x.reason])).toEqual([
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'True', 'NewContainersAvailable'],
    ]);
    const again = planRollout({ ...set(2), status: first }, many('n', 1, 2, NEW), NOW + 60_000).status;
    expect(again.conditions[0]!.lastTransitionTime).toBe(first.conditions[0]!.lastTransitionTime);
    expect(statusEqual(first, again)).toBe(true);
  });

  const progressing = (status: { conditions: { type: string }[] }) => status.conditions.find((x) => x.type === 'Progressing') as any;
  // A rollout stuck with one new Container that never becomes ready.
  const stuck = () => [...many('o', 1, 2, OLD), c('n3', NEW, 'starting')];

  it('marks a rollout that makes no progress within progressDeadlineSeconds as failed, and recovers on progress', () => {
    const s = set(2, rolling('1', '0'), { progressDeadlineSeconds: 60 });
    const started = planRollout(s, stuck(), NOW);
    expect(progressing(started.status)).toMatchObject({ status: 'True', reason: 'ContainersUpdating', lastUpdateTime: new Date(NOW).toISOString() });
    expect(started.progressDeadlineAtMs).toBe(NOW + 60_000);

    const waiting = planRollout({ ...s, status: started.status }, stuck(), NOW + 59_000);
    expect(progressing(waiting.status)).toMatchObject({ status: 'True', lastUpdateTime: new Date(NOW).toISOString() });
    expect(waiting.progressDeadlineAtMs).toBe(NOW + 60_000);

    const late = planRollout({ ...s, status: waiting.status }, stuck(), NOW + 61_000);
    expect(progressing(late.status)).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(progressing(late.status).message).toContain('has timed out progressing');
    expect(late.progressDeadlineAtMs).toBeUndefined();
    const stillLate = planRollout({ ...s, status: late.status }, stuck(), NOW + 120_000);
    expect(progressing(stillLate.status).reason).toBe('ProgressDeadlineExceeded');

    // The new Container finally becomes ready: that is progress, the condition is True again.
    const moving = planRollout({ ...s, status: stillLate.status }, [...many('o', 1, 2, OLD), c('n3', NEW)], NOW + 130_000);
    expect(progressing(moving.status)).toMatchObject({ status: 'True', reason: 'ContainersUpdating' });
  });

  it('defaults progressDeadlineSeconds to 600 like Kubernetes', () => {
    const s = set(2, rolling('1', '0'));
    const started = planRollout(s, stuck(), NOW);
    expect(started.progressDeadlineAtMs).toBe(NOW + 600_000);
    expect(progressing(planRollout({ ...s, status: started.status }, stuck(), NOW + 599_000).status).status).toBe('True');
    expect(progressing(planRollout({ ...s, status: started.status }, stuck(), NOW + 600_000).status).status).toBe('False');
  });

  it('moves a drained Container like an outdated one: the replacement first when maxUnavailable is 0', () => {
    const drained = c('c2', NEW);
    drained.metadata.annotations = { [DRAIN_ANNOTATION]: 'node-a' };
    const s = set(3, rolling('1', '0'));
    const first = planRollout(s, [c('c1', NEW), drained, c('c3', NEW)], NOW);
    expect(first).toMatchObject({ create: 1, delete: [] });
    const second = planRollout(s, [c('c1', NEW), drained, c('c3', NEW), c('c4', NEW)], NOW);
    expect(second).toMatchObject({ create: 0, delete: ['c2'] });
    expect(second.deleteReasons['c2']).toBe('Rollout');
  });

  it('lets a drained Container that is not ready go at once, even with no budget left', () => {
    const drained = c('c2', NEW, 'starting');
    drained.metadata.annotations = { [DRAIN_ANNOTATION]: 'node-a' };
    const plan = planRollout(set(2, rolling('1', '0')), [drained, c('c3', NEW, 'starting')], NOW);
    expect(plan.delete).toEqual(['c2']);
  });
});

describe('templateHash', () => {
  it('ignores key order and changes with any value', () => {
    expect(templateHash({ a: 1, b: { c: 2, d: 3 } })).toBe(templateHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(templateHash({ a: 1 })).not.toBe(templateHash({ a: 2 }));
  });
});

describe('scaledValue', () => {
  it.each([
    ['25%', 3, true, 1],
    ['25%', 3, false, 0],
    ['25%', 10, true, 3],
    ['25%', 10, false, 2],
    ['1', 10, true, 1],
    [2, 10, false, 2],
    [undefined, 4, true, 1],
    ['', 8, false, 2],
  ] as const)('%s of %i (round up %s) is %i', (v, total, up, want) => {
    expect(scaledValue(v, total, up)).toBe(want);
  });
});

describe('statusEqual', () => {
  it('treats omitted zero fields as zero and notices any change', () => {
    const s = planRollout(set(0), [], NOW).status;
    const written = { observedGeneration: 4, currentRevision: s.currentRevision, conditions: s.conditions };
    expect(statusEqual(written, s)).toBe(true);
    expect(statusEqual(written, { ...s, readyReplicas: 1 })).toBe(false);
  });
});
