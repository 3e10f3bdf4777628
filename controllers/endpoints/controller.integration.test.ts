// The endpoints controller against a real API server, with Container status written by the test in
// the agent's place: endpoints appear with node and container addresses, a Container failing its
// healthcheck turns not ready, a deleted replica and a NotReady node are followed, a selector that
// matches nothing is a condition, and the slice goes with its Service. Logs how fast endpoints follow.
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import type { EndpointSliceObject, ServiceObject } from '../../lib/api/typed.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { waitFor } from '../../e2e/harness/wait.js';
import { runControllers, type RunningControllers } from '../runtime/manager.js';
import { newEndpointsController } from './controller.js';

let api: TestApiServer;
let running: RunningControllers;
const NS = 'default';

async function node(name: string, address: string, ready = true): Promise<void> {
  const n = await api.client.get('Node', name).catch(() => api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name }, spec: {} }));
  await api.client.updateStatus({ ...n, status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], addresses: [{ type: 'InternalIP', address }] } });
}

/** A Container as a ContainerSet's replica would be (the template's labels), placed on `nodeName`. */
async function replica(name: string, nodeName: string, labels = { app: 'web' }): Promise<void> {
  await api.client.create({
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace: NS, labels },
    spec: { image: 'persys/busybox:test', nodeName, ports: [{ name: 'http', containerPort: 8080, hostPort: 30000 + Number(name.replace(/\D/g, '')) }] },
  });
}

/** What the agent reports: Running, Ready per the healthcheck, and the container's address. */
async function report(name: string, ready: boolean, ip: string): Promise<void> {
  const c = await api.client.get('Container', name, NS);
  await api.client.updateStatus({
    ...c,
    status: { ...c.status, phase: 'Running', containerIp: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? undefined : 'Unhealthy' }] },
  });
}

const slice = async (name: string) => (await api.client.get('EndpointSlice', name, NS).catch(() => undefined)) as EndpointSliceObject | undefined;
const service = async (name: string) => (await api.client.get('Service', name, NS)) as ServiceObject;
const readyNames = (s: EndpointSliceObject | undefined) => (s?.endpoints ?? []).filter((e) => e.ready).map((e) => e.containerName);

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  await node('ep-n1', '192.0.2.1');
  await node('ep-n2', '192.0.2.2');
  const registry = new Registry();
  const set = newEndpointsController({
    client: api.client,
    logger: silentLogger(),
    registry,
    informerDelay: (ms, signal) => sleep(Math.min(ms, 50), undefined, { signal }).catch(() => undefined),
  });
  running = await runControllers({ ...set, registry, logger: silentLogger() });
});
afterAll(async () => {
  await running?.stop();
  await api?.stop();
});

