// ContainerSet rollouts and node drain on a two-node cluster of real processes, with availability sampled
// from the Docker engines themselves (issue 4, Tests): image A → B, undo, drain within budget, a stuck rollout.
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, TestCluster, type CliRun } from '../harness/cluster.js';
import { ensureDocker, removeNamespaceContainers, startSecondDocker, TEST_IMAGE, type SecondDocker } from '../harness/docker.js';

const NS = 'rollout-e2e';
const NODE_A = 'ro-node-a';
const NODE_B = 'ro-node-b';
const IMAGE_A = TEST_IMAGE;
// No registry here: image B is the test image under a second name, on every engine.
const IMAGE_B = 'persys/busybox:rollout-b';
const MISSING_IMAGE = 'persys/none:missing';

let cluster: TestCluster;
let hostDocker: Dockerode;
let second: SecondDocker;
const engines = (): [string, Dockerode][] => [
  [NODE_A, hostDocker],
  [NODE_B, second.docker],
];

beforeAll(async () => {
  hostDocker = await ensureDocker();
  second = await startSecondDocker('prd1');
  const [repo, tag] = IMAGE_B.split(':') as [string, string];
  for (const [, docker] of engines()) await docker.getImage(IMAGE_A).tag({ repo, tag });
  cluster = await TestCluster.start({
    // Node names of this file's own: agents remove their node's labelled orphans, and the host engine is shared.
    agents: [
      { name: NODE_A, dockerHost: 'unix:///var/run/docker.sock', labels: { zone: 'ro-a' } },
      { name: NODE_B, dockerHost: `unix://${second.socket}`, labels: { zone: 'ro-b' } },
    ],
  });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  await removeNamespaceContainers([hostDocker, second?.docker], NS);
  // Removing a second name of an image only untags it.
  await hostDocker?.getImage(IMAGE_B).remove().catch(() => undefined);
  await second?.stop();
}, 180_000);

/**
 * A set whose replicas Docker itself reports healthy (an exec healthcheck every second), rolling with
 * maxSurge 1 / maxUnavailable 0. The replicas exit on SIGTERM so a deleted one leaves Docker promptly.
 * Only three failed probes in a row, each given 5 s, make a replica unhealthy: on a loaded machine one
 * exec can take seconds while its engine creates containers, and the budget is persys's to keep, not
 * the engine's exec latency.
 */
function containerSetYaml(name: string, replicas: number, image: string, extraSpec = ''): string {
  return `apiVersion: persys.dev/v1
kind: ContainerSet
metadata: {name: ${name}, namespace: ${NS}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  strategy: {rollingUpdate: {maxSurge: "1", maxUnavailable: "0"}}
${extraSpec}  template:
    metadata: {labels: {app: ${name}}}
    spec:
      image: "${image}"
      command: [sh, -c, "trap 'exit 0' TERM; while :; do sleep 1; done"]
      healthcheck: {exec: {command: ["true"]}, intervalSeconds: 1, timeoutSeconds: 5, retries: 3}
`;
}

const persys = (args: string[], input?: string): Promise<CliRun> => cluster.persys([...args, '-n', NS], input);

const applyYaml = (yaml: string, wait: boolean): Promise<CliRun> =>
  persys(['apply', '-f', '-', ...(wait ? ['--wait', '--timeout', '50s'] : [])], yaml);

/** Fails with the CLI's output and every process's log, so a red run says why. */
function expectRun(r: CliRun, code: number, what: string): void {
  expect(r.code, `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\n${cluster.logs()}`).toBe(code);
}

interface DockerReplica {
  id: string;
  node: string;
  name: string;
  image: string;
  state: string;
  healthy: boolean;
}

/** Containers persys made for Containers named `prefix…` on one engine (running ones only unless `all`). */
async function replicasOn(node: string, docker: Dockerode, prefix: string, all: boolean): Promise<DockerReplica[]> {
  const list = await docker.listContainers({ all, filters: { label: [`dev.persys.namespace=${NS}`] } });
  return list
    .filter((c) => (c.Labels['dev.persys.name'] ?? '').startsWith(prefix))
    .map((c) => ({
      id: c.Id,
      node,
      name: c.Labels['dev.persys.name']!,
      image: c.Image,
      state: c.State,
      healthy: c.State === 'running' && c.Status.includes('(healthy)'),
    }));
}

