// ContainerSet autoscaling with real processes and the host's Docker engine: a replica that burns CPU
// drives a scale-up to maxReplicas, and idle replicas are scaled down once the stabilization window passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import type { Resource } from '../../lib/api/resource.js';
import { ensureDocker, removeNamespaceContainers, TEST_IMAGE } from '../harness/docker.js';
import { eventually, TestCluster } from '../harness/cluster.js';

const NS = 'autoscale-e2e';
let cluster: TestCluster;
let docker: Dockerode;

beforeAll(async () => {
  docker = await ensureDocker();
  cluster = await TestCluster.start({
    // A node name of its own: agents remove their node's labelled orphans, and other files share this engine.
    agents: [{ name: 'autoscale-node', dockerHost: 'unix:///var/run/docker.sock' }],
    controllerArgs: ['--autoscaler-sync-period', '2s'],
  });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await removeNamespaceContainers([docker], NS);
}, 120_000);

function containerSet(name: string, replicas: number, command: string, autoscale: Record<string, unknown>): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { image: TEST_IMAGE, command: ['sh', '-c', command], resources: { requests: { cpu: '100m' } } },
      },
      autoscale: { minReplicas: 1, maxReplicas: 3, targetCpuUtilizationPercent: 50, ...autoscale },
    },
  };
}

const getSet = (name: string) => cluster.client.get('ContainerSet', name, NS);

/** Running Docker containers of the set's replicas, from the engine itself. */
async function runningInDocker(name: string): Promise<number> {
  const owned = (await cluster.client.list('Container', { namespace: NS })).items.filter((c) =>
    c.metadata.ownerReferences?.some((r) => r.kind === 'ContainerSet' && r.name === name),
  );
  const names = new Set(owned.map((c) => c.metadata.name));
  const list = await docker.listContainers({ filters: { label: [`dev.persys.namespace=${NS}`] } });
  return list.filter((c) => names.has(c.Labels['dev.persys.name'] ?? '')).length;
}

async function rescaleEvents(name: string): Promise<Resource[]> {
  const events = (await cluster.client.list('Event', { namespace: NS })).items;
  return events.filter((e) => (e['involvedObject'] as { name?: string }).name === name && e['reason'] === 'SuccessfulRescale');
}

const withLogs = async <T>(p: Promise<T>): Promise<T> => {
  try {
    return await p;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${cluster.logs()}`);
  }
};

describe('ContainerSet autoscaling', () => {
  it('scales a set whose replica burns CPU up to maxReplicas and records why', async () => {
    await cluster.client.apply(containerSet('burn', 1, 'while :; do :; done', {}));
    // The agent's first sample of a new container has no CPU baseline; the next one (≤ 30 s) sees the loop.
    const scaled = await withLogs(eventually('burn to be scaled to 3', () => getSet('burn'), (s) => s.spec.replicas === 3, 120_000, 500));
    await withLogs(eventually('3 burning replicas in Docker', () => runningInDocker('burn'), (n) => n === 3, 90_000, 500));

    const status = await eventually('status.autoscale of burn', () => getSet('burn'), (s) => !!s.status?.autoscale?.lastScaleReason, 30_000);
    expect(status.status.autoscale.lastScaleReason).toMatch(/^cpu utilization \d+% of request above target 50%/);
    expect(status.status.autoscale.desiredReplicas).toBe(3);
    expect(status.status.autoscale.currentCpuUtilizationPercent).toBeGreaterThan(55);
    expect(scaled.spec.replicas).toBe(3);
    const events = await eventually('a SuccessfulRescale Event for burn', () => rescaleEvents('burn'), (e) => e.length > 0, 30_000);
    expect(events[0]!['message']).toMatch(/^New size: 3; reason: cpu utilization \d+% of request above target 50%/);
    expect(events[0]!['type']).toBe('Normal');

    // Stop burning CPU for the rest of the run.
    await cluster.client.delete('ContainerSet', 'burn', NS);
    await eventually('burn to leave Docker', () => runningInDocker('burn'), (n) => n === 0, 60_000, 500);
  }, 300_000);

  it('keeps idle replicas through the scale-down window, then scales down to minReplicas', async () => {
    await cluster.client.apply(containerSet('idle', 3, 'exec sleep 3600', { scaleDownStabilizationSeconds: 5 }));
    await withLogs(eventually('3 idle replicas in Docker', () => runningInDocker('idle'), (n) => n === 3, 90_000, 500));

    // The first round that sees usage recommends 1 but is held at 3 by the window: status shows it.
    const held = await withLogs(
      eventually(
        'a measured round of idle held at 3',
        () => getSet('idle'),
        (s) => s.status?.autoscale?.replicas?.length === 3 && (s.status.autoscale.currentCpuUtilizationPercent ?? 0) < 45,
        60_000,
        200,
      ),
    );
    expect(held.spec.replicas).toBe(3);
    expect(held.status.autoscale.replicas.map((r: { class: string }) => r.class)).toEqual(['Low', 'Low', 'Low']);

    await withLogs(eventually('idle to be scaled to 1', () => getSet('idle'), (s) => s.spec.replicas === 1, 60_000, 500));
    const reasoned = await eventually('idle lastScaleReason', () => getSet('idle'), (s) => /below target 50%/.test(s.status?.autoscale?.lastScaleReason ?? ''), 30_000);
    expect(reasoned.status.autoscale.lastScaleReason).toMatch(/^cpu utilization \d+% of request below target 50%(; limited to minReplicas 1)?$/);
    await withLogs(eventually('1 idle replica left in Docker', () => runningInDocker('idle'), (n) => n === 1, 60_000, 500));
    const events = await rescaleEvents('idle');
    expect(events.map((e) => e['message'])).toEqual([expect.stringMatching(/^New size: 1; reason: cpu utilization \d+% of request below target 50%/)]);
  }, 300_000);
});
