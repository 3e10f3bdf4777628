// The swarm controller on a cluster of real processes over two Docker engines in network namespaces
// (issue 7, Tests): persys forms a swarm from Node roles, runs replicated and global SwarmServices
// (scale, rolling image update, delete), never touches a service made by hand, and makes a node leave
// when its role becomes none. Docker itself is the witness: `docker service ls`, `docker info`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { eventually, TestCluster, type CliRun } from '../harness/cluster.js';
import { TEST_IMAGE, type SecondDocker } from '../harness/docker.js';
import { startEnginePair, type EnginePair } from '../harness/engine-pair.js';

const run = promisify(execFile);

const NODE_A = 'psw-node-a';
const NODE_B = 'psw-node-b';
// No registry here: the second image is the test image under another name, on both engines.
const IMAGE_V2 = 'persys/busybox:swarm-v2';
const HANDMADE = 'default_clash';

let cluster: TestCluster;
let a: SecondDocker;
let b: SecondDocker;
let pair: EnginePair | undefined;

beforeAll(async () => {
  pair = await startEnginePair({
    prefix: 'psw',
    forwardingComment: 'persys-e2e-swarm',
    prepare: async (x, y) => {
      const [repo, tag] = IMAGE_V2.split(':') as [string, string];
      for (const e of [x, y]) await e.docker.getImage(TEST_IMAGE).tag({ repo, tag });
    },
  });
  ({ a, b, cluster } = pair);
}, 240_000);

afterAll(async () => {
  await pair?.stop();
}, 180_000);

function expectRun(r: CliRun, code: number, what: string): void {
  expect(r.code, `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\n${cluster.logs()}`).toBe(code);
}

const apply = async (yaml: string, what: string, wait = false) =>
  expectRun(await cluster.persys(['apply', '-f', '-', ...(wait ? ['--wait', '--timeout', '100s'] : [])], yaml), 0, what);

const nodeRole = (name: string, role: string) => `apiVersion: persys.dev/v1
kind: Node
metadata: {name: ${name}}
spec: {swarm: {role: ${role}}}
`;

const service = (name: string, spec: string) => `apiVersion: persys.dev/v1
kind: SwarmService
metadata: {name: ${name}}
spec:
${spec.replace(/^/gm, '  ')}
`;

/** `docker` CLI against one of the engines. */
async function docker(engine: SecondDocker, args: string[]): Promise<string> {
  return (await run('docker', ['-H', `unix://${engine.socket}`, ...args])).stdout;
}

