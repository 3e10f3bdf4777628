// Table-driven cases of the agent's pure decision logic: which Docker steps converge a node, and
// the status each desired Container reports.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../lib/api/resource.js';
import { specHash } from './docker/labels.js';
import type { ManagedContainer } from './docker/runtime.js';
import {
  reconcile,
  reconcileUid,
  RESTART_BACKOFF_INITIAL_MS,
  RESTART_BACKOFF_MAX_MS,
  type Action,
  type ContainerMemory,
  type ContainerStatus,
} from './reconcile.js';

const NODE = 'n1';
const NOW = Date.parse('2025-01-01T12:00:00Z');
const iso = (msBeforeNow: number) => new Date(NOW - msBeforeNow).toISOString();

function container(uid: string, spec: Record<string, unknown> = {}, extra: Partial<Resource> = {}): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { namespace: 'default', name: `c-${uid}`, uid, generation: 3 },
    spec: { image: 'img', ...spec },
    ...extra,
  };
}

function observed(uid: string, o: Partial<ManagedContainer> & { spec?: Record<string, unknown> } = {}): ManagedContainer {
  const { spec, ...rest } = o;
  return {
    id: `id-${uid}`,
    containerName: `persys-default-c-${uid}`,
    uid,
    kind: 'Container',
    namespace: 'default',
    name: `c-${uid}`,
    node: NODE,
    image: 'img',
    state: 'running',
    exitCode: 0,
    startedAt: iso(60_000),
    specHash: specHash({ image: 'img', ...spec }),
    ...rest,
  };
}

interface Case {
  name: string;
  desired: Resource[];
  observed: ManagedContainer[];
  memory?: Record<string, ContainerMemory>;
  previous?: Record<string, ContainerStatus>;
  actions: Partial<Action>[];
  status?: Record<string, Partial<ContainerStatus>>;
  requeueAfterMs?: number;
}

const exited = (uid: string, exitCode: number, ranMs = 1_000, finishedAgoMs = 1_000, extra: Partial<ManagedContainer> = {}) =>
  observed(uid, { state: 'exited', exitCode, startedAt: iso(finishedAgoMs + ranMs), finishedAt: iso(finishedAgoMs), ...extra });

