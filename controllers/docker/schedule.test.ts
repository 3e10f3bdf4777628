// Table tests of scheduleContainer: each filter's reason, resource accounting, host-port clashes,
// the least-allocated score with its spread and name tiebreaks, and the unschedulable message.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { NodeUsageCache, scheduleContainer, unschedulableMessage, type ContainersByNode, type NodeContainers } from './schedule.js';

interface NodeOpts {
  cpu?: string;
  memory?: string;
  ready?: boolean;
  unschedulable?: boolean;
  labels?: Record<string, string>;
}

function node(name: string, o: NodeOpts = {}): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Node',
    metadata: { name, labels: o.labels ?? {} },
    spec: { unschedulable: o.unschedulable ?? false },
    status: {
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi' },
    },
  };
}

interface ContainerOpts {
  cpu?: string;
  memory?: string;
  limits?: { cpu?: string; memory?: string };
  ports?: { hostPort: number; containerPort?: number; protocol?: string; hostIp?: string; publish?: boolean }[];
  nodeSelector?: Record<string, string>;
  phase?: string;
  labels?: Record<string, string>;
  owner?: string;
  uid?: string;
}

function container(name: string, o: ContainerOpts = {}): Resource {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: {
      name,
      namespace: 'default',
      uid: o.uid ?? `uid-${name}`,
      labels: o.labels ?? {},
      ...(o.owner ? { ownerReferences: [{ kind: 'ContainerSet', name: o.owner, uid: `uid-${o.owner}`, controller: true }] } : {}),
    },
    spec: {
      image: 'busybox',
      resources: { requests, ...(o.limits ? { limits: o.limits } : {}) },
      ports: (o.ports ?? []).map((p) => ({ containerPort: p.containerPort ?? p.hostPort, protocol: 'TCP', ...p })),
      nodeSelector: o.nodeSelector ?? {},
    },
    status: o.phase ? { phase: o.phase } : undefined,
  };
}

interface Case {
  name: string;
  container: Resource;
  nodes: Resource[];
  bound?: ContainersByNode;
  node?: string;
  reason?: string;
}

const p8080 = [{ hostPort: 8080 }];