/** `docker service ls` on the manager: name → "running/desired". */
async function serviceLs(): Promise<Map<string, string>> {
  const out = await docker(a, ['service', 'ls', '--format', '{{.Name}} {{.Replicas}}']);
  return new Map(out.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

/** Running tasks of a Docker service: their node IDs and images. */
async function runningTasks(manager: Dockerode, serviceName: string): Promise<{ node: string; image: string }[]> {
  const tasks = (await manager.listTasks({ filters: { service: [serviceName], 'desired-state': ['running'] } })) as {
    NodeID: string;
    Status: { State: string };
    Spec: { ContainerSpec: { Image: string } };
  }[];
  return tasks.filter((t) => t.Status.State === 'running').map((t) => ({ node: t.NodeID, image: t.Spec.ContainerSpec.Image }));
}

const swarmStateOf = async (engine: SecondDocker): Promise<string> =>
  ((await engine.docker.info()) as { Swarm: { LocalNodeState: string } }).Swarm.LocalNodeState;

const get = (kind: string, name: string, namespace?: string): Promise<Resource> => cluster.client.get(kind, name, namespace);

let nodeIdA = '';
let nodeIdB = '';

describe('swarm membership', () => {
  it('initialises a swarm on the manager node and joins the worker, as Node specs say', async () => {
    await apply(nodeRole(NODE_A, 'manager') + '---\n' + nodeRole(NODE_B, 'worker'), 'set swarm roles');
    const nodeA = await eventually('node A to be the swarm manager', () => get('Node', NODE_A), (n) => n.status?.swarm?.role === 'manager' && !!n.status.swarm.nodeId, 90_000);
    const nodeB = await eventually('node B to be a swarm worker', () => get('Node', NODE_B), (n) => n.status?.swarm?.role === 'worker' && n.status.swarm.state === 'ready', 90_000);
    nodeIdA = nodeA.status!.swarm.nodeId;
    nodeIdB = nodeB.status!.swarm.nodeId;

    // Docker agrees: both engines are in one swarm, A manages it, labels carry the persys node names.
    expect(await swarmStateOf(b)).toBe('active');
    const members = (await a.docker.listNodes()) as { ID: string; Spec: { Role: string; Labels: Record<string, string> } }[];
    expect(members.map((m) => [m.ID, m.Spec.Role, m.Spec.Labels['dev.persys.node'], m.Spec.Labels['zone']]).sort()).toEqual(
      [
        [nodeIdA, 'manager', NODE_A, 'psw-a'],
        [nodeIdB, 'worker', NODE_B, 'psw-b'],
      ].sort(),
    );
    expect(nodeA.status!.swarm).toMatchObject({ availability: 'active' });
    expect(nodeA.status!.conditions.find((c: { type: string }) => c.type === 'SwarmQuorum')).toMatchObject({ status: 'True' });

    const nodes = await cluster.persys(['get', 'nodes']);
    expectRun(nodes, 0, 'get nodes');
    expect(nodes.stdout).toMatch(new RegExp(`${NODE_A}\\s+Ready\\s+manager`));
    expect(nodes.stdout).toMatch(new RegExp(`${NODE_B}\\s+Ready\\s+worker`));

    // The join tokens are kept in a Secret and appear in no process's output.
    const tokens = await get('Secret', 'swarm-join-tokens', 'persys-system');
    const worker = Buffer.from(String((tokens.data as Record<string, string>).worker), 'base64').toString();
    expect(worker).toMatch(/^SWMTKN-/);
    expect(cluster.logs()).not.toContain(worker);
  }, 180_000);
});

describe('SwarmServices', () => {
  it('runs a replicated service, scales it and rolls a new image out', async () => {
    await apply(service('web', `image: ${TEST_IMAGE}\ncommand: [sleep, "3600"]\nreplicas: 2\nupdateConfig: {parallelism: 1, order: start-first, monitorSeconds: 1}`), 'apply web', true);
    expect((await serviceLs()).get('default_web')).toBe('2/2');
    const listed = await cluster.persys(['get', 'swarmservices']);
    expect(listed.stdout).toMatch(/web\s+replicated\s+2\/2\s+persys\/busybox:test/);

    expectRun(await cluster.persys(['scale', 'swarmservice/web', '--replicas', '3']), 0, 'scale');
    await eventually('docker service ls to show 3/3', serviceLs, (m) => m.get('default_web') === '3/3', 90_000);
    await eventually('status to show 3 running', () => get('SwarmService', 'web'), (s) => s.status?.runningTasks === 3 && s.status?.desiredTasks === 3);

    await apply(service('web', `image: ${IMAGE_V2}\ncommand: [sleep, "3600"]\nreplicas: 3\nupdateConfig: {parallelism: 1, order: start-first, monitorSeconds: 1}`), 'change the image', true);
    const svc = await eventually('the rolling update to complete', () => get('SwarmService', 'web'), (s) => s.status?.updateState === 'completed' && s.status?.runningTasks === 3, 120_000);
    expect(svc.status?.desiredTasks).toBe(3);
    const tasks = await eventually('only new-image tasks to run', () => runningTasks(a.docker, 'default_web'), (t) => t.length === 3 && t.every((x) => x.image.startsWith(IMAGE_V2)), 60_000);
    expect(tasks).toHaveLength(3);
  }, 300_000);

  it('runs a global service on every node, and a constrained one only where the node labels match', async () => {
    await apply(service('everywhere', `image: ${TEST_IMAGE}\ncommand: [sleep, "3600"]\nmode: global`), 'apply global');
    const tasks = await eventually('a task on each node', () => runningTasks(a.docker, 'default_everywhere'), (t) => t.length === 2, 90_000);
    expect(tasks.map((t) => t.node).sort()).toEqual([nodeIdA, nodeIdB].sort());
    await eventually('status 2/2', () => get('SwarmService', 'everywhere'), (s) => s.status?.runningTasks === 2 && s.status?.desiredTasks === 2);

    await apply(service('zoned', `image: ${TEST_IMAGE}\ncommand: [sleep, "3600"]\nreplicas: 2\nconstraints: ["node.labels.zone==psw-b"]`), 'apply zoned');
    const zoned = await eventually('both zoned tasks running', () => runningTasks(a.docker, 'default_zoned'), (t) => t.length === 2, 90_000);
    expect(zoned.every((t) => t.node === nodeIdB)).toBe(true);
  }, 240_000);

  it('reports why tasks cannot start', async () => {
    await apply(service('missing', `image: persys/none:missing\nreplicas: 1`), 'apply a missing image');
    const svc = await eventually('a task error', () => get('SwarmService', 'missing'), (s) => (s.status?.taskErrors ?? []).length > 0, 90_000);
    expect(svc.status!.taskErrors.join('\n')).toContain('persys/none:missing');
    expect(svc.status!.runningTasks ?? 0).toBe(0);
  }, 120_000);

  it('never touches a service it did not create, even one with the name it would use', async () => {
    await docker(a, ['service', 'create', '--detach', '--no-resolve-image', '--name', HANDMADE, '--replicas', '1', TEST_IMAGE, 'sleep', '3600']);
    const before = (await a.docker.getService(HANDMADE).inspect()) as { Version: { Index: number }; Spec: { Labels: Record<string, string> } };

    await apply(service('clash', `image: ${IMAGE_V2}\nreplicas: 2`), 'apply clash');
    const clash = await eventually('the clash to be reported', () => get('SwarmService', 'clash'), (s) =>
      (s.status?.conditions ?? []).some((c: { message?: string }) => /not created by persys/.test(c.message ?? '')),
    );
    expect(clash.status?.serviceId ?? '').toBe('');
    expectRun(await cluster.persys(['delete', 'swarmservice', 'clash']), 0, 'delete clash');
    // A prune round later (deleting web removes it; the hand-made service must stay as it was).
    expectRun(await cluster.persys(['delete', 'swarmservice', 'web', 'missing']), 0, 'delete web');
    await eventually('web to leave docker service ls', serviceLs, (m) => !m.has('default_web') && !m.has('default_missing'), 60_000);
    const after = (await a.docker.getService(HANDMADE).inspect()) as { Version: { Index: number } };
    expect(after.Version.Index).toBe(before.Version.Index);
    expect((await serviceLs()).has(HANDMADE)).toBe(true);
  }, 180_000);
});

const condition = (n: Resource, type: string) => (n.status?.conditions ?? []).find((c: { type: string }) => c.type === type);

describe('manager quorum', () => {
  it('promotes a worker, reports the quorum at risk when a manager engine stops, and demotes it again', async () => {
    await apply(nodeRole(NODE_B, 'manager'), 'promote B');
    await eventually('B to be a reachable manager', async () => ((await a.docker.listNodes()) as { ID: string; ManagerStatus?: { Reachability: string } }[]).find((n) => n.ID === nodeIdB), (n) => n?.ManagerStatus?.Reachability === 'reachable', 90_000);
    await eventually('node B status to say manager', () => get('Node', NODE_B), (n) => n.status?.swarm?.role === 'manager', 60_000);

    // Two managers: with one of them gone, no majority is left.
    await b.stopEngine();
    try {
      const nodeA = await eventually('SwarmQuorum False on A', () => get('Node', NODE_A), (n) => condition(n, 'SwarmQuorum')?.status === 'False', 120_000);
      expect(condition(nodeA, 'SwarmQuorum')).toMatchObject({ reason: 'QuorumAtRisk' });
      const events = await cluster.client.list('Event', { namespace: 'default' });
      const atRisk = events.items.filter((e) => e.reason === 'SwarmQuorumAtRisk');
      expect(atRisk.length, JSON.stringify(events.items.map((e) => e.reason))).toBeGreaterThan(0);
      expect(atRisk[0]!.type).toBe('Warning');
    } finally {
      await b.startEngine();
    }
    await eventually('SwarmQuorum True again', () => get('Node', NODE_A), (n) => condition(n, 'SwarmQuorum')?.status === 'True', 120_000);

    // Manager failover: with A's agent gone, the controller drives the service through B.
    const agentA = cluster.agents.get(NODE_A)!;
    await agentA.kill();
    try {
      expectRun(await cluster.persys(['scale', 'swarmservice/zoned', '--replicas', '3']), 0, "scale while A's agent is down");
      await eventually('zoned to run 3/3', serviceLs, (m) => m.get('default_zoned') === '3/3', 90_000);
      await eventually('status to report 3 running', () => get('SwarmService', 'zoned'), (s) => s.status?.runningTasks === 3);
    } finally {
      agentA.start();
    }
    await cluster.waitNodeReady(NODE_A);

    await apply(nodeRole(NODE_B, 'worker'), 'demote B');
    await eventually('B to be a worker again', async () => ((await a.docker.listNodes()) as { ID: string; Spec: { Role: string } }[]).find((n) => n.ID === nodeIdB), (n) => n?.Spec.Role === 'worker', 90_000);
    await eventually('node B status to say worker', () => get('Node', NODE_B), (n) => n.status?.swarm?.role === 'worker' && n.status.swarm.state === 'ready', 90_000);
  }, 420_000);
});

describe('leaving', () => {
  it('makes a node leave the swarm when its role becomes none', async () => {
    await apply(nodeRole(NODE_B, 'none'), 'role none');
    await eventually('engine B to leave', () => swarmStateOf(b), (s) => s === 'inactive', 90_000);
    await eventually('the manager to forget node B', async () => ((await a.docker.listNodes()) as { ID: string }[]).map((n) => n.ID), (ids) => !ids.includes(nodeIdB), 90_000);
    const nodeB = await eventually('node B status to say inactive', () => get('Node', NODE_B), (n) => n.status?.swarm?.state === 'inactive' || !n.status?.swarm?.nodeId, 60_000);
    expect(nodeB.status?.swarm?.role ?? '').toBe('');
    const nodes = await cluster.persys(['get', 'nodes']);
    expect(nodes.stdout).toMatch(new RegExp(`${NODE_B}\\s+Ready\\s+<none>`));
    // The global service follows: one task, on A.
    await eventually('the global service to shrink to A', () => runningTasks(a.docker, 'default_everywhere'), (t) => t.length === 1 && t[0]!.node === nodeIdA, 90_000);
  }, 180_000);
});