const cases: Case[] = [
  {
    name: 'creates a desired container that does not exist',
    desired: [container('a')],
    observed: [],
    actions: [{ type: 'create', uid: 'a' }],
    status: { a: { phase: 'Creating', reason: 'ContainerCreating' } },
  },
  {
    name: 'does nothing for a running container with the current spec',
    desired: [container('a')],
    observed: [observed('a')],
    actions: [],
    status: { a: { phase: 'Running', containerId: 'id-a', restartCount: 0, observedGeneration: 3 } },
  },
  {
    name: 'removes a labelled container whose uid is not desired (orphan)',
    desired: [],
    observed: [observed('x')],
    actions: [{ type: 'remove', uid: 'x', id: 'id-x', reason: 'orphan' }],
  },
  {
    name: 'removes the old incarnation and creates the new one when the uid changed for the same name',
    desired: [container('new', {}, { metadata: { namespace: 'default', name: 'c-old', uid: 'new' } })],
    observed: [observed('old')],
    actions: [
      { type: 'remove', uid: 'old', reason: 'orphan' },
      { type: 'create', uid: 'new' },
    ],
  },
  {
    name: 'leaves containers labelled for another node alone',
    desired: [],
    observed: [observed('x', { node: 'n2' })],
    actions: [],
  },
  {
    name: 'keeps containers of other desired kinds (their uid is desired)',
    desired: [{ apiVersion: 'persys.dev/v1', kind: 'ComposeStack', metadata: { name: 's', namespace: 'default', uid: 's' } }],
    observed: [observed('s', { kind: 'ComposeStack' })],
    actions: [],
  },
  {
    name: 'recreates a container whose spec hash differs',
    desired: [container('a', { args: ['new'] })],
    observed: [observed('a')],
    actions: [{ type: 'recreate', uid: 'a', id: 'id-a' }],
    status: { a: { phase: 'Creating', reason: 'SpecChanged' } },
  },
  {
    name: 'does not recreate for a restartPolicy or nodeName change alone',
    desired: [container('a', { restartPolicy: 'Never', nodeName: NODE })],
    observed: [observed('a')],
    actions: [],
  },
  {
    name: 'starts a container left created by a crash between create and start',
    desired: [container('a')],
    observed: [observed('a', { state: 'created', startedAt: undefined })],
    actions: [{ type: 'start', uid: 'a', id: 'id-a' }],
    status: { a: { phase: 'Creating' } },
  },
  {
    name: 'removes duplicates of one uid, keeping the running one',
    desired: [container('a')],
    observed: [observed('a', { id: 'dup', state: 'created' }), observed('a', { id: 'keep' })],
    actions: [{ type: 'remove', uid: 'a', id: 'dup', reason: 'duplicate' }],
    status: { a: { phase: 'Running', containerId: 'keep' } },
  },
  {
    name: 'removes a duplicate with an old spec and keeps the current one, then starts it',
    desired: [container('a')],
    observed: [observed('a', { id: 'old', state: 'exited', specHash: 'stale' }), observed('a', { id: 'cur', state: 'created' })],
    actions: [
      { type: 'remove', id: 'old', reason: 'duplicate' },
      { type: 'start', id: 'cur' },
    ],
  },
  {
    name: 'Always: restarts an exited container once the first 10 s back-off has passed',
    desired: [container('a')],
    observed: [exited('a', 0, 1_000, 11_000)],
    actions: [{ type: 'restart', uid: 'a', id: 'id-a', restartCount: 1, backoffMs: 2 * RESTART_BACKOFF_INITIAL_MS }],
  },
  {
    name: 'Always: waits out the back-off and asks to be requeued when it ends',
    desired: [container('a')],
    observed: [exited('a', 1, 1_000, 4_000)],
    actions: [],
    requeueAfterMs: 6_000,
    status: { a: { phase: 'Running', reason: 'CrashLoopBackOff', exitCode: 1 } },
  },
  {
    name: 'back-off doubles from the remembered delay',
    desired: [container('a')],
    observed: [exited('a', 1, 1_000, 41_000)],
    memory: { a: { restartCount: 2, backoffMs: 40_000 } },
    actions: [{ type: 'restart', restartCount: 3, backoffMs: 80_000 }],
  },
  {
    name: 'back-off is capped at 5 minutes',
    desired: [container('a')],
    observed: [exited('a', 1, 1_000, RESTART_BACKOFF_MAX_MS + 1)],
    memory: { a: { restartCount: 9, backoffMs: RESTART_BACKOFF_MAX_MS } },
    actions: [{ type: 'restart', restartCount: 10, backoffMs: RESTART_BACKOFF_MAX_MS }],
  },
  {
    name: 'back-off resets after the container ran 10 minutes',
    desired: [container('a')],
    observed: [exited('a', 1, 11 * 60_000, 10_500)],
    memory: { a: { restartCount: 7, backoffMs: RESTART_BACKOFF_MAX_MS } },
    actions: [{ type: 'restart', restartCount: 8, backoffMs: 2 * RESTART_BACKOFF_INITIAL_MS }],
  },
  {
    name: 'OnFailure: restarts after a non-zero exit',
    desired: [container('a', { restartPolicy: 'OnFailure' })],
    observed: [exited('a', 3, 1_000, 20_000)],
    actions: [{ type: 'restart', uid: 'a' }],
  },
  {
    name: 'OnFailure: a zero exit is Succeeded and not restarted',
    desired: [container('a', { restartPolicy: 'OnFailure' })],
    observed: [exited('a', 0, 1_000, 20_000)],
    actions: [],
    status: { a: { phase: 'Succeeded', exitCode: 0, reason: 'Completed' } },
  },
  {
    name: 'Never: a failed container stays Failed with its exit code',
    desired: [container('a', { restartPolicy: 'Never' })],
    observed: [exited('a', 2, 1_000, 600_000)],
    actions: [],
    status: { a: { phase: 'Failed', exitCode: 2, reason: 'Error' } },
  },
  {
    name: 'Never: a finished container that disappeared is not run again',
    desired: [container('a', { restartPolicy: 'Never' }, { status: { phase: 'Succeeded', exitCode: 0, containerId: 'gone' } })],
    observed: [],
    actions: [],
    status: { a: { phase: 'Succeeded', containerId: 'gone' } },
  },
  {
    name: 'a missing image is Pending with reason ImageNotPresent, and not retried during its back-off',
    desired: [container('a')],
    observed: [],
    memory: {
      a: {
        restartCount: 0,
        backoffMs: RESTART_BACKOFF_INITIAL_MS,
        failure: { reason: 'ImageNotPresent', message: 'image img is not present', at: NOW - 2_000, retryAfterMs: 10_000 },
      },
    },
    actions: [],
    requeueAfterMs: 8_000,
    status: { a: { phase: 'Pending', reason: 'ImageNotPresent', message: 'image img is not present' } },
  },
  {
    name: 'a missing image is tried again once its back-off is over, still reporting the reason',
    desired: [container('a')],
    observed: [],
    memory: {
      a: {
        restartCount: 0,
        backoffMs: RESTART_BACKOFF_INITIAL_MS,
        failure: { reason: 'ImageNotPresent', message: 'no image', at: NOW - 20_000, retryAfterMs: 10_000 },
      },
    },
    actions: [{ type: 'create', uid: 'a' }],
    status: { a: { phase: 'Pending', reason: 'ImageNotPresent' } },
  },
  {
    name: 'a dead container is removed (and created again on the next pass)',
    desired: [container('a')],
    observed: [observed('a', { state: 'dead' })],
    actions: [{ type: 'remove', id: 'id-a', reason: 'dead' }],
  },
  {
    name: 'a container being removed is left to finish',
    desired: [],
    observed: [observed('x', { state: 'removing' })],
    actions: [],
  },
  {
    name: 'restartCount is seeded from the reported status of the same container after an agent restart',
    desired: [container('a', {}, { status: { phase: 'Running', containerId: 'id-a', restartCount: 4 } })],
    observed: [exited('a', 1, 1_000, 11_000)],
    actions: [{ type: 'restart', restartCount: 5 }],
  },
  {
    name: 'does not act on desired objects that are not Containers',
    desired: [{ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 's', namespace: 'default', uid: 's' } }],
    observed: [],
    actions: [],
    status: {},
  },
];

