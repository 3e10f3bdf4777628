// What `rollout status` and `apply --wait` say about an object at each stage of converging.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/resource.js';
import { convergence } from './convergence.js';

const set = (status: Record<string, unknown>, generation = 2, replicas = 3): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'ContainerSet',
  metadata: { name: 'web', generation },
  spec: { replicas },
  status,
});
const ct = (status: Record<string, unknown>, spec: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name: 'c' },
  spec: { nodeName: 'n1', ...spec },
  status,
});

describe('convergence', () => {
  it.each([
    ['an unobserved spec', set({ observedGeneration: 1 }), false, 'Waiting for containerset "web" spec update to be observed...'],
    ['too few updated', set({ observedGeneration: 2, updatedReplicas: 1, replicas: 3 }), false, 'rollout to finish: 1 out of 3 new replicas have been updated...'],
    ['old replicas left', set({ observedGeneration: 2, updatedReplicas: 3, replicas: 4 }), false, '1 old replicas are pending termination...'],
    ['not yet available', set({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }), false, '2 of 3 updated replicas are available...'],
    ['rolled out', set({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }), true, 'containerset "web" successfully rolled out'],
    ['a running Container', ct({ phase: 'Running' }), true, 'container "c" is running on n1'],
    ['a running Container not yet healthy', ct({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] }, { healthcheck: {} }), false, 'Running, not ready yet'],
    ['a pending Container with its reason', ct({ phase: 'Pending', reason: 'ImageNotPresent', message: 'no image x' }), false, 'Waiting for container "c": Pending (ImageNotPresent: no image x)'],
    ['a finished run', ct({ phase: 'Succeeded' }), true, 'container "c" succeeded'],
    ['a Secret', { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 's' } }, true, 'secret "s" is stored'],
  ])('%s', (_what, obj, done, message) => {
    const c = convergence(obj as Resource);
    expect(c.done).toBe(done);
    expect(c.failed).toBeUndefined();
    expect(c.message).toContain(message);
  });

  it('fails a set whose rollout exceeded its progress deadline', () => {
    const c = convergence(set({ observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }));
    expect(c).toMatchObject({ done: false, failed: 'containerset "web" exceeded its progress deadline' });
  });

  it('fails a Container that failed and will not restart, but waits for one that will', () => {
    expect(convergence(ct({ phase: 'Failed', reason: 'Error', message: 'exit 3' }, { restartPolicy: 'Never' })).failed).toBe('container "c" failed (Error: exit 3)');
    expect(convergence(ct({ phase: 'Failed' })).failed).toBeUndefined();
  });
});
