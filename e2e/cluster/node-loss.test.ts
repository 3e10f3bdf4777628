// Node loss on a two-node cluster of real processes: a lost node goes NotReady, its ContainerSet replicas
// are replaced on the healthy node, and when it is back its agent removes the stale copies (issue 4, item 3).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { eventually, TestCluster } from '../harness/cluster.js';
import { removeNamespaceContainers, startSecondDocker, type SecondDocker } from '../harness/docker.js';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/persys.js');
const NS = 'nodeloss';
const HEALTHY = 'node-1';
const LOST = 'node-2';
// Short node timeouts (issue 4: "short timeouts in tests"); heartbeats come every second.
const CONTROLLER_ARGS = ['--node-monitor-grace-period', '4s', '--node-eviction-timeout', '4s'];

let cluster: TestCluster;
let one: SecondDocker;
let two: SecondDocker;
const engines = (): [string, Dockerode][] => [
  [HEALTHY, one.docker],
  [LOST, two.docker],
];
/** Processes and servers test 2 starts outside the harness, stopped in afterAll whatever happened. */
const teardown: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  one = await startSecondDocker('pnl1');
  two = await startSecondDocker('pnl2');
  cluster = await TestCluster.start({
    agents: [
      { name: HEALTHY, dockerHost: `unix://${one.socket}`, labels: { zone: 'one' } },
      { name: LOST, dockerHost: `unix://${two.socket}`, labels: { zone: 'two' } },
    ],
    controllerArgs: CONTROLLER_ARGS,
  });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
}, 240_000);

afterAll(async () => {
  for (const t of teardown.splice(0).reverse()) await t().catch(() => undefined);
  await cluster?.stop();
  await removeNamespaceContainers([one?.docker, two?.docker], NS);
  await one?.stop();
  await two?.stop();
}, 180_000);

interface Copy {
  node: string;
  uid: string;
  name: string;
  state: string;
}

/** Containers persys made in Docker for Containers whose name starts with `prefix`, on both engines. */
async function dockerCopies(prefix: string, opts: { running?: boolean } = {}): Promise<Copy[]> {
  const out: Copy[] = [];
  for (const [node, docker] of engines()) {
    const list = await docker.listContainers({
      all: !opts.running,
      filters: { label: [`dev.persys.namespace=${NS}`] },
    });
    for (const c of list) {
      const name = c.Labels['dev.persys.name'] ?? '';
      if (name.startsWith(prefix)) out.push({ node, uid: c.Labels['dev.persys.uid'] ?? '', name, state: c.State });
    }
  }
  return out;
}

/**
 * Counts running copies of a set's replicas straight from Docker, over and over, until stopped: the
 * "never two copies of a replica" check must see every moment it can, not only the end state.
 */
function sampleRunningCopies(prefix: string): { samples: number[]; stop(): Promise<number[]> } {
  const samples: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      samples.push((await dockerCopies(prefix, { running: true })).length);
      await sleep(100);
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

const readyOf = (n: Resource) => (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready') as
  | { status: string; reason?: string }
  | undefined;

const owned = async (set: string) => (await cluster.client.list('Container', { namespace: NS, labelSelector: `set=${set}` })).items;

interface EventAbout {
  reason: string;
  involvedObject: { name: string; uid: string };
}

async function events(reason: string): Promise<EventAbout[]> {
  const all = (await cluster.client.list('Event', { namespace: NS })).items as unknown as EventAbout[];
  return all.filter((e) => e.reason === reason);
}

function containerSet(name: string, replicas: number): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { set: name } },
      template: {
        metadata: { labels: { set: name } },
        spec: { image: 'persys/busybox:test', command: ['sh', '-c', 'exec sleep 3600'] },
      },
    },
  };
}

/** Applies a set of 4 and waits until its replicas run on both nodes; returns those on LOST. */
async function fourReplicasOnBothNodes(set: string): Promise<Resource[]> {
  await cluster.client.apply(containerSet(set, 4));
  const running = await eventually(
    `4 replicas of ${set} Running`,
    () => owned(set),
    (cs) => cs.length === 4 && cs.every((c) => c.status?.phase === 'Running'),
    90_000,
  );
  const onLost = running.filter((c) => c.spec.nodeName === LOST);
  // The scheduler spreads replicas of one set; a set entirely on one node would test nothing here.
  expect(onLost.length, `replicas per node: ${running.map((c) => c.spec.nodeName).join(',')}`).toBeGreaterThan(0);
  expect(onLost.length).toBeLessThan(4);
  const copies = await dockerCopies(`${set}-`, { running: true });
  expect(copies.filter((c) => c.node === LOST).map((c) => c.uid).sort()).toEqual(onLost.map((c) => c.metadata.uid).sort());
  return onLost;
}

