// The scheduler's status decisions and its assume cache, without a server.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { FakeClock } from '../../lib/queue/fake-clock.js';
import { AssumedBindings } from './assumed.js';
import { scheduledStatus, unschedulableStatus } from '../../lib/api/scheduling.js';
import { awaitsScheduledReport, concernsScheduler, statusDiffers } from './reconcile.js';

const T0 = '2024-05-01T12:00:00.000Z';
const T1 = '2024-05-01T12:05:00.000Z';

function container(name: string, extra: { nodeName?: string; status?: Record<string, unknown>; uid?: string; generation?: number } = {}): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace: 'default', uid: extra.uid ?? `uid-${name}`, generation: extra.generation ?? 1 },
    spec: { image: 'busybox', ...(extra.nodeName ? { nodeName: extra.nodeName } : {}) },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

describe('scheduler status', () => {
  it('reports Pending with Scheduled=False, keeps other conditions, and keeps the transition time while still unschedulable', () => {
    const ready = { type: 'Ready', status: 'False', reason: 'NotStarted' };
    const first = unschedulableStatus(container('c', { status: { conditions: [ready] }, generation: 3 }), '0/1 nodes are available: 1 insufficient cpu.', T0);
    expect(first).toEqual({
      phase: 'Pending',
      conditions: [
        ready,
        { type: 'Scheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 insufficient cpu.', lastTransitionTime: T0, observedGeneration: 3 },
      ],
    });
    const again = unschedulableStatus(container('c', { status: first }), '0/2 nodes are available: 2 insufficient cpu.', T1);
    expect((again.conditions as { lastTransitionTime: string }[])[1]!.lastTransitionTime).toBe(T0);
    const bound = scheduledStatus(container('c', { status: again }), 'n1', T1);
    expect(bound.phase).toBe('Scheduled');
    expect((bound.conditions as object[])[1]).toMatchObject({ status: 'True', reason: 'Scheduled', message: 'assigned to node n1', lastTransitionTime: T1 });
  });

  it('writes a status only when phase or the Scheduled condition would change', () => {
    const current = unschedulableStatus(container('c'), 'full', T0);
    expect(statusDiffers(current, unschedulableStatus(container('c', { status: current }), 'full', T1))).toBe(false);
    expect(statusDiffers(current, unschedulableStatus(container('c', { status: current }), 'fuller', T1))).toBe(true);
    expect(statusDiffers(undefined, current)).toBe(true);
  });

  it('has the scheduler look at unbound Containers and at bound ones nobody reported yet', () => {
    expect(concernsScheduler(container('new'))).toBe(true);
    expect(awaitsScheduledReport(container('pinned', { nodeName: 'n1' }))).toBe(true);
    expect(awaitsScheduledReport(container('pinned', { nodeName: 'n1', status: unschedulableStatus(container('x'), 'full', T0) }))).toBe(true);
    expect(awaitsScheduledReport(container('done', { nodeName: 'n1', status: scheduledStatus(container('x'), 'n1', T0) }))).toBe(false);
    expect(concernsScheduler(container('running', { nodeName: 'n1', status: { phase: 'Running' } }))).toBe(false);
  });

  it('leaves a Pending status the node agent wrote (pulling, or a failed pull) as it is', () => {
    const pulling = { phase: 'Pending', reason: 'ErrImagePull', conditions: [{ type: 'Ready', status: 'False', reason: 'ErrImagePull' }] };
    expect(awaitsScheduledReport(container('pulling', { nodeName: 'n1', status: pulling }))).toBe(false);
  });
});

describe('AssumedBindings', () => {
  it('counts a binding until the cache shows it bound, deleted or recreated', () => {
    const assumed = new AssumedBindings();
    assumed.assume(container('a', { nodeName: 'n1' }));
    assumed.assume(container('b', { nodeName: 'n2' }));
    assumed.assume(container('c', { nodeName: 'n1' }));
    const cache = new Map<string, Resource>([
      ['default/a', container('a')],
      ['default/b', container('b', { nodeName: 'n2' })],
      ['default/c', container('c', { uid: 'uid-recreated' })],
    ]);
    const byNode = assumed.byNode((k) => cache.get(k));
    expect([...byNode.keys()]).toEqual(['n1']);
    expect(byNode.get('n1')!.map((c) => c.metadata.name)).toEqual(['a']);
    expect(assumed.has('default/a')).toBe(true);
    expect(assumed.has('default/b')).toBe(false);
    expect(assumed.has('default/c')).toBe(false);
    cache.delete('default/a');
    expect(assumed.byNode((k) => cache.get(k)).size).toBe(0);
    expect(assumed.size).toBe(0);
  });

  it('lets an assumption the informer never confirms expire', () => {
    const clock = new FakeClock();
    const assumed = new AssumedBindings(30_000, clock);
    assumed.assume(container('a', { nodeName: 'n1' }));
    clock.advance(29_000);
    expect(assumed.has('default/a')).toBe(true);
    clock.advance(2_000);
    expect(assumed.has('default/a')).toBe(false);
  });
});