const cases: Case[] = [
  {
    name: 'picks the only ready node',
    container: container('c'),
    nodes: [node('a', { ready: false }), node('b')],
    node: 'b',
  },
  {
    name: 'treats a node without a Ready condition as not ready',
    container: container('c'),
    nodes: [{ ...node('a'), status: { allocatable: { cpu: '4', memory: '8Gi' } } }],
    reason: '0/1 nodes are available: 1 node(s) were not ready.',
  },
  {
    name: 'skips an unschedulable node',
    container: container('c'),
    nodes: [node('a', { unschedulable: true }), node('b')],
    node: 'b',
  },
  {
    name: 'places on a node whose labels include the nodeSelector',
    container: container('c', { nodeSelector: { disk: 'ssd' } }),
    nodes: [node('a', { labels: { disk: 'hdd' } }), node('b', { labels: { disk: 'ssd', zone: 'z1' } })],
    node: 'b',
  },
  {
    name: 'reports a nodeSelector nothing matches',
    container: container('c', { nodeSelector: { disk: 'ssd', zone: 'z2' } }),
    nodes: [node('a', { labels: { disk: 'ssd', zone: 'z1' } }), node('b')],
    reason: "0/2 nodes are available: 2 node(s) didn't match node selector.",
  },
  {
    name: 'places a container that fits exactly',
    container: container('c', { cpu: '4', memory: '8Gi' }),
    nodes: [node('a')],
    node: 'a',
  },
  {
    name: 'reports insufficient memory on every node',
    container: container('c', { memory: '16Gi' }),
    nodes: [node('a'), node('b')],
    reason: '0/2 nodes are available: 2 insufficient memory.',
  },
  {
    name: 'reports insufficient cpu and memory for the same node',
    container: container('c', { cpu: '8', memory: '16Gi' }),
    nodes: [node('a')],
    reason: '0/1 nodes are available: 1 insufficient cpu, 1 insufficient memory.',
  },
  {
    name: 'subtracts the requests of containers already bound to the node',
    container: container('c', { cpu: '2' }),
    nodes: [node('a'), node('b')],
    bound: { a: [container('x', { cpu: '3' })] },
    node: 'b',
  },
  {
    name: 'counts bound containers into an insufficient cpu verdict',
    container: container('c', { cpu: '2' }),
    nodes: [node('a')],
    bound: { a: [container('x', { cpu: '1500m' }), container('y', { cpu: '1' })] },
    reason: '0/1 nodes are available: 1 insufficient cpu.',
  },
  {
    name: 'does not count finished containers against resources',
    container: container('c', { cpu: '4' }),
    nodes: [node('a')],
    bound: { a: [container('done', { cpu: '4', phase: 'Succeeded' }), container('crashed', { cpu: '4', phase: 'Failed' })] },
    node: 'a',
  },
  {
    name: 'reserves limits when a container has no requests',
    container: container('c', { limits: { memory: '6Gi' } }),
    nodes: [node('a')],
    bound: { a: [container('x', { limits: { memory: '4Gi' } })] },
    reason: '0/1 nodes are available: 1 insufficient memory.',
  },
  {
    name: 'places a container without requests on a full node',
    container: container('c'),
    nodes: [node('a')],
    bound: { a: [container('x', { cpu: '4', memory: '8Gi' })] },
    node: 'a',
  },
  {
    name: 'avoids a node where the host port is taken',
    container: container('c', { ports: p8080 }),
    nodes: [node('a'), node('b')],
    bound: { a: [container('x', { ports: p8080 })] },
    node: 'b',
  },
  {
    name: 'reports a host port taken everywhere',
    container: container('c', { ports: p8080 }),
    nodes: [node('a'), node('b')],
    bound: { a: [container('x', { ports: p8080 })], b: [container('y', { ports: p8080 })] },
    reason: '0/2 nodes are available: 2 node(s) had port 8080/TCP already in use.',
  },
  {
    name: 'allows the same port number over another protocol',
    container: container('c', { ports: [{ hostPort: 53, protocol: 'UDP' }] }),
    nodes: [node('a')],
    bound: { a: [container('x', { ports: [{ hostPort: 53, protocol: 'TCP' }] })] },
    node: 'a',
  },
  {
    name: 'allows the same port on two distinct host IPs',
    container: container('c', { ports: [{ hostPort: 80, hostIp: '10.0.0.1' }] }),
    nodes: [node('a')],
    bound: { a: [container('x', { ports: [{ hostPort: 80, hostIp: '10.0.0.2' }] })] },
    node: 'a',
  },
  {
    name: 'treats 0.0.0.0 as clashing with a specific host IP',
    container: container('c', { ports: [{ hostPort: 80, hostIp: '10.0.0.1' }] }),
    nodes: [node('a')],
    bound: { a: [container('x', { ports: [{ hostPort: 80 }] })] },
    reason: '0/1 nodes are available: 1 node(s) had port 80/TCP already in use.',
  },
  {
    name: 'frees the host port of a finished container',
    container: container('c', { ports: p8080 }),
    nodes: [node('a')],
    bound: { a: [container('x', { ports: p8080, phase: 'Failed' })] },
    node: 'a',
  },
  {
    name: 'never clashes on a port Docker picks (hostPort 0 with publish)',
    container: container('c', { ports: [{ hostPort: 0, containerPort: 8080, publish: true }] }),
    nodes: [node('a')],
    bound: { a: [container('x', { ports: [{ hostPort: 0, containerPort: 8080, publish: true }] }), container('y', { ports: [{ hostPort: 8080 }] })] },
    node: 'a',
  },
  {
    name: 'keeps a fixed port with publish as fixed',
    container: container('c', { ports: [{ hostPort: 8080, publish: true }] }),
    nodes: [node('a'), node('b')],
    bound: { a: [container('x', { ports: p8080 })] },
    node: 'b',
  },
  {
    name: 'treats :: as every address, like 0.0.0.0',
    container: container('c', { ports: [{ hostPort: 80, hostIp: '10.0.0.1' }] }),
    nodes: [node('a')],
    bound: { a: [container('x', { ports: [{ hostPort: 80, hostIp: '::' }] })] },
    reason: '0/1 nodes are available: 1 node(s) had port 80/TCP already in use.',
  },
  {
    name: 'puts two replicas of one ContainerSet with the same fixed host port on different nodes, over a better score',
    container: container('web-2', { owner: 'web', ports: p8080, cpu: '1' }),
    nodes: [node('a', { cpu: '16', memory: '64Gi' }), node('b', { cpu: '2', memory: '2Gi' })],
    bound: { a: [container('web-1', { owner: 'web', ports: p8080, cpu: '1' })] },
    node: 'b',
  },
  {
    name: 'leaves a third replica pending when both nodes hold its fixed host port',
    container: container('web-3', { owner: 'web', ports: p8080 }),
    nodes: [node('a'), node('b')],
    bound: { a: [container('web-1', { owner: 'web', ports: p8080 })], b: [container('web-2', { owner: 'web', ports: p8080 })] },
    reason: '0/2 nodes are available: 2 node(s) had port 8080/TCP already in use.',
  },
  {
    name: 'does not clash with its own earlier binding',
    container: container('c', { ports: p8080, cpu: '4' }),
    nodes: [node('a')],
    bound: { a: [container('c', { ports: p8080, cpu: '4' })] },
    node: 'a',
  },
  {
    name: 'prefers the least-allocated node',
    container: container('c', { cpu: '1', memory: '1Gi' }),
    nodes: [node('a'), node('b')],
    bound: { a: [container('x', { cpu: '2', memory: '4Gi' })], b: [container('y', { cpu: '1', memory: '1Gi' })] },
    node: 'b',
  },
  {
    name: 'prefers the bigger node when both are empty',
    container: container('c', { cpu: '1', memory: '1Gi' }),
    nodes: [node('a', { cpu: '2', memory: '2Gi' }), node('b', { cpu: '8', memory: '16Gi' })],
    node: 'b',
  },
  {
    name: 'spreads replicas of one owner when scores tie',
    container: container('web-3', { owner: 'web' }),
    nodes: [node('a'), node('b'), node('c')],
    bound: { a: [container('web-1', { owner: 'web' })], b: [container('other', { owner: 'db' })], c: [container('web-2', { owner: 'web' })] },
    node: 'b',
  },
  {
    name: 'spreads containers with the same labels when they have no owner',
    container: container('api-2', { labels: { app: 'api' } }),
    nodes: [node('a'), node('b')],
    bound: { a: [container('api-1', { labels: { app: 'api', extra: 'x' } })] },
    node: 'b',
  },
  {
    name: 'breaks a full tie by node name',
    container: container('c'),
    nodes: [node('c'), node('a'), node('b')],
    node: 'a',
  },
  {
    name: 'accepts the bound containers as a Map',
    container: container('c', { ports: p8080 }),
    nodes: [node('a'), node('b')],
    bound: new Map([['a', [container('x', { ports: p8080 })]]]),
    node: 'b',
  },
  {
    name: 'sums every filter into one message, most frequent first',
    container: container('c', { memory: '12Gi', nodeSelector: { pool: 'big' } }),
    nodes: [
      node('a', { labels: { pool: 'big' } }),
      node('b', { labels: { pool: 'big' } }),
      node('c', { labels: { pool: 'big' }, unschedulable: true }),
      node('d', { labels: { pool: 'small' } }),
      node('e', { labels: { pool: 'big' }, ready: false }),
    ],
    reason: "0/5 nodes are available: 2 insufficient memory, 1 node(s) didn't match node selector, 1 node(s) were not ready, 1 node(s) were unschedulable.",
  },
  {
    name: 'says so when there are no nodes',
    container: container('c'),
    nodes: [],
    reason: '0/0 nodes are available: no nodes are registered.',
  },
];

