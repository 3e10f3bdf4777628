// The autoscaler against a real API server on the real etcd (no Docker, no agents): the test owns the
// replicas' Containers and the usage figures the agents would report, and watches what the controller writes.
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import type { ContainerUsage } from '../../lib/gen/persys/v1/agent.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { waitFor } from '../../e2e/harness/wait.js';
import { runControllers, type RunningControllers } from '../runtime/manager.js';
import { newAutoscalerController } from './controller.js';

const NS = 'default';
let api: TestApiServer;
let running: RunningControllers;
let registry: Registry;
/** CPU percent (docker-stats style) the "agents" report, by Container uid. */
const cpuByUid = new Map<string, number>();
let usageCalls = 0;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  registry = new Registry();
  const autoscaler = newAutoscalerController({
    client: api.client,
    logger: silentLogger(),
    registry,
    syncPeriodMs: 300,
    usage: async () => {
      usageCalls++;
      return [...cpuByUid].map(([uid, cpu]): ContainerUsage => ({
        uid,
        namespace: NS,
        name: uid,
        cpuPercent: cpu,
        memoryBytes: '1000',
        memoryLimitBytes: '100000',
        networkRxBytesPerSecond: '0',
        networkTxBytesPerSecond: '0',
        healthResponseTimeMs: 0,
      }));
    },
    informerDelay: (ms, signal) => sleep(Math.min(ms, 50), undefined, { signal }).catch(() => undefined),
  });
  running = await runControllers({ ...autoscaler, registry, logger: silentLogger() });
});
afterAll(async () => {
  await running?.stop();
  await api?.stop();
});

function containerSet(name: string, replicas: number, autoscale?: Record<string, unknown>): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      template: { metadata: { labels: { app: name } }, spec: { image: 'x', resources: { requests: { cpu: '100m' } } } },
      autoscale,
    },
  };
}

/** Plays the ContainerSet controller and the agent: a running, ready replica owned by `set`. */
async function readyReplica(set: Resource, cpuPercent: number): Promise<Resource> {
  const c = await api.client.create({
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: {
      generateName: `${set.metadata.name}-`,
      namespace: NS,
      ownerReferences: [{ apiVersion: 'persys.dev/v1', kind: 'ContainerSet', name: set.metadata.name!, uid: set.metadata.uid!, controller: true }],
    },
    spec: { image: 'x' },
  });
  const ready = await api.client.updateStatus({
    ...c,
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }] },
  });
  cpuByUid.set(c.metadata.uid!, cpuPercent);
  return ready;
}

const getSet = (name: string) => api.client.get('ContainerSet', name, NS);
const eventsAbout = async (name: string) =>
  (await api.client.list('Event', { namespace: NS })).items.filter((e) => (e['involvedObject'] as { name?: string })?.name === name);

describe('autoscaler controller', () => {
  it('scales a busy set up to maxReplicas, records a SuccessfulRescale Event and writes status.autoscale', async () => {
    const set = await api.client.create(
      containerSet('busy', 1, { minReplicas: 1, maxReplicas: 3, targetCpuUtilizationPercent: 50, scaleDownStabilizationSeconds: 0 }),
    );
    const replica = await readyReplica(set, 18); // 180% of a 100m request

    const scaled = await waitFor(async () => {
      const s = await getSet('busy');
      return s.spec.replicas === 3 ? s : undefined;
    }, 'spec.replicas 3', 10_000);
    const reason = 'cpu utilization 180% of request above target 50%; limited to maxReplicas 3';
    const withStatus = await waitFor(async () => {
      const s = await getSet('busy');
      return s.status?.autoscale?.lastScaleReason ? s : undefined;
    }, 'status.autoscale', 10_000);
    expect(withStatus.status.autoscale).toMatchObject({
      currentCpuUtilizationPercent: 180,
      desiredReplicas: 3,
      lastScaleReason: reason,
      replicas: [{ name: replica.metadata.name, class: 'High', cpuPercent: 180 }],
    });
    expect(Date.parse(withStatus.status.autoscale.lastScaleTime)).toBeGreaterThan(Date.parse(set.metadata.creationTimestamp!) - 1000);
    expect(scaled.metadata.generation).toBeGreaterThan(set.metadata.generation!);

    const events = await waitFor(async () => {
      const e = await eventsAbout('busy');
      return e.length ? e : undefined;
    }, 'an Event about busy', 10_000);
    expect(events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'SuccessfulRescale', message: `New size: 3; reason: ${reason}` })]);
    const rescales = await registry.getSingleMetricAsString('persys_autoscaler_rescales_total');
    expect(rescales).toMatch(/persys_autoscaler_rescales_total\{direction="up"\} [1-9]/);
  });

  it('leaves status alone while usage only jitters inside the tolerance band', async () => {
    const set = await api.client.create(
      containerSet('steady', 2, { minReplicas: 1, maxReplicas: 5, targetCpuUtilizationPercent: 50, scaleDownStabilizationSeconds: 0 }),
    );
    const a = await readyReplica(set, 5);
    const b = await readyReplica(set, 5);
    const first = await waitFor(async () => {
      const s = await getSet('steady');
      return s.status?.autoscale?.currentCpuUtilizationPercent === 50 && s.status.autoscale.replicas?.length === 2 ? s : undefined;
    }, 'status.autoscale at 50% for both replicas', 10_000);

    // Several rounds of ±2 points: no decision could change, so nothing is written.
    const callsBefore = usageCalls;
    for (let i = 0; i < 6; i++) {
      cpuByUid.set(a.metadata.uid!, i % 2 ? 5.2 : 4.8);
      cpuByUid.set(b.metadata.uid!, i % 2 ? 4.8 : 5.2);
      await sleep(300);
    }
    await waitFor(() => usageCalls >= callsBefore + 4, 'four more usage rounds', 10_000);
    const after = await getSet('steady');
    expect(after.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    expect(after.spec.replicas).toBe(2);

    // A move past the band is written.
    cpuByUid.set(a.metadata.uid!, 5.8);
    cpuByUid.set(b.metadata.uid!, 5.8);
    await waitFor(async () => (await getSet('steady')).status?.autoscale?.currentCpuUtilizationPercent === 58, 'status at 58%', 10_000);
  });

  it('leaves a set without spec.autoscale alone', async () => {
    const set = await api.client.create(containerSet('manual', 1));
    await readyReplica(set, 100);
    const callsBefore = usageCalls;
    await waitFor(() => usageCalls >= callsBefore + 3, 'three more usage rounds', 10_000);
    const after = await getSet('manual');
    expect(after.spec.replicas).toBe(1);
    expect(after.status?.autoscale).toBeUndefined();
    expect(after.metadata.resourceVersion).toBe(set.metadata.resourceVersion);
  });
});
