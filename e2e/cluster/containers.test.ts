// A Container applied by a user runs on the right node of a two-node cluster of real processes (two
// Docker engines, two agents, the controllers, an API server, etcd), and survives crashes of each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import type { Resource } from '../../lib/api/resource.js';
import { ensureDocker, removeNamespaceContainers, startSecondDocker } from '../harness/docker.js';
import { eventually, TestCluster } from '../harness/cluster.js';

let cluster: TestCluster;
let hostDocker: Dockerode;
let second: Awaited<ReturnType<typeof startSecondDocker>>;
const engines = (): Record<string, Dockerode> => ({ 'node-a': hostDocker, 'node-b': second.docker });

beforeAll(async () => {
  hostDocker = await ensureDocker();
  second = await startSecondDocker('pe2e');
  cluster = await TestCluster.start({
    agents: [
      { name: 'node-a', dockerHost: 'unix:///var/run/docker.sock', labels: { zone: 'a' } },
      { name: 'node-b', dockerHost: `unix://${second.socket}`, labels: { zone: 'b' } },
    ],
  });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: 'e2e' } });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await removeNamespaceContainers([hostDocker, second?.docker], 'e2e');
  await second?.stop();
}, 120_000);

const container = (name: string, spec: Record<string, unknown>): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'e2e' },
  spec: { image: 'persys/busybox:test', command: ['sh', '-c', `echo hello-from-${name}; exec sleep 3600`], ...spec },
});

/** Docker containers persys runs for `name`, on every engine. */
async function dockerCopies(name: string): Promise<{ node: string; state: string }[]> {
  const out: { node: string; state: string }[] = [];
  for (const [node, docker] of Object.entries(engines())) {
    const list = await docker.listContainers({ all: true, filters: { label: [`dev.persys.name=${name}`, 'dev.persys.namespace=e2e'] } });
    out.push(...list.map((c) => ({ node, state: c.State })));
  }
  return out;
}

const phaseOf = (name: string) => cluster.client.get('Container', name, 'e2e').then((c) => c.status?.phase as string | undefined);

async function waitRunning(name: string, timeoutMs = 60_000): Promise<Resource> {
  return eventually(`${name} to run`, () => cluster.client.get('Container', name, 'e2e'), (c) => c.status?.phase === 'Running', timeoutMs);
}