/**
 * With LOST cut off: Ready=Unknown after the grace period, its replicas Unknown then evicted and
 * replaced on HEALTHY (in the API and in HEALTHY's Docker), while the stale copies still run on LOST.
 */
async function expectNotReadyAndReplaced(set: string, lost: Resource[]): Promise<void> {
  const lostUids = new Set(lost.map((c) => c.metadata.uid!));
  // Phases the lost replicas go through, seen by polling until they are gone.
  const phasesSeen = new Set<string>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const c of await owned(set).catch(() => [])) if (lostUids.has(c.metadata.uid!)) phasesSeen.add(String(c.status?.phase));
      await sleep(100);
    }
  })();
  try {
    const node = await eventually(`${LOST} Ready=Unknown`, () => cluster.client.get('Node', LOST), (n) => readyOf(n)?.status === 'Unknown', 60_000, 100);
    expect(readyOf(node)?.reason).toBe('NodeStatusUnknown');
    const replaced = await eventually(
      `the replicas of ${set} replaced on ${HEALTHY}`,
      () => owned(set),
      (cs) => cs.length === 4 && cs.every((c) => c.status?.phase === 'Running' && c.spec.nodeName === HEALTHY && !lostUids.has(c.metadata.uid!)),
      90_000,
    );
    const onHealthy = (await dockerCopies(`${set}-`, { running: true })).filter((c) => c.node === HEALTHY);
    expect(onHealthy.map((c) => c.uid).sort()).toEqual(replaced.map((c) => c.metadata.uid).sort());
  } finally {
    watching = false;
    await watcher;
  }
  // The node controller deletes them after the eviction timeout (rate-limited, never under full
  // disruption); the set must not replace them on its own as soon as they turn Unknown.
  const evictions = await events('EvictingContainer');
  for (const uid of lostUids) {
    expect(evictions.some((e) => e.involvedObject?.uid === uid), `no EvictingContainer Event for lost replica ${uid}: replaced before eviction`).toBe(true);
  }
  expect(phasesSeen.has('Unknown'), `phases the lost replicas were seen in: ${[...phasesSeen].join(',')}`).toBe(true);
  // Nobody told LOST's engine yet: what it ran keeps running. This is what the agent must clean up.
  const stale = (await dockerCopies(`${set}-`)).filter((c) => c.node === LOST);
  expect(stale.map((c) => c.uid).sort()).toEqual([...lostUids].sort());
  expect(stale.every((c) => c.state === 'running')).toBe(true);
}

/**
 * Heals LOST (the callback) while sampling Docker: the stale copies go, never more than 4 run once
 * they are gone, and the end state is exactly the 4 replicas the API has.
 */
async function expectHealWithoutDuplicates(set: string, lostUids: string[], heal: () => Promise<void> | void): Promise<void> {
  const sampler = sampleRunningCopies(`${set}-`);
  let healedAt = -1;
  try {
    await heal();
    await eventually(`${LOST} Ready=True again`, () => cluster.client.get('Node', LOST), (n) => readyOf(n)?.status === 'True', 120_000);
    await eventually(
      `the stale copies removed from ${LOST}'s engine`,
      () => dockerCopies(`${set}-`),
      (cs) => !cs.some((c) => lostUids.includes(c.uid)),
      120_000,
    );
    healedAt = sampler.samples.length;
    // Keep sampling a while after the heal: a resurrected copy or a surplus replica would show here.
    await sleep(5_000);
  } finally {
    await sampler.stop();
  }
  const samples = sampler.samples;
  expect(samples.length).toBeGreaterThan(healedAt + 10);
  // Before the heal, at most the 4 replicas plus the stale copies: the agent coming back starts nothing.
  expect(Math.max(...samples.slice(0, healedAt))).toBeLessThanOrEqual(4 + lostUids.length);
  expect(Math.max(...samples.slice(healedAt))).toBeLessThanOrEqual(4);
  expect(samples.at(-1)).toBe(4);
  const api = await owned(set);
  expect(api).toHaveLength(4);
  const copies = await dockerCopies(`${set}-`);
  expect(copies.map((c) => c.uid).sort()).toEqual(api.map((c) => c.metadata.uid).sort());
  expect(copies.every((c) => c.state === 'running' && c.node === HEALTHY)).toBe(true);
}