describe('reconcile', () => {
  it.each(cases)('$name', (c) => {
    const r = reconcile({
      node: NODE,
      desired: c.desired,
      observed: c.observed,
      memory: new Map(Object.entries(c.memory ?? {})),
      previous: new Map(Object.entries(c.previous ?? {})),
      now: NOW,
    });
    expect(r.actions).toHaveLength(c.actions.length);
    c.actions.forEach((a, i) => expect(r.actions[i]).toMatchObject(a));
    for (const [uid, s] of Object.entries(c.status ?? {})) expect(r.statuses.get(uid)).toMatchObject(s);
    if (c.status && Object.keys(c.status).length === 0) expect(r.statuses.size).toBe(0);
    if (c.requeueAfterMs !== undefined) expect(r.requeueAfterMs).toBe(c.requeueAfterMs);
  });
});

describe('Ready condition', () => {
  const run = (o: ManagedContainer, previous?: ContainerStatus) =>
    reconcile({
      node: NODE,
      desired: [container('a')],
      observed: [o],
      memory: new Map(),
      previous: new Map(previous ? [['a', previous]] : []),
      now: NOW,
    }).statuses.get('a')!.conditions![0]!;

  it('is True for a running container without healthcheck', () => {
    expect(run(observed('a'))).toMatchObject({ type: 'Ready', status: 'True' });
  });

  it('follows the Docker healthcheck: starting and unhealthy are not ready, healthy is', () => {
    expect(run(observed('a', { health: 'starting' }))).toMatchObject({ status: 'False', reason: 'HealthcheckStarting' });
    expect(run(observed('a', { health: 'unhealthy' }))).toMatchObject({ status: 'False', reason: 'Unhealthy' });
    expect(run(observed('a', { health: 'healthy' }))).toMatchObject({ status: 'True' });
  });

  it('keeps the transition time while the condition does not change, so an unchanged status compares equal', () => {
    const before = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2020-01-01T00:00:00.000Z' }] } as ContainerStatus;
    expect(run(observed('a'), before).lastTransitionTime).toBe('2020-01-01T00:00:00.000Z');
    expect(run(observed('a', { health: 'unhealthy' }), before).lastTransitionTime).toBe(new Date(NOW).toISOString());
  });
});

describe('reconcileUid (one worker turn)', () => {
  const one = (uid: string, desired: Resource | undefined, obs: ManagedContainer[]) =>
    reconcileUid({ node: NODE, uid, desired, observed: obs, now: NOW });

  it.each([
    { name: 'removes every container of an undesired uid except those being removed', desired: undefined,
      observed: [observed('x'), observed('x', { id: 'x2', state: 'removing' })], actions: [{ type: 'remove', id: 'id-x', reason: 'orphan' }] },
    { name: 'ignores containers of another node and of another uid', desired: undefined,
      observed: [observed('x', { node: 'n2' }), observed('y')], actions: [] },
    { name: 'creates the desired container when only another node has one', desired: container('a'),
      observed: [observed('a', { node: 'n2' })], actions: [{ type: 'create', uid: 'a' }] },
    { name: 'takes no action and reports nothing for a desired object that is not a Container',
      desired: { apiVersion: 'persys.dev/v1', kind: 'ComposeStack', metadata: { name: 's', namespace: 'default', uid: 'a' } },
      observed: [observed('a', { kind: 'ComposeStack' })], actions: [] },
  ] as { name: string; desired?: Resource; observed: ManagedContainer[]; actions: Partial<Action>[] }[])('$name', (c) => {
    const uid = c.desired?.metadata.uid ?? 'x';
    const r = one(uid, c.desired, c.observed);
    expect(r.actions).toHaveLength(c.actions.length);
    c.actions.forEach((a, i) => expect(r.actions[i]).toMatchObject(a));
    if (!c.desired || c.desired.kind !== 'Container') expect(r.status).toBeUndefined();
  });

  it('reports Running from the container a create+start just inspected', () => {
    const r = one('a', container('a'), [observed('a', { id: 'new', startedAt: iso(10) })]);
    expect(r.actions).toEqual([]);
    expect(r.status).toMatchObject({ phase: 'Running', containerId: 'new', conditions: [{ type: 'Ready', status: 'True' }] });
  });
});