describe('scheduleContainer', () => {
  it.each(cases)('$name', (c) => {
    const result = scheduleContainer(c.container, c.nodes, c.bound ?? {});
    if (c.node) expect(result).toEqual({ node: c.node });
    else expect(result).toEqual({ reason: c.reason });
  });
});

describe('scheduleContainer with ports claimed by ComposeStacks', () => {
  const claims: Record<string, { hostPort?: number; hostIp?: string; protocol?: string }[]> = {
    a: [{ hostPort: 8080, protocol: 'TCP' }],
    b: [{ hostPort: 8080, protocol: 'UDP', hostIp: '127.0.0.1' }],
  };
  const onNodes = (bound: Record<string, Resource[]>): NodeContainers => ({
    on: (n) => bound[n] ?? [],
    stamp: () => 0,
    claimedPorts: (n) => claims[n] ?? [],
  });
  it.each<{ name: string; container: Resource; nodes: string[]; bound?: Record<string, Resource[]>; want: { node?: string; reason?: string } }>([
    { name: "avoids a node where a stack publishes the Container's fixed port", container: container('c', { ports: p8080 }), nodes: ['a', 'b'], want: { node: 'b' } },
    {
      name: 'counts stack ports with Container ports into one message',
      container: container('c', { ports: p8080 }),
      nodes: ['a', 'b'],
      bound: { b: [container('x', { ports: p8080 })] },
      want: { reason: '0/2 nodes are available: 2 node(s) had port 8080/TCP already in use.' },
    },
    { name: 'lets a port over another protocol and address through', container: container('c', { ports: [{ hostPort: 8080, protocol: 'UDP', hostIp: '10.0.0.1' }] }), nodes: ['b'], want: { node: 'b' } },
    { name: 'lets a port Docker picks through', container: container('c', { ports: [{ hostPort: 0, containerPort: 8080, publish: true }] }), nodes: ['a'], want: { node: 'a' } },
    { name: 'ignores stack ports for a Container without fixed ports (the summed path)', container: container('c', { owner: 'web' }), nodes: ['a'], want: { node: 'a' } },
  ])('$name', (c) => {
    expect(scheduleContainer(c.container, c.nodes.map((n) => node(n)), onNodes(c.bound ?? {}), new NodeUsageCache())).toEqual(c.want);
  });
});