async function dockerReplicas(prefix: string): Promise<DockerReplica[]> {
  return (await Promise.all(engines().map(([node, docker]) => replicasOn(node, docker, prefix, true)))).flat();
}

/**
 * The replicas Docker reports healthy at one moment across both engines. Two engines cannot be read
 * atomically, so one is read between two reads of the other, and the other's two answers are united:
 * a container healthy on it at the middle moment is in one of them (nothing here lives for milliseconds).
 * A count below the budget therefore really happened; a naive read in sequence could invent one.
 */
async function healthyAtOneMoment(prefix: string): Promise<DockerReplica[]> {
  const [[refNode, refDocker], ...others] = engines();
  const healthyOn = async ([node, docker]: [string, Dockerode]) => (await replicasOn(node, docker, prefix, false)).filter((r) => r.healthy);
  const before = await Promise.all(others.map(healthyOn));
  const middle = await healthyOn([refNode, refDocker]);
  const after = await Promise.all(others.map(healthyOn));
  const union = new Map<string, DockerReplica>();
  for (const r of [...before.flat(), ...middle, ...after.flat()]) union.set(r.id, r);
  return [...union.values()];
}

interface Sample {
  healthy: number;
  /** Healthy replicas per image. */
  images: Record<string, number>;
  nodes: Record<string, number>;
}