describe('endpoints controller', () => {
  it('reports NoMatchingContainers as a condition when the selector matches nothing, with an empty slice', async () => {
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Service', metadata: { name: 'lonely', namespace: NS }, spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] } });
    const cond = await waitFor(async () => (await service('lonely')).status?.conditions?.[0], 'lonely status');
    expect(cond).toMatchObject({ type: 'EndpointsReady', status: 'False', reason: 'NoMatchingContainers', message: 'no Container in namespace default has the labels app=nobody' });
    // Zero counts are left out of the proto JSON form.
    const status = (await service('lonely')).status!;
    expect([status.readyEndpoints ?? 0, status.totalEndpoints ?? 0]).toEqual([0, 0]);
    const s = await waitFor(() => slice('lonely'), 'lonely slice');
    expect(s.endpoints ?? []).toEqual([]);
    expect(s.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Service', name: 'lonely', controller: true })]);
  });

  it('lists ready replicas with node address, container IP and ports; follows not-ready, deletion and node loss', async () => {
    await api.client.create({
      apiVersion: 'persys.dev/v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: NS },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    await replica('web-1', 'ep-n1');
    await replica('web-2', 'ep-n2');
    await replica('web-3', 'ep-n2');
    await replica('other-4', 'ep-n1', { app: 'other' } as { app: string });
    await report('web-1', true, '172.17.0.2');
    await report('web-2', true, '172.17.0.3');
    await report('web-3', true, '172.17.0.4');
    await report('other-4', true, '172.17.0.5');

    const full = await waitFor(async () => {
      const s = await slice('web');
      return readyNames(s).length === 3 ? s : undefined;
    }, 'three ready endpoints');
    expect(full.endpoints).toEqual([
      { containerName: 'web-1', nodeName: 'ep-n1', nodeAddress: '192.0.2.1', containerIp: '172.17.0.2', ready: true, ports: [{ name: 'http', port: 8080, hostPort: 30001, protocol: 'TCP' }] },
      { containerName: 'web-2', nodeName: 'ep-n2', nodeAddress: '192.0.2.2', containerIp: '172.17.0.3', ready: true, ports: [{ name: 'http', port: 8080, hostPort: 30002, protocol: 'TCP' }] },
      { containerName: 'web-3', nodeName: 'ep-n2', nodeAddress: '192.0.2.2', containerIp: '172.17.0.4', ready: true, ports: [{ name: 'http', port: 8080, hostPort: 30003, protocol: 'TCP' }] },
    ]);
    await waitFor(async () => (await service('web')).status?.readyEndpoints === 3, 'service status 3/3');
    expect((await service('web')).status).toMatchObject({ readyEndpoints: 3, totalEndpoints: 3, conditions: [{ type: 'EndpointsReady', status: 'True' }] });

    // A failing healthcheck: the endpoint stays listed, not ready. Measured from the status write.
    const delays: number[] = [];
    for (let round = 0; round < 5; round++) {
      let t0 = performance.now();
      await report('web-2', false, '172.17.0.3');
      await waitFor(async () => !readyNames(await slice('web')).includes('web-2'), 'web-2 not ready', 20_000, 5);
      delays.push(performance.now() - t0);
      t0 = performance.now();
      await report('web-2', true, '172.17.0.3');
      await waitFor(async () => readyNames(await slice('web')).includes('web-2'), 'web-2 ready again', 20_000, 5);
      delays.push(performance.now() - t0);
    }
    await report('web-2', false, '172.17.0.3');
    await waitFor(async () => (await service('web')).status?.readyEndpoints === 2, 'service status 2/3');
    const notReady = (await slice('web'))!.endpoints!.find((e) => e.containerName === 'web-2');
    expect(notReady).toMatchObject({ nodeName: 'ep-n2', containerIp: '172.17.0.3' });
    expect(notReady!.ready ?? false).toBe(false);
    delays.sort((a, b) => a - b);
    // Informational only (timings are not asserted): the write, the watch to the controller, the slice write, the test's poll.
    console.log(`endpoint update delay over ${delays.length} readiness changes: p50 ${delays[Math.floor(delays.length / 2)]!.toFixed(0)} ms, max ${delays.at(-1)!.toFixed(0)} ms`);

    // A replica deleted (a scale-down or a rollout) leaves the slice.
    await api.client.delete('Container', 'web-3', NS);
    await waitFor(async () => !(await slice('web'))!.endpoints!.some((e) => e.containerName === 'web-3'), 'web-3 gone');
    await waitFor(async () => (await service('web')).status?.totalEndpoints === 2, 'service total 2');

    // A node lost: its Containers are not ready; the condition says none is.
    await node('ep-n1', '192.0.2.1', false);
    await waitFor(async () => readyNames(await slice('web')).length === 0, 'no ready endpoints');
    const cond = await waitFor(async () => {
      const c = (await service('web')).status?.conditions?.[0];
      return c?.status === 'False' ? c : undefined;
    }, 'EndpointsReady False');
    expect(cond.reason).toBe('NoReadyContainers');
    await node('ep-n1', '192.0.2.1', true);
    await waitFor(async () => readyNames(await slice('web')).includes('web-1'), 'web-1 ready after its node');
  });

  it('puts back a slice edited by hand and writes nothing when nothing changed', async () => {
    const before = await waitFor(() => slice('web'), 'web slice');
    await api.client.update({ ...before, endpoints: [] } as Resource);
    await waitFor(async () => ((await slice('web'))?.endpoints ?? []).length === 2, 'slice restored');
    const settled = (await slice('web'))!.metadata.resourceVersion;
    await sleep(500);
    expect((await slice('web'))!.metadata.resourceVersion).toBe(settled);
  });

  it('the slice is deleted with its Service (garbage collection through the ownerReference)', async () => {
    await api.client.delete('Service', 'web', NS);
    await waitFor(async () => !(await slice('web')), 'web slice collected');
  });
});
