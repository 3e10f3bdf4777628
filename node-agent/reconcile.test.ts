// Table-driven cases of the agent's pure decision logic: which Docker steps converge a node, and
// the status each desired Container reports.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../lib/api/resource.js';
import { specHash } from './docker/labels.js';
import type { ManagedContainer } from './docker/runtime.js';
import {
  reconcile,
  reconcileUid,
  portStatuses,
  runningImageId,
  ERR_IMAGE_PULL_SHOWN_MS,
  RESTART_BACKOFF_INITIAL_MS,
  RESTART_BACKOFF_MAX_MS,
  type Action,
  type ContainerMemory,
  type ContainerStatus,
  type ImageState,
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
  images?: Record<string, ImageState>;
  repoDigests?: Record<string, string[]>;
  actions: Partial<Action>[];
  status?: Record<string, Partial<ContainerStatus>>;
  requeueAfterMs?: number;
}

const exited = (uid: string, exitCode: number, ranMs = 1_000, finishedAgoMs = 1_000, extra: Partial<ManagedContainer> = {}) =>
  observed(uid, { state: 'exited', exitCode, startedAt: iso(finishedAgoMs + ranMs), finishedAt: iso(finishedAgoMs), ...extra });

const ready = (image = 'img'): ImageState => ({ image, ready: true });
const pullFailure = (atAgoMs: number, retryAfterMs = RESTART_BACKOFF_INITIAL_MS): ContainerMemory => ({
  restartCount: 0,
  backoffMs: RESTART_BACKOFF_INITIAL_MS,
  failure: {
    reason: 'ErrImagePull',
    message: 'failed to pull image "reg/app:1": unauthorized: authentication required',
    image: 'reg/app:1',
    detail: 'unauthorized: authentication required',
    at: NOW - atAgoMs,
    retryAfterMs,
  },
});

