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

const ss = (status: Record<string, unknown>, generation = 2): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'SwarmService',
  metadata: { name: 'api', generation },
  spec: { image: 'x', replicas: 3 },
  status: { serviceId: 'svc1', observedGeneration: 2, ...status },
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
    ['an unobserved SwarmService', ss({ observedGeneration: 1 }), false, 'Waiting for swarmservice "api" spec update to be observed...'],
    ['a SwarmService short of tasks, with why', ss({ runningTasks: 1, desiredTasks: 3, taskErrors: ['node b: No such image: x'] }), false, 'Waiting for swarmservice "api": 1 of 3 tasks running... (node b: No such image: x)'],
    ['a SwarmService mid-update', ss({ runningTasks: 3, desiredTasks: 3, updateState: 'updating' }), false, 'rolling update to finish: 3 of 3 tasks running...'],
    ['a SwarmService not yet created in Docker', ss({ serviceId: '' }), false, '0 of 0 tasks running'],
    ['a converged SwarmService', ss({ runningTasks: 3, desiredTasks: 3, updateState: 'completed' }), true, 'swarmservice "api" converged: 3/3 tasks running'],
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

  it('fails a SwarmService whose update paused or rolled back', () => {
    expect(convergence(ss({ updateState: 'paused', updateMessage: 'update paused due to failure' })).failed).toBe('swarmservice "api" update is paused: update paused due to failure');
    expect(convergence(ss({ updateState: 'rollback_completed' })).failed).toBe('swarmservice "api" update was rolled back');
  });
});