/** Samples Docker every ~150 ms until stopped: the budget must hold at every moment it can see, not only at the end. */
function sampleHealthy(prefix: string): { stop(): Promise<Sample[]> } {
  const samples: Sample[] = [];
  let stopped = false;
  let failure: unknown;
  const loop = (async () => {
    while (!stopped) {
      try {
        const healthy = await healthyAtOneMoment(prefix);
        const count = (key: 'image' | 'node') => healthy.reduce<Record<string, number>>((m, r) => ({ ...m, [r[key]]: (m[r[key]] ?? 0) + 1 }), {});
        samples.push({ healthy: healthy.length, images: count('image'), nodes: count('node') });
      } catch (err) {
        failure = err;
        return;
      }
      await sleep(150);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      if (failure) throw failure;
      return samples;
    },
  };
}

const describeSamples = (samples: Sample[]) => samples.map((s) => `${s.healthy} ${JSON.stringify(s.images)} ${JSON.stringify(s.nodes)}`).join('\n');

/** Waits until Docker holds exactly `n` replicas of the set, all running, healthy and of `image`. */
function exactlyHealthy(prefix: string, n: number, image: string, timeoutMs = 90_000): Promise<DockerReplica[]> {
  return eventually(
    `exactly ${n} healthy ${image} replicas of ${prefix}* in Docker`,
    () => dockerReplicas(prefix),
    (rs) => rs.length === n && rs.every((r) => r.healthy && r.image === image),
    timeoutMs,
    500,
  );
}

async function deleteSet(name: string): Promise<void> {
  await cluster.client.delete('ContainerSet', name, NS);
  await eventually(`${name} gone from Docker`, () => dockerReplicas(`${name}-`), (rs) => rs.length === 0, 90_000, 500);
}

const replicasInApi = async (set: string) =>
  (await cluster.client.list('Container', { namespace: NS, labelSelector: `app=${set}` })).items.filter((c) => !c.metadata.deletionTimestamp);

describe('ContainerSet rollouts against real Docker engines', () => {
  it('rolls image A to B with maxUnavailable 0 never below 3 healthy containers in Docker, and undo brings A back', async () => {
    const applied = await applyYaml(containerSetYaml('ro-web', 3, IMAGE_A), true);
    expectRun(applied, 0, 'apply --wait of image A');
    expect(applied.stdout).toContain('containerset/ro-web created');
    expect(applied.stdout).toMatch(/Waiting for containerset "ro-web" (spec update to be observed|rollout to finish)/);
    expect(applied.stdout.trimEnd().split('\n').at(-1)).toBe('containerset "ro-web" successfully rolled out');
    const before = await exactlyHealthy('ro-web-', 3, IMAGE_A);

    const sampler = sampleHealthy('ro-web-');
    let samples: Sample[];
    try {
      const rolled = await applyYaml(containerSetYaml('ro-web', 3, IMAGE_B), true);
      expectRun(rolled, 0, 'apply --wait of image B');
      expect(rolled.stdout).toContain('containerset/ro-web configured');
      expect(rolled.stdout.trimEnd().split('\n').at(-1)).toBe('containerset "ro-web" successfully rolled out');
      await exactlyHealthy('ro-web-', 3, IMAGE_B);
    } finally {
      samples = await sampler.stop();
    }
    const trace = describeSamples(samples);
    expect(Math.min(...samples.map((s) => s.healthy)), `healthy replicas per sample:\n${trace}`).toBeGreaterThanOrEqual(3);
    // The sampler saw the rollout itself: a moment with both images healthy (the surge) and the end state.
    expect(samples.some((s) => (s.images[IMAGE_A] ?? 0) > 0 && (s.images[IMAGE_B] ?? 0) > 0), trace).toBe(true);
    // The sampler's last sample may predate the removal exactlyHealthy waited for: read the end state afresh.
    const end = await healthyAtOneMoment('ro-web-');
    expect(end.map((r) => r.image)).toEqual([IMAGE_B, IMAGE_B, IMAGE_B]);
    const after = await dockerReplicas('ro-web-');
    expect(after.some((r) => before.some((b) => b.id === r.id))).toBe(false);
    // What Docker runs is what the API says the set has.
    expect(after.map((r) => r.name).sort()).toEqual((await replicasInApi('ro-web')).map((c) => c.metadata.name).sort());

    const status = await persys(['rollout', 'status', 'cs/ro-web', '--timeout', '30s']);
    expectRun(status, 0, 'rollout status');
    expect(status.stdout).toContain('containerset "ro-web" successfully rolled out');

    const history = await persys(['rollout', 'history', 'cs/ro-web']);
    expectRun(history, 0, 'rollout history');
    const rows = history.stdout.split('\n').filter((l) => /^\d/.test(l));
    expect(rows, history.stdout).toHaveLength(2);
    expect(rows[0]).toMatch(/^1\s+\S+\s+persys\/busybox:test\s/);
    expect(rows[1]).toMatch(/^2 \(current\)\s+\S+\s+persys\/busybox:rollout-b\s/);

    const undoSampler = sampleHealthy('ro-web-');
    let undoSamples: Sample[];
    try {
      const undo = await persys(['rollout', 'undo', 'cs/ro-web']);
      expectRun(undo, 0, 'rollout undo');
      expect(undo.stdout).toBe('containerset/ro-web rolled back to revision 1\n');
      const undone = await persys(['rollout', 'status', 'cs/ro-web', '--timeout', '50s']);
      expectRun(undone, 0, 'rollout status after undo');
      await exactlyHealthy('ro-web-', 3, IMAGE_A);
    } finally {
      undoSamples = await undoSampler.stop();
    }
    expect(Math.min(...undoSamples.map((s) => s.healthy)), describeSamples(undoSamples)).toBeGreaterThanOrEqual(3);
    await deleteSet('ro-web');
  }, 300_000);

  it('drain moves every replica to the other node, never below replicas − maxUnavailable healthy in Docker, and needs --force for a standalone Container', async () => {
    // Budget: 4 replicas, maxSurge 1, maxUnavailable 0 → at least 4 healthy at every moment.
    const REPLICAS = 4;
    const MIN_HEALTHY = REPLICAS - 0;
    expectRun(await applyYaml(containerSetYaml('ro-spread', REPLICAS, IMAGE_A), true), 0, 'apply --wait of ro-spread');
    const spread = await exactlyHealthy('ro-spread-', REPLICAS, IMAGE_A);
    // The scheduler spreads a set's replicas; a set entirely on one node would test nothing here.
    const onA = spread.filter((r) => r.node === NODE_A);
    expect(onA.length, `replicas per node: ${spread.map((r) => r.node).join(',')}`).toBeGreaterThan(0);
    expect(onA.length).toBeLessThan(REPLICAS);

    await cluster.client.apply({
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: 'ro-solo', namespace: NS },
      spec: { image: IMAGE_A, command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"], nodeName: NODE_A },
    });
    await eventually('ro-solo Running', () => cluster.client.get('Container', 'ro-solo', NS), (c) => c.status?.phase === 'Running', 60_000);

    try {
      const refused = await persys(['drain', NODE_A]);
      expectRun(refused, 1, 'drain without --force');
      expect(refused.stderr).toContain(`cannot drain node/${NODE_A}: Containers not managed by a ContainerSet (use --force to delete them): ${NS}/ro-solo`);
      expect((await cluster.client.get('Node', NODE_A)).spec.unschedulable).toBe(true);
      // Refusing moved nothing.
      expect((await replicasOn(NODE_A, hostDocker, 'ro-solo', false)).map((r) => r.state)).toEqual(['running']);
      expect((await dockerReplicas('ro-spread-')).map((r) => r.id).sort()).toEqual(spread.map((r) => r.id).sort());

      const sampler = sampleHealthy('ro-spread-');
      let samples: Sample[];
      try {
        const drained = await persys(['drain', NODE_A, '--force', '--timeout', '50s']);
        expectRun(drained, 0, 'drain --force');
        expect(drained.stdout).toContain(`container/ro-solo deleted (${NS})`);
        expect(drained.stdout).toMatch(new RegExp(`evicting container/ro-spread-\\S+ \\(${NS}\\)`));
        expect(drained.stdout.trimEnd().split('\n').at(-1)).toBe(`node/${NODE_A} drained`);
        await eventually(
          `Docker on ${NODE_A} empty of the set and ro-solo, ${REPLICAS} healthy on ${NODE_B}`,
          async () => [...(await dockerReplicas('ro-spread-')), ...(await dockerReplicas('ro-solo'))],
          (rs) => rs.length === REPLICAS && rs.every((r) => r.node === NODE_B && r.healthy && r.name.startsWith('ro-spread-')),
          90_000,
          500,
        );
      } finally {
        samples = await sampler.stop();
      }
      const trace = describeSamples(samples);
      expect(Math.min(...samples.map((s) => s.healthy)), `healthy replicas per sample:\n${trace}`).toBeGreaterThanOrEqual(MIN_HEALTHY);
      // The sampler saw replicas leave NODE_A, not only the end state.
      expect(samples.some((s) => (s.nodes[NODE_A] ?? 0) > 0), trace).toBe(true);
      // The sampler's last sample may predate the end state waited for above: read it afresh.
      const end = await healthyAtOneMoment('ro-spread-');
      expect(end.map((r) => r.node)).toEqual(Array(REPLICAS).fill(NODE_B));
      expect((await replicasInApi('ro-spread')).map((c) => c.spec.nodeName)).toEqual(Array(REPLICAS).fill(NODE_B));
      await expect(cluster.client.get('Container', 'ro-solo', NS)).rejects.toThrow();
    } finally {
      const uncordon = await persys(['uncordon', NODE_A]);
      expectRun(uncordon, 0, 'uncordon');
      expect(uncordon.stdout).toBe(`node/${NODE_A} uncordoned\n`);
    }
    expect((await cluster.client.get('Node', NODE_A)).spec?.unschedulable ?? false).toBe(false);
    await deleteSet('ro-spread');
  }, 300_000);

  it('a rollout to an image that does not exist exceeds its progress deadline while the old replicas keep running', async () => {
    // The first rollout has the default deadline, so a slow machine cannot fail it; the stuck one has 5 s.
    const yaml = (image: string, deadline = '') => containerSetYaml('ro-stuck', 2, image, deadline);
    expectRun(await applyYaml(yaml(IMAGE_A), true), 0, 'apply --wait of ro-stuck');
    const old = await exactlyHealthy('ro-stuck-', 2, IMAGE_A);

    const sampler = sampleHealthy('ro-stuck-');
    let samples: Sample[];
    try {
      expectRun(await applyYaml(yaml(MISSING_IMAGE, '  progressDeadlineSeconds: 5\n'), false), 0, 'apply of the missing image');
      const status = await persys(['rollout', 'status', 'cs/ro-stuck', '--timeout', '50s']);
      expectRun(status, 1, 'rollout status of a stuck rollout');
      expect(status.stderr).toContain('containerset "ro-stuck" exceeded its progress deadline');
      expect(status.stdout).toContain('Waiting for containerset "ro-stuck" rollout to finish');
    } finally {
      samples = await sampler.stop();
    }
    expect(Math.min(...samples.map((s) => s.healthy)), describeSamples(samples)).toBeGreaterThanOrEqual(2);
    // The old replicas are the very containers that ran before, still running and healthy.
    const running = (await dockerReplicas('ro-stuck-')).filter((r) => r.healthy);
    expect(running.map((r) => r.id).sort()).toEqual(old.map((r) => r.id).sort());
    expect(running.every((r) => r.image === IMAGE_A)).toBe(true);
    const set = await cluster.client.get('ContainerSet', 'ro-stuck', NS);
    const progressing = (set.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    await deleteSet('ro-stuck');
  }, 180_000);
});