const cases: Case[] = [
  {
    name: 'creates a desired container that does not exist once its image is ready',
    desired: [container('a')],
    observed: [],
    images: { a: ready() },
    actions: [{ type: 'create', uid: 'a' }],
    status: { a: { phase: 'Creating', reason: 'ContainerCreating' } },
  },
  {
    name: 'Always (an image without tag): ensures the image before creating, reporting Pulling',
    desired: [container('a')],
    observed: [],
    actions: [{ type: 'ensureImage', uid: 'a', image: 'img', policy: 'Always' }],
    status: { a: { phase: 'Pending', reason: 'Pulling', message: 'pulling image "img"', imagePull: { image: 'img', downloadedBytes: '0', totalBytes: '0' } } },
  },
  {
    name: 'IfNotPresent (a tagged image): checks the image before creating, reporting ContainerCreating, not Pulling',
    desired: [container('a', { image: 'reg/app:1' })],
    observed: [],
    actions: [{ type: 'ensureImage', uid: 'a', image: 'reg/app:1', policy: 'IfNotPresent' }],
    status: { a: { phase: 'Creating', reason: 'ContainerCreating' } },
  },
  {
    name: 'Never: the image step checks presence only (the policy travels with the action)',
    desired: [container('a', { image: 'reg/app:1', imagePullPolicy: 'Never' })],
    observed: [],
    actions: [{ type: 'ensureImage', uid: 'a', policy: 'Never' }],
  },
  {
    name: 'a ready image of another (earlier) spec image does not count: the new image is ensured',
    desired: [container('a', { image: 'reg/app:2' })],
    observed: [],
    images: { a: ready('reg/app:1') },
    actions: [{ type: 'ensureImage', image: 'reg/app:2' }],
  },
  {
    name: 'while the pull is in flight: no action, Pending/Pulling with the bytes so far',
    desired: [container('a', { image: 'reg/app:1' })],
    observed: [],
    images: { a: { image: 'reg/app:1', pulling: { downloadedBytes: 1_500, totalBytes: 3_000 } } },
    actions: [],
    status: {
      a: {
        phase: 'Pending',
        reason: 'Pulling',
        message: 'pulling image "reg/app:1"',
        imagePull: { image: 'reg/app:1', downloadedBytes: '1500', totalBytes: '3000' },
        conditions: [expect.objectContaining({ type: 'Ready', status: 'False', reason: 'Pulling' })],
      },
    },
  },
  {
    name: 'right after a failed pull: ErrImagePull with the registry message, no action, requeue to show the back-off',
    desired: [container('a', { image: 'reg/app:1' })],
    observed: [],
    memory: { a: pullFailure(1_000) },
    actions: [],
    requeueAfterMs: ERR_IMAGE_PULL_SHOWN_MS - 1_000,
    status: { a: { phase: 'Pending', reason: 'ErrImagePull', message: 'failed to pull image "reg/app:1": unauthorized: authentication required' } },
  },
  {
    name: 'later in the back-off: ImagePullBackOff naming the image and the registry message',
    desired: [container('a', { image: 'reg/app:1' })],
    observed: [],
    memory: { a: pullFailure(ERR_IMAGE_PULL_SHOWN_MS + 1_000) },
    actions: [],
    requeueAfterMs: RESTART_BACKOFF_INITIAL_MS - ERR_IMAGE_PULL_SHOWN_MS - 1_000,
    status: { a: { phase: 'Pending', reason: 'ImagePullBackOff', message: 'Back-off pulling image "reg/app:1": unauthorized: authentication required' } },
  },
  {
    name: 'after the back-off, the pull is tried again (the failure stays until its result)',
    desired: [container('a', { image: 'reg/app:1' })],
    observed: [],
    memory: { a: pullFailure(RESTART_BACKOFF_INITIAL_MS + 1) },
    actions: [{ type: 'ensureImage', image: 'reg/app:1', policy: 'IfNotPresent' }],
    status: { a: { phase: 'Pending', reason: 'ImagePullBackOff' } },
  },
  {
    name: 'after the back-off under Always, the retry shows Pulling',
    desired: [container('a', { image: 'reg/app:latest' })],
    observed: [],
    memory: { a: pullFailure(RESTART_BACKOFF_INITIAL_MS + 1) },
    actions: [{ type: 'ensureImage', policy: 'Always' }],
    status: { a: { phase: 'Pending', reason: 'Pulling' } },
  },
  {
    name: 'a missing image under Never is Pending with ErrImageNeverPull, not retried during its back-off',
    desired: [container('a', { image: 'reg/app:1', imagePullPolicy: 'Never' })],
    observed: [],
    memory: {
      a: {
        restartCount: 0,
        backoffMs: RESTART_BACKOFF_INITIAL_MS,
        failure: { reason: 'ErrImageNeverPull', message: 'Container image "reg/app:1" is not present with pull policy of Never', at: NOW - 2_000, retryAfterMs: 10_000 },
      },
    },
    actions: [],
    requeueAfterMs: 8_000,
    status: { a: { phase: 'Pending', reason: 'ErrImageNeverPull', message: 'Container image "reg/app:1" is not present with pull policy of Never' } },
  },
  {
    name: 'recreate: pulls the new image first, leaving the old container running',
    desired: [container('a', { image: 'reg/app:2' })],
    observed: [observed('a', { spec: { image: 'reg/app:1' }, image: 'reg/app:1' })],
    actions: [{ type: 'ensureImage', uid: 'a', image: 'reg/app:2', policy: 'IfNotPresent' }],
    status: { a: { phase: 'Creating', reason: 'SpecChanged', containerId: 'id-a' } },
  },
  {
    name: 'recreate: while the new image is pulled the old container runs on and stays Ready',
    desired: [container('a', { image: 'reg/app:2' })],
    observed: [observed('a', { spec: { image: 'reg/app:1' }, image: 'reg/app:1' })],
    images: { a: { image: 'reg/app:2', pulling: { downloadedBytes: 10, totalBytes: 20 } } },
    actions: [],
    status: {
      a: {
        phase: 'Running',
        reason: 'Pulling',
        containerId: 'id-a',
        imagePull: { image: 'reg/app:2', downloadedBytes: '10', totalBytes: '20' },
        conditions: [expect.objectContaining({ type: 'Ready', status: 'True' })],
      },
    },
  },
  {
    name: 'recreate: a failed pull of the new image leaves the old container running and reports the error',
    desired: [container('a', { image: 'reg/app:1' })],
    observed: [observed('a', { spec: { image: 'reg/app:0' }, image: 'reg/app:0' })],
    memory: { a: pullFailure(1_000) },
    actions: [],
    status: { a: { phase: 'Running', reason: 'ErrImagePull', containerId: 'id-a' } },
  },
  {
    name: 'recreate: a failed pull of an earlier image neither blocks nor shows once the spec names another',
    desired: [container('a', { image: 'reg/app:2' })],
    observed: [observed('a', { spec: { image: 'reg/app:0' }, image: 'reg/app:0' })],
    memory: { a: pullFailure(1_000) },
    actions: [{ type: 'ensureImage', image: 'reg/app:2' }],
    status: { a: { phase: 'Creating', reason: 'SpecChanged' } },
  },
  {
    name: 'recreate: once the new image is ready the container is replaced',
    desired: [container('a', { image: 'reg/app:2' })],
    observed: [observed('a', { spec: { image: 'reg/app:1' }, image: 'reg/app:1' })],
    images: { a: ready('reg/app:2') },
    actions: [{ type: 'recreate', uid: 'a', id: 'id-a' }],
  },
  {
    name: 'status.imageId is the repo digest of the repository the container names',
    desired: [container('a', { image: '127.0.0.1:5000/private/busybox:v1' })],
    observed: [observed('a', { spec: { image: '127.0.0.1:5000/private/busybox:v1' }, image: '127.0.0.1:5000/private/busybox:v1', imageId: 'sha256:aaa' })],
    repoDigests: { 'sha256:aaa': ['127.0.0.1:5001/other@sha256:111', '127.0.0.1:5000/private/busybox@sha256:222'] },
    actions: [],
    status: { a: { phase: 'Running', imageId: '127.0.0.1:5000/private/busybox@sha256:222' } },
  },
  {
    name: 'status.containerIp is the running container\'s network address',
    desired: [container('a')],
    observed: [observed('a', { ipAddress: '172.17.0.5' })],
    actions: [],
    status: { a: { phase: 'Running', containerIp: '172.17.0.5' } },
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
    images: { new: ready() },
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
    images: { a: ready() },
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
    name: 'an image gone between pull and create (ImageNotPresent) is tried again once its back-off is over',
    desired: [container('a')],
    observed: [],
    images: { a: ready() },
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
      images: new Map(Object.entries(c.images ?? {})),
      repoDigests: new Map(Object.entries(c.repoDigests ?? {})),
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
    reconcileUid({ node: NODE, uid, desired, observed: obs, image: { image: 'img', ready: true }, now: NOW });

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

describe('runningImageId', () => {
  it.each([
    ['the digest of the named repository', '127.0.0.1:5000/private/busybox:v1', 'sha256:aaa', ['127.0.0.1:5000/private/busybox@sha256:222'], '127.0.0.1:5000/private/busybox@sha256:222'],
    ['Docker Hub short names match their library repository', 'nginx:1.27', 'sha256:aaa', ['nginx@sha256:333'], 'nginx@sha256:333'],
    ['the image id when no digest is of that repository (built or loaded locally)', 'persys/busybox:test', 'sha256:aaa', ['other/repo@sha256:1'], 'sha256:aaa'],
    ['the image id without any digest', 'persys/busybox:test', 'sha256:aaa', undefined, 'sha256:aaa'],
    ['nothing without an image id', 'x', undefined, undefined, undefined],
  ] as const)('%s', (_name, ref, id, digests, want) => {
    expect(runningImageId(ref, id, digests)).toBe(want);
  });
});

describe('portStatuses', () => {
  const b = (containerPort: number, hostPort: number, hostIp = '0.0.0.0', protocol = 'TCP') => ({ containerPort, hostPort, hostIp, protocol });
  it.each<[string, Record<string, unknown>[], ReturnType<typeof b>[], unknown[]]>([
    ['nothing for ports that are only exposed', [{ containerPort: 80 }], [], []],
    ['the port Docker picked, IPv4 over IPv6', [{ name: 'http', containerPort: 80, publish: true }], [b(80, 32771, '::'), b(80, 32771)], [{ name: 'http', containerPort: 80, protocol: 'TCP', hostPort: 32771, hostIp: '0.0.0.0' }]],
    ['a fixed port as is', [{ containerPort: 53, hostPort: 5353, protocol: 'UDP' }], [b(53, 5353, '0.0.0.0', 'UDP')], [{ containerPort: 53, protocol: 'UDP', hostPort: 5353, hostIp: '0.0.0.0' }]],
    [
      'a picked and a fixed port of one container port told apart',
      [{ name: 'fixed', containerPort: 80, hostPort: 8080 }, { name: 'picked', containerPort: 80, publish: true }],
      [b(80, 8080), b(80, 32768)],
      [
        { name: 'fixed', containerPort: 80, protocol: 'TCP', hostPort: 8080, hostIp: '0.0.0.0' },
        { name: 'picked', containerPort: 80, protocol: 'TCP', hostPort: 32768, hostIp: '0.0.0.0' },
      ],
    ],
    ['nothing while the container is stopped (no bindings)', [{ containerPort: 80, publish: true }], [], []],
  ])('%s', (_name, ports, bound, want) => {
    expect(portStatuses(container('a', { ports }), bound)).toEqual(want);
  });

  it('reports the bound ports in the status of a running container', () => {
    const ports = [{ name: 'http', containerPort: 80, publish: true }];
    const r = reconcileUid({
      node: NODE,
      uid: 'a',
      desired: container('a', { ports }),
      observed: [observed('a', { spec: { ports }, ports: [b(80, 40000)] })],
      image: { image: 'img', ready: true },
      now: NOW,
    });
    expect(r.actions).toEqual([]);
    expect(r.status?.ports).toEqual([{ name: 'http', containerPort: 80, protocol: 'TCP', hostPort: 40000, hostIp: '0.0.0.0' }]);
  });
});