async function deleteSet(set: string): Promise<void> {
  await cluster.client.delete('ContainerSet', set, NS);
  await eventually(`${set} gone from Docker`, () => dockerCopies(`${set}-`), (cs) => cs.length === 0, 90_000);
}

describe('a node that is lost', () => {
  it('after kill -9 of an agent its set replicas move to the healthy node, its standalone Container stays, and on restart the stale copies are removed', async () => {
    const lost = await fourReplicasOnBothNodes('nl-web');
    await cluster.client.apply({
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: 'nl-solo', namespace: NS },
      spec: { image: 'persys/busybox:test', command: ['sh', '-c', 'exec sleep 3600'], nodeSelector: { zone: 'two' } },
    });
    const solo = await eventually('nl-solo Running', () => cluster.client.get('Container', 'nl-solo', NS), (c) => c.status?.phase === 'Running', 90_000);
    expect(solo.spec.nodeName).toBe(LOST);

    const agent = cluster.agents.get(LOST)!;
    await agent.kill();
    await expectNotReadyAndReplaced('nl-web', lost);

    // A Container nothing owns is reported, not moved.
    await eventually('a NodeNotReady Event for nl-solo', () => events('NodeNotReady'), (es) => es.some((e) => e.involvedObject?.name === 'nl-solo'), 60_000);
    const stranded = await cluster.client.get('Container', 'nl-solo', NS);
    expect(stranded.metadata.uid).toBe(solo.metadata.uid);
    expect(stranded.spec.nodeName).toBe(LOST);
    expect(stranded.status.phase).toBe('Unknown');
    expect((await dockerCopies('nl-solo')).map((c) => `${c.node}/${c.state}`)).toEqual([`${LOST}/running`]);

    await expectHealWithoutDuplicates(
      'nl-web',
      lost.map((c) => c.metadata.uid!),
      () => agent.start(),
    );
    const back = await eventually('nl-solo Running again', () => cluster.client.get('Container', 'nl-solo', NS), (c) => c.status?.phase === 'Running', 60_000);
    expect(back.spec.nodeName).toBe(LOST);
    expect(back.status.containerId).toBe(solo.status.containerId);
    expect((await dockerCopies('nl-solo')).map((c) => `${c.node}/${c.state}`)).toEqual([`${LOST}/running`]);

    await cluster.client.delete('Container', 'nl-solo', NS);
    await deleteSet('nl-web');
    await eventually('nl-solo gone from Docker', () => dockerCopies('nl-solo'), (cs) => cs.length === 0, 60_000);
  }, 420_000);

  it('an agent cut off by its network namespace: NotReady, replicas replaced elsewhere, and after the link is back the stale copies are removed', async () => {
    // Run LOST's agent inside pnl2's network namespace; it reaches the API server only over the veth.
    await cluster.agents.get(LOST)!.stop();
    const link = await forwardIntoNamespace('pnl2', two.hostAddress, cluster.apiPort);
    const startedAt = Date.now();
    const agent = startAgentInNamespace('pnl2', [
      'agent',
      '--server', `127.0.0.1:${cluster.apiPort}`,
      '--node-name', LOST,
      '--data-dir', join(cluster.dir, 'agents', LOST),
      '--docker-host', `unix://${two.socket}`,
      '--proxy-mode', 'off',
      '--heartbeat-interval', '1s',
      '--metrics-listen', '127.0.0.1:0',
      '--labels', 'zone=two',
    ]);
    // Stopping the first agent may have made the node NotReady for a moment: wait until the new one,
    // the only agent alive since startedAt, renews the lease and the node is Ready.
    await eventually(
      `${LOST} Ready and renewing its lease through the namespace`,
      async () => ({ node: await cluster.client.get('Node', LOST), lease: await cluster.client.get('Lease', LOST, 'persys-node-lease') }),
      ({ node, lease }) => readyOf(node)?.status === 'True' && Date.parse(lease.spec?.renewTime ?? '') > startedAt,
      90_000,
    );
    expect(link.connections()).toBeGreaterThan(0);

    const lost = await fourReplicasOnBothNodes('nl-part');
    await link.partition();
    try {
      await expectNotReadyAndReplaced('nl-part', lost);
      expect(agent.running(), `the agent exited:\n${agent.output()}`).toBe(true);
      await expectHealWithoutDuplicates(
        'nl-part',
        lost.map((c) => c.metadata.uid!),
        () => link.restore(),
      );
    } finally {
      await link.restore();
    }
    expect(agent.running(), `the agent exited:\n${agent.output()}`).toBe(true);
    await deleteSet('nl-part');
  }, 420_000);
});