describe('containers on a two-node cluster', () => {
  it('runs an applied Container on the node its nodeSelector picks, streams its logs, execs in it, and removes it on delete', async () => {
    await cluster.client.apply(container('sel-b', { nodeSelector: { zone: 'b' } }));
    const running = await waitRunning('sel-b');
    expect(running.spec.nodeName).toBe('node-b');
    expect(running.status.containerId).toBeTruthy();
    expect(await dockerCopies('sel-b')).toEqual([{ node: 'node-b', state: 'running' }]);

    const logs = await cluster.persys(['logs', 'container/sel-b', '-n', 'e2e']);
    expect(logs.stdout).toContain('hello-from-sel-b');
    const exec = await cluster.persys(['exec', 'container/sel-b', '-n', 'e2e', '--', 'sh', '-c', 'echo exec-ok; exit 3']);
    expect(exec.stdout).toContain('exec-ok');
    expect(exec.code).toBe(3);

    await cluster.client.delete('Container', 'sel-b', 'e2e');
    await eventually('sel-b to leave Docker', () => dockerCopies('sel-b'), (c) => c.length === 0);
  });

  it('refuses to place a container that fits no node and says why', async () => {
    await cluster.client.apply(container('too-big', { resources: { requests: { memory: '900Ti' } } }));
    const c = await eventually(
      'too-big to be unschedulable',
      () => cluster.client.get('Container', 'too-big', 'e2e'),
      (o) => (o.status?.conditions ?? []).some((x: { type: string; status: string }) => x.type === 'Scheduled' && x.status === 'False'),
    );
    const cond = c.status.conditions.find((x: { type: string }) => x.type === 'Scheduled');
    expect(cond.message).toMatch(/0\/2 nodes are available: 2 insufficient memory/);
    expect(c.spec.nodeName ?? '').toBe('');
    expect(await dockerCopies('too-big')).toEqual([]);
    await cluster.client.delete('Container', 'too-big', 'e2e');
  });

  it('never puts two containers publishing the same host port on one node', async () => {
    await cluster.client.apply(container('port-1', { ports: [{ containerPort: 80, hostPort: 18080 }] }));
    await cluster.client.apply(container('port-2', { ports: [{ containerPort: 80, hostPort: 18080 }] }));
    const [a, b] = [await waitRunning('port-1'), await waitRunning('port-2')];
    expect(new Set([a.spec.nodeName, b.spec.nodeName]).size).toBe(2);
    await cluster.client.delete('Container', 'port-1', 'e2e');
    await cluster.client.delete('Container', 'port-2', 'e2e');
  });

  it('after kill -9 of an agent mid-create, exactly the desired containers exist, none twice', async () => {
    const names = ['crash-a1', 'crash-a2', 'crash-a3', 'crash-a4'];
    const agent = cluster.agents.get('node-a')!;
    await Promise.all(names.map((n) => cluster.client.apply(container(n, { nodeSelector: { zone: 'a' } }))));
    // Kill as soon as the first copy shows up in Docker: the agent is in the middle of its work.
    await eventually('a first copy on node-a', async () => (await Promise.all(names.map(dockerCopies))).flat().length, (n) => n > 0, 30_000, 20);
    await agent.kill();
    agent.start();
    for (const n of names) await waitRunning(n);
    for (const n of names) expect(await dockerCopies(n)).toEqual([{ node: 'node-a', state: 'running' }]);
    await Promise.all(names.map((n) => cluster.client.delete('Container', n, 'e2e')));
    for (const n of names) await eventually(`${n} to leave Docker`, () => dockerCopies(n), (c) => c.length === 0);
  });

  it('after kill -9 of the controllers mid-schedule, every container is bound once and runs once', async () => {
    const names = ['sched-1', 'sched-2', 'sched-3', 'sched-4', 'sched-5', 'sched-6'];
    const applying = Promise.all(names.map((n) => cluster.client.apply(container(n, {}))));
    await new Promise((r) => setTimeout(r, 50));
    await cluster.controllers.kill();
    await applying;
    cluster.controllers.start();
    for (const n of names) await waitRunning(n, 90_000);
    for (const n of names) {
      const copies = await dockerCopies(n);
      expect(copies).toHaveLength(1);
      expect((await cluster.client.get('Container', n, 'e2e')).spec.nodeName).toBe(copies[0]!.node);
    }
    await Promise.all(names.map((n) => cluster.client.delete('Container', n, 'e2e')));
    for (const n of names) await eventually(`${n} to leave Docker`, () => dockerCopies(n), (c) => c.length === 0);
  });

  it('after kill -9 of the API server, agents reconnect and keep converging; running containers were never touched', async () => {
    await cluster.client.apply(container('survivor', { nodeSelector: { zone: 'a' } }));
    const before = await waitRunning('survivor');
    await cluster.apiserver.kill();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await dockerCopies('survivor')).toEqual([{ node: 'node-a', state: 'running' }]);
    await cluster.startApiServer();
    await cluster.client.apply(container('after-restart', { nodeSelector: { zone: 'b' } }));
    await waitRunning('after-restart');
    const after = await cluster.client.get('Container', 'survivor', 'e2e');
    expect(after.status.containerId).toBe(before.status.containerId);
    expect(await dockerCopies('survivor')).toEqual([{ node: 'node-a', state: 'running' }]);
    expect(await phaseOf('after-restart')).toBe('Running');
    await cluster.client.delete('Container', 'survivor', 'e2e');
    await cluster.client.delete('Container', 'after-restart', 'e2e');
  });

  it('shows nodes with their live usage in get nodes -o wide, and top', async () => {
    const wide = await eventually('usage in get nodes -o wide', () => cluster.persys(['get', 'nodes', '-o', 'wide']), (r) => /node-a\s+Ready.*\d+%/.test(r.stdout));
    expect(wide.stdout).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+CPU%\s+MEMORY/);
    const top = await cluster.persys(['top', 'nodes']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('node-b');
  });

  it('the node certificate of an agent cannot act as an admin', async () => {
    const { ApiClient } = await import('../../lib/client/client.js');
    const dir = `${cluster.dir}/agents/node-a`;
    const nodeClient = new ApiClient({
      server: `127.0.0.1:${cluster.apiPort}`,
      caCert: `${dir}/ca.crt`,
      clientCert: `${dir}/node.crt`,
      clientKey: `${dir}/node.key`,
      namespace: 'default',
    });
    try {
      const err = await nodeClient.list('Container').then(
        () => undefined,
        (e: { code?: number }) => e,
      );
      expect(err?.code).toBe(7); // PERMISSION_DENIED
    } finally {
      nodeClient.close();
    }
  });
});

