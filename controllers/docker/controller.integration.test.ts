// The docker controller's scheduler against a real API server (no Docker needed): Nodes are created
// by hand, Containers get bound, reported and retried; leader election keeps two copies from both binding.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ApiClient } from '../../lib/client/client.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { runControllers, type RunControllersOptions, type RunningControllers } from '../runtime/manager.js';
import { newDockerController, type DockerControllerOptions } from './controller.js';
import { waitFor } from '../../e2e/harness/wait.js';

let api: TestApiServer;
const cleanups: (() => Promise<unknown> | void)[] = [];
beforeEach(async () => {
  // Nodes are cluster-wide: every test gets its own API server (and etcd prefix).
  api = await startTestApiServer(inject('etcdEndpoint'));
  cleanups.push(() => api.stop());
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface NodeOpts {
  cpu: string;
  memory: string;
  labels?: Record<string, string>;
  ready?: boolean;
}

async function putNode(name: string, o: NodeOpts): Promise<Resource> {
  let node: Resource;
  try {
    node = await api.client.get('Node', name);
    node = await api.client.update({ ...node, metadata: { ...node.metadata, labels: o.labels ?? {} } });
  } catch {
    node = await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name, labels: o.labels ?? {} }, spec: {} });
  }
  return api.client.updateStatus({
    ...node,
    status: {
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', reason: 'AgentReady' }],
      allocatable: { cpu: o.cpu, memory: o.memory },
      capacity: { cpu: o.cpu, memory: o.memory },
    },
  });
}

interface ContainerOpts {
  memory?: string;
  cpu?: string;
  hostPort?: number;
  nodeSelector?: Record<string, string>;
  labels?: Record<string, string>;
}

function container(name: string, o: ContainerOpts = {}): Resource {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace: 'default', labels: o.labels ?? {} },
    spec: {
      image: 'persys/busybox:test',
      ...(Object.keys(requests).length ? { resources: { requests } } : {}),
      ...(o.hostPort ? { ports: [{ containerPort: 80, hostPort: o.hostPort }] } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
    },
  };
}

async function startScheduler(
  opts: Partial<DockerControllerOptions> & { leaderElection?: RunControllersOptions['leaderElection']; client?: ApiClient } = {},
): Promise<RunningControllers> {
  const registry = new Registry();
  const client = opts.client ?? api.client;
  const docker = newDockerController({
    client,
    logger: silentLogger(),
    registry,
    informerDelay: (ms, signal) => sleep(Math.min(ms, 50), undefined, { signal }).catch(() => undefined),
    ...opts,
  });
  const running = await runControllers({ ...docker, registry, logger: silentLogger(), leaderElection: opts.leaderElection });
  cleanups.push(() => running.stop());
  return running;
}