interface NamespaceLink {
  /** TCP connections the host side has accepted from the namespace. */
  connections(): number;
  /** Drops every packet between the namespace and this machine's end of its veth. */
  partition(): Promise<void>;
  restore(): Promise<void>;
}

/**
 * Makes 127.0.0.1:PORT inside network namespace `ns` reach 127.0.0.1:PORT here, through the veth
 * (ns forwarder → hostAddress → this process → the API server), so the agent keeps its usual address
 * (the one in the server's certificate) while its traffic crosses a link the test can cut.
 */
async function forwardIntoNamespace(ns: string, hostAddress: string, port: number): Promise<NamespaceLink> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    accepted++;
    const outbound = connect(port, '127.0.0.1');
    pipeBoth(inbound, outbound, sockets);
  });
  await new Promise<void>((r, j) => server.once('error', j).listen(0, hostAddress, () => r()));
  const hostPort = (server.address() as { port: number }).port;
  const forwarder = spawnInNamespace(ns, [process.execPath, '-e', NS_FORWARDER, String(port), hostAddress, String(hostPort)], 'forwarder');
  teardown.push(async () => {
    await forwarder.stop();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  await eventually('the namespace forwarder to listen', async () => forwarder.output(), (o) => o.includes('listening'), 30_000);

  const rule = (op: '-I' | '-D', chain: 'INPUT' | 'OUTPUT') =>
    run('nsenter', [`--net=/var/run/netns/${ns}`, 'iptables', op, chain, chain === 'INPUT' ? '-s' : '-d', hostAddress, '-j', 'DROP']);
  let cut = false;
  return {
    connections: () => accepted,
    async partition() {
      await rule('-I', 'INPUT');
      await rule('-I', 'OUTPUT');
      cut = true;
    },
    async restore() {
      if (!cut) return;
      cut = false;
      await rule('-D', 'INPUT');
      await rule('-D', 'OUTPUT');
    },
  };
}

/** Runs inside the namespace: accepts on 127.0.0.1:argv[1], connects to argv[2]:argv[3], fails fast when cut off. */
const NS_FORWARDER = `
const net = require('node:net');
const [, lport, host, hport] = process.argv;
net.createServer((inbound) => {
  const outbound = net.connect({ host, port: Number(hport), timeout: 3000 });
  outbound.once('connect', () => outbound.setTimeout(0));
  outbound.once('timeout', () => outbound.destroy());
  for (const [a, b] of [[inbound, outbound], [outbound, inbound]]) {
    a.on('error', () => b.destroy());
    a.on('close', () => b.destroy());
    a.pipe(b);
  }
}).listen(Number(lport), '127.0.0.1', () => console.log('listening'));
`;

function pipeBoth(a: Socket, b: Socket, live: Set<Socket>): void {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    live.add(x);
    x.on('error', () => y.destroy());
    x.on('close', () => {
      live.delete(x);
      y.destroy();
    });
    x.pipe(y);
  }
}

interface NamespaceProcess {
  running(): boolean;
  output(): string;
  stop(): Promise<void>;
}

/** `persys ARGS` in network namespace `ns` (nsenter, not `ip netns exec`: see FIELD-NOTES). */
function startAgentInNamespace(ns: string, args: string[]): NamespaceProcess {
  const p = spawnInNamespace(ns, [process.execPath, BIN, ...args], `agent in ${ns}`);
  teardown.push(() => p.stop());
  return p;
}

function spawnInNamespace(ns: string, argv: string[], label: string): NamespaceProcess {
  let output = '';
  const child: ChildProcess = spawn('nsenter', [`--net=/var/run/netns/${ns}`, ...argv], {
    env: { ...process.env, PERSYS_LOG_LEVEL: process.env.PERSYS_E2E_LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    running,
    output: () => `--- ${label}\n${output}`,
    async stop() {
      if (!running()) return;
      const exited = new Promise((r) => child.once('exit', r));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}