describe('a Docker engine that goes away', () => {
  const dockerReady = (n: Resource) =>
    (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'DockerReady')?.status as string | undefined;

  it('turns the node DockerReady=False while the engine is down, and reconciles its containers when it is back', async () => {
    await cluster.client.apply(container('engine-b', { nodeSelector: { zone: 'b' } }));
    await waitRunning('engine-b');
    await second.stopEngine();
    try {
      await eventually('node-b DockerReady=False', () => cluster.client.get('Node', 'node-b'), (n) => dockerReady(n) === 'False', 90_000);
    } finally {
      await second.startEngine();
    }
    await eventually('node-b DockerReady=True', () => cluster.client.get('Node', 'node-b'), (n) => dockerReady(n) === 'True', 90_000);
    await eventually('engine-b running again', () => dockerCopies('engine-b'), (c) => c.length === 1 && c[0]!.state === 'running', 90_000);
    expect(await phaseOf('engine-b')).toBe('Running');
    await cluster.client.delete('Container', 'engine-b', 'e2e');
    await eventually('engine-b to leave Docker', () => dockerCopies('engine-b'), (c) => c.length === 0);
  }, 300_000);
});

describe('etcd that crashes', () => {
  it('after kill -9 of etcd the cluster recovers when etcd is back: nothing lost, nothing doubled', async () => {
    await cluster.client.apply(container('etcd-a', { nodeSelector: { zone: 'a' } }));
    const before = await waitRunning('etcd-a');
    await cluster.etcd.kill();
    await new Promise((r) => setTimeout(r, 2_000));
    // Agents keep what runs while the control plane is gone.
    expect(await dockerCopies('etcd-a')).toEqual([{ node: 'node-a', state: 'running' }]);
    await cluster.etcd.restart();
    await eventually('the API to accept writes again', () => cluster.client.apply(container('etcd-b', { nodeSelector: { zone: 'b' } })), () => true, 60_000);
    await waitRunning('etcd-b', 90_000);
    expect((await cluster.client.get('Container', 'etcd-a', 'e2e')).status.containerId).toBe(before.status.containerId);
    expect(await dockerCopies('etcd-a')).toEqual([{ node: 'node-a', state: 'running' }]);
    expect(await dockerCopies('etcd-b')).toEqual([{ node: 'node-b', state: 'running' }]);
    await cluster.client.delete('Container', 'etcd-a', 'e2e');
    await cluster.client.delete('Container', 'etcd-b', 'e2e');
    for (const n of ['etcd-a', 'etcd-b']) await eventually(`${n} to leave Docker`, () => dockerCopies(n), (c) => c.length === 0);
  }, 240_000);
});

describe('ContainerSets on real engines', () => {
  const owned = async (set: string) =>
    (await cluster.client.list('Container', { namespace: 'e2e', labelSelector: `set=${set}` })).items;

  it('runs the replicas of a ContainerSet across the nodes and removes them from Docker when scaled down', async () => {
    await cluster.client.apply({
      apiVersion: 'persys.dev/v1',
      kind: 'ContainerSet',
      metadata: { name: 'web-set', namespace: 'e2e' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { set: 'web-set' } },
        template: {
          metadata: { labels: { set: 'web-set' } },
          spec: { image: 'persys/busybox:test', command: ['sh', '-c', 'exec sleep 3600'] },
        },
      },
    });
    const running = await eventually('3 replicas Running', () => owned('web-set'), (cs) => cs.length === 3 && cs.every((c) => c.status?.phase === 'Running'), 90_000);
    const copies = (await Promise.all(running.map((c) => dockerCopies(c.metadata.name!)))).flat();
    expect(copies).toHaveLength(3);
    expect(copies.every((c) => c.state === 'running')).toBe(true);
    const set = await eventually('readyReplicas 3', () => cluster.client.get('ContainerSet', 'web-set', 'e2e'), (s) => s.status?.readyReplicas === 3);
    await cluster.client.update({ ...set, spec: { ...set.spec, replicas: 1 } });
    await eventually('1 replica left', () => owned('web-set'), (cs) => cs.length === 1, 60_000);
    await eventually(
      'Docker down to 1 copy',
      async () => (await Promise.all(running.map((c) => dockerCopies(c.metadata.name!)))).flat(),
      (c) => c.length === 1,
      60_000,
    );
    await cluster.client.delete('ContainerSet', 'web-set', 'e2e');
    await eventually('the set and its containers gone', () => owned('web-set'), (cs) => cs.length === 0, 60_000);
  }, 240_000);
});