const get = (name: string) => api.client.get('Container', name, 'default');
const nodeOf = async (name: string) => ((await get(name)).spec?.nodeName as string | undefined) || undefined;
const scheduledCondition = (c: Resource) => (c.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Scheduled');
const eventsAbout = async (name: string) =>
  (await api.client.list('Event', { namespace: 'default' })).items.filter((e) => (e['involvedObject'] as { name: string }).name === name);

describe('docker controller scheduler', () => {
  it('binds Containers to nodes that fit them, honours nodeSelector, and reports Scheduled', async () => {
    await putNode('n1', { cpu: '2', memory: '2Gi', labels: { zone: 'a' } });
    await putNode('n2', { cpu: '4', memory: '8Gi', labels: { zone: 'b' } });
    await putNode('n3', { cpu: '4', memory: '4Gi', labels: { disk: 'ssd' } });
    await startScheduler();

    await api.client.create(container('on-ssd', { nodeSelector: { disk: 'ssd' } }));
    await api.client.create(container('big', { memory: '6Gi' }));
    await api.client.create(container('in-zone-a', { cpu: '500m', nodeSelector: { zone: 'a' } }));
    expect(await waitFor(() => nodeOf('on-ssd'), 'on-ssd bound')).toBe('n3');
    expect(await waitFor(() => nodeOf('big'), 'big bound')).toBe('n2');
    expect(await waitFor(() => nodeOf('in-zone-a'), 'in-zone-a bound')).toBe('n1');

    const big = await waitFor(async () => {
      const c = await get('big');
      return c.status?.phase === 'Scheduled' && c;
    }, 'big reported');
    expect(scheduledCondition(big)).toMatchObject({ status: 'True', reason: 'Scheduled' });
    const events = await waitFor(async () => {
      const e = await eventsAbout('big');
      return e.length > 0 && e;
    }, 'Scheduled event');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned default/big to n2', count: 1 });
  });

  it('reports an unschedulable Container with the reason and an Event, then binds it once a node changes', async () => {
    await putNode('n1', { cpu: '2', memory: '2Gi', ready: false });
    await putNode('n2', { cpu: '2', memory: '2Gi' });
    await putNode('n3', { cpu: '2', memory: '4Gi' });
    // A back-off this long means only the Node change can bring the retry.
    await startScheduler({ unschedulableInitialBackoffMs: 600_000 });

    await api.client.create(container('huge', { memory: '16Gi' }));
    const message = '0/3 nodes are available: 2 insufficient memory, 1 node(s) were not ready.';
    const pending = await waitFor(async () => {
      const c = await get('huge');
      return c.status?.phase === 'Pending' && c;
    }, 'huge reported Pending');
    expect(pending.spec.nodeName ?? '').toBe('');
    expect(scheduledCondition(pending)).toMatchObject({ status: 'False', reason: 'Unschedulable', message });
    const [event] = await waitFor(async () => {
      const e = await eventsAbout('huge');
      return e.length > 0 && e;
    }, 'FailedScheduling event');
    expect(event).toMatchObject({ type: 'Warning', reason: 'FailedScheduling', message, source: { component: 'docker-controller' } });

    await putNode('n1', { cpu: '8', memory: '32Gi' });
    expect(await waitFor(() => nodeOf('huge'), 'huge bound after the node grew')).toBe('n1');
    const scheduled = await waitFor(async () => {
      const c = await get('huge');
      return c.status?.phase === 'Scheduled' && c;
    }, 'huge reported Scheduled');
    expect(scheduledCondition(scheduled)).toMatchObject({ status: 'True' });
  });

  it('never puts two Containers with the same hostPort on one node, and reuses the port once one finishes', async () => {
    for (const n of ['n1', 'n2', 'n3']) await putNode(n, { cpu: '4', memory: '8Gi' });
    await startScheduler({ unschedulableInitialBackoffMs: 600_000 });

    const names = ['web-1', 'web-2', 'web-3', 'web-4'];
    await Promise.all(names.map((n) => api.client.create(container(n, { hostPort: 8080 }))));
    const settled = await waitFor(async () => {
      const all = await Promise.all(names.map(get));
      return all.every((c) => c.spec.nodeName || c.status?.phase === 'Pending') && all;
    }, 'every web container bound or pending');
    const bound = settled.filter((c) => c.spec.nodeName);
    expect(new Set(bound.map((c) => c.spec.nodeName)).size).toBe(3);
    expect(bound).toHaveLength(3);
    const [left] = settled.filter((c) => !c.spec.nodeName);
    expect(scheduledCondition(left!)).toMatchObject({
      status: 'False',
      message: '0/3 nodes are available: 3 node(s) had port 8080/TCP already in use.',
    });

    // A finished container holds no port: its node can take the one left over.
    const finished = await get(bound[0]!.metadata.name!);
    await api.client.updateStatus({ ...finished, status: { ...finished.status, phase: 'Failed', exitCode: 1 } });
    expect(await waitFor(() => nodeOf(left!.metadata.name!), 'the left-over container bound')).toBe(finished.spec.nodeName);
  });

  it("keeps Containers off a node where a ComposeStack publishes their port; a port Docker picks goes anywhere", async () => {
    for (const n of ['n1', 'n2']) await putNode(n, { cpu: '4', memory: '8Gi' });
    // A stack already placed on n1 (as the compose controller would have), publishing 8080.
    const compose = 'services:\n  web:\n    image: persys/busybox:test\n    ports: ["8080:80"]\n';
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'ComposeStack', metadata: { name: 'shop', namespace: 'default' }, spec: { compose, nodeName: 'n1' } });
    await startScheduler({ unschedulableInitialBackoffMs: 600_000 });

    await api.client.create(container('first', { hostPort: 8080 }));
    expect(await waitFor(() => nodeOf('first'), 'first bound')).toBe('n2');
    await api.client.create(container('second', { hostPort: 8080 }));
    const pending = await waitFor(async () => {
      const c = await get('second');
      return scheduledCondition(c)?.status === 'False' && c;
    }, 'second reported unschedulable');
    expect(pending.spec.nodeName ?? '').toBe('');
    expect(scheduledCondition(pending)).toMatchObject({
      reason: 'Unschedulable',
      message: '0/2 nodes are available: 2 node(s) had port 8080/TCP already in use.',
    });
    // Picked ports never collide: a Container publishing 8080 on hostPort 0 is bound at once.
    await api.client.create({ ...container('picked'), spec: { image: 'persys/busybox:test', ports: [{ containerPort: 8080, hostPort: 0, publish: true }] } });
    expect(await waitFor(() => nodeOf('picked'), 'picked bound')).toBeTruthy();
    // The API keeps the picked port an agent reports (what Service endpoints will read).
    const ports = [{ name: 'http', containerPort: 8080, protocol: 'TCP', hostPort: 32768, hostIp: '0.0.0.0' }];
    const picked = await waitFor(async () => {
      const c = await get('picked');
      return c.status?.phase === 'Scheduled' && c;
    }, 'picked reported Scheduled');
    await api.client.updateStatus({ ...picked, status: { ...picked.status, phase: 'Running', ports } });
    expect((await get('picked')).status.ports).toEqual(ports);

    // The stack leaving n1 frees its port there, well before the 10-minute back-off.
    await api.client.delete('ComposeStack', 'shop', 'default');
    expect(await waitFor(() => nodeOf('second'), 'second bound after the stack left')).toBe('n1');
  });

  it('with two leader-elected copies, binds each Container exactly once, across a hand-over', async () => {
    for (const n of ['n1', 'n2', 'n3']) await putNode(n, { cpu: '16', memory: '64Gi' });
    const lease = `sched-${randomBytes(3).toString('hex')}`;
    const copies: RunningControllers[] = [];
    for (const identity of ['one', 'two']) {
      const client = new ApiClient(api.config);
      cleanups.push(() => client.close());
      copies.push(
        await startScheduler({
          client,
          leaderElection: { client, namespace: 'default', name: lease, identity, leaseDurationMs: 2_000, renewDeadlineMs: 1_000, retryPeriodMs: 100 },
        }),
      );
    }
    await waitFor(async () => copies.some((c) => c.isActive()), 'a leader');
    let mostActive = 0;
    const sampler = setInterval(() => (mostActive = Math.max(mostActive, copies.filter((c) => c.isActive()).length)), 5);
    cleanups.push(() => clearInterval(sampler));

    // Every change of spec.nodeName, as the server saw it.
    const rebinds = new Map<string, string[]>();
    const watching = new AbortController();
    cleanups.push(() => watching.abort());
    const { resourceVersion } = await api.client.list('Container', { namespace: 'default' });
    const watched = (async () => {
      const last = new Map<string, string>();
      for await (const ev of api.client.watch('Container', { namespace: 'default', resourceVersion, signal: watching.signal })) {
        const name = ev.object?.metadata.name;
        if (!name || ev.type === 'BOOKMARK') continue;
        const node = String(ev.object!.spec?.nodeName ?? '');
        if (node !== (last.get(name) ?? '')) rebinds.set(name, [...(rebinds.get(name) ?? []), node]);
        last.set(name, node);
      }
    })();

    const names = Array.from({ length: 20 }, (_, i) => `job-${i}`);
    for (const n of names.slice(0, 10)) await api.client.create(container(n, { cpu: '100m', memory: '64Mi', labels: { app: 'job' } }));
    await waitFor(async () => (await nodeOf('job-0')) !== undefined, 'the first binds');
    // Hand leadership over while Containers are still arriving.
    const leader = copies.findIndex((c) => c.isActive());
    await copies[leader]!.stop();
    await Promise.all(names.slice(10).map((n) => api.client.create(container(n, { cpu: '100m', memory: '64Mi', labels: { app: 'job' } }))));
    await waitFor(async () => copies[1 - leader]!.isActive(), 'the other copy leads');
    await waitFor(async () => (await Promise.all(names.map(nodeOf))).every(Boolean), 'all 20 bound');
    await sleep(300);
    watching.abort();
    await watched;
    expect(mostActive).toBe(1);

    for (const n of names) {
      expect(rebinds.get(n), n).toHaveLength(1);
      const c = await get(n);
      // Created at generation 1; one bind is the only spec change.
      expect(c.metadata.generation, n).toBe(2);
      const scheduled = (await eventsAbout(n)).filter((e) => e['reason'] === 'Scheduled');
      expect(scheduled.map((e) => e['count']), n).toEqual([1]);
    }
    // Spread: replicas with the same labels went to all three nodes.
    const placed = await Promise.all(names.map(nodeOf));
    expect(new Set(placed).size).toBe(3);
  });
});