describe('scheduleContainer with a NodeUsageCache across decisions', () => {
  it('decides as without the cache while Containers come, change phase and go', () => {
    // A seeded walk: 12 nodes of differing sizes, Containers of 3 owners placed one by one, with some
    // finishing or removed between decisions; every decision is checked against an uncached one.
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const nodes = Array.from({ length: 12 }, (_, i) => node(`n${i}`, { cpu: `${2 + (i % 3)}`, memory: `${4 + (i % 4)}Gi` }));
    const placed = new Map<string, Resource[]>(nodes.map((n) => [n.metadata.name!, []]));
    // As the scheduler's informer: fresh arrays of the same objects, and a stamp per node that moves on change.
    const stamps = new Map<string, number>();
    let changes = 0;
    const changed = (node: string) => stamps.set(node, ++changes);
    const informer: NodeContainers = { on: (n) => [...(placed.get(n) ?? [])], stamp: (n) => stamps.get(n) ?? 0 };
    const cache = new NodeUsageCache();
    for (let i = 0; i < 300; i++) {
      const c = container(`c${i}`, { cpu: `${50 + rand(300)}m`, memory: `${64 + rand(512)}Mi`, owner: `set${rand(3)}` });
      const cached = scheduleContainer(c, nodes, informer, cache);
      expect(cached).toEqual(scheduleContainer(c, nodes, new Map(placed)));
      if (cached.node) {
        placed.get(cached.node)!.push({ ...c, spec: { ...c.spec, nodeName: cached.node } });
        changed(cached.node);
      }
      const victim = `n${rand(12)}`;
      const victims = placed.get(victim)!;
      if (victims.length && rand(4) === 0) {
        const k = rand(victims.length);
        if (rand(2)) victims.splice(k, 1);
        else victims[k] = { ...victims[k]!, status: { phase: 'Succeeded' } };
        changed(victim);
      }
    }
  });
});

describe('unschedulableMessage', () => {
  it('orders reasons by count, then alphabetically', () => {
    const failures = new Map([
      ['node(s) were unschedulable', 1],
      ['insufficient memory', 2],
      ['insufficient cpu', 1],
    ]);
    expect(unschedulableMessage(3, failures)).toBe('0/3 nodes are available: 2 insufficient memory, 1 insufficient cpu, 1 node(s) were unschedulable.');
  });
});
