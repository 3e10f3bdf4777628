// The node lifecycle controller against a real API server (no Docker): agents are played by the test,
// which renews some node Leases and not others, then watches Ready, phases and evictions follow.
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Condition, Resource } from '../../lib/api/resource.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { runControllers } from '../runtime/manager.js';
import { newNodeController } from './controller.js';
import { NODE_LEASE_NAMESPACE, REASON_LEASE_RENEWED, REASON_STATUS_UNKNOWN } from './health.js';
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

async function readyNode(name: string): Promise<void> {
  const node = await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name }, spec: {} });
  await api.client.updateStatus({ ...node, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'AgentConnected', lastTransitionTime: new Date().toISOString() }] } });
  const now = new Date().toISOString();
  await api.client.create({
    apiVersion: 'persys.dev/v1',
    kind: 'Lease',
    metadata: { name, namespace: NODE_LEASE_NAMESPACE },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, acquireTime: now, renewTime: now },
  });
}

async function renew(name: string): Promise<void> {
  const lease = await api.client.get('Lease', name, NODE_LEASE_NAMESPACE);
  await api.client.update({ ...lease, spec: { ...lease.spec, renewTime: new Date().toISOString() } });
}

/** Renews the named leases every 200 ms (the agents that are alive) until the test ends. */
function keepRenewing(names: string[]): void {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const n of names) await renew(n).catch(() => undefined);
      await sleep(200);
    }
  })();
  cleanups.push(async () => {
    stopped = true;
    await loop;
  });
}

async function containerSet(name: string): Promise<Resource> {
  return api.client.create({
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name, namespace: 'default' },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { image: 'persys/busybox:test' } } },
  });
}

async function runningContainer(name: string, nodeName: string, owner?: Resource, spec: Record<string, unknown> = {}): Promise<void> {
  const c = await api.client.create({
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: {
      name,
      namespace: 'default',
      ownerReferences: owner ? [{ apiVersion: 'persys.dev/v1', kind: 'ContainerSet', name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true }] : [],
    },
    spec: { image: 'persys/busybox:test', nodeName, ...spec },
  });
  await api.client.updateStatus({ ...c, status: { phase: 'Running' } });
}

async function startNodeController(): Promise<void> {
  const set = newNodeController({ client: api.client, logger: silentLogger(), gracePeriodMs: 1_000, evictionTimeoutMs: 2_000, resyncMs: 200, evictionsPerSecond: 10 });
  const running = await runControllers({ ...set, registry: new Registry(), logger: silentLogger() });
  cleanups.push(() => running.stop());
}

const ready = async (node: string) => ((await api.client.get('Node', node)).status?.conditions as Condition[]).find((c) => c.type === 'Ready');
const phase = async (name: string) => (await api.client.get('Container', name, 'default')).status?.phase as string | undefined;
const exists = (name: string) => api.client.get('Container', name, 'default').then(() => true, () => false);

describe('node lifecycle controller', () => {
  it('marks a node whose lease went stale Unknown and evicts only its ContainerSet-owned Containers', async () => {
    await readyNode('n1');
    await readyNode('n2');
    const web = await containerSet('web');
    await runningContainer('owned-on-n1', 'n1', web);
    await runningContainer('alone-on-n1', 'n1');
    await runningContainer('owned-on-n2', 'n2', web);
    keepRenewing(['n2']);
    await startNodeController();

    const cond = await waitFor(async () => ((await ready('n1'))?.status === 'Unknown' ? ready('n1') : undefined), 'n1 Ready=Unknown');
    expect(cond?.reason).toBe(REASON_STATUS_UNKNOWN);
    await waitFor(async () => (await phase('alone-on-n1')) === 'Unknown', 'standalone container phase Unknown');
    await waitFor(async () => !(await exists('owned-on-n1')), 'eviction of the ContainerSet-owned container on n1');

    await waitFor(
      async () =>
        (await api.client.list('Event', { namespace: 'default' })).items.some(
          (e) => e.reason === 'EvictingContainer' && (e.involvedObject as { name: string }).name === 'owned-on-n1',
        ),
      'an EvictingContainer Event for owned-on-n1',
    );
    await waitFor(
      async () =>
        (await api.client.list('Event', { namespace: 'default' })).items.some(
          (e) => e.reason === 'NodeNotReady' && (e.involvedObject as { name: string }).name === 'alone-on-n1',
        ),
      'a NodeNotReady event about the standalone container',
    );
    expect(await exists('alone-on-n1')).toBe(true);
    expect(await phase('alone-on-n1')).toBe('Unknown');
    expect((await ready('n2'))?.status).toBe('True');
    expect(await phase('owned-on-n2')).toBe('Running');
  });

  it('unbinds a standalone Container that allows rescheduling, so the scheduler can place it elsewhere', async () => {
    await readyNode('n1');
    await readyNode('n2');
    await runningContainer('mover', 'n1', undefined, { rescheduleOnNodeLoss: true });
    keepRenewing(['n2']);
    await startNodeController();

    // Unbinding and the status that says why are two writes: wait for both.
    const moved = await waitFor(async () => {
      const c = await api.client.get('Container', 'mover', 'default');
      return !c.spec.nodeName && c.status?.reason === 'Rescheduled' ? c : undefined;
    }, 'mover unbound from n1, with the reason');
    expect(moved.spec.nodeName ?? '').toBe('');
    expect(moved.status).toMatchObject({ phase: 'Pending', reason: 'Rescheduled', message: 'node n1 was lost' });
    await waitFor(async () => {
      const events = (await api.client.list('Event', { namespace: 'default' })).items;
      return events.some((e) => e.reason === 'Rescheduling' && (e.involvedObject as { name: string }).name === 'mover') || undefined;
    }, 'a Rescheduling event about mover');
  });

  it('sets Ready back to True with reason LeaseRenewed when a stale lease is renewed again', async () => {
    await readyNode('n1');
    await readyNode('n2');
    keepRenewing(['n2']);
    await startNodeController();
    await waitFor(async () => (await ready('n1'))?.status === 'Unknown', 'n1 Ready=Unknown');
    keepRenewing(['n1']);
    const back = await waitFor(async () => ((await ready('n1'))?.status === 'True' ? ready('n1') : undefined), 'n1 Ready=True again');
    expect(back?.reason).toBe(REASON_LEASE_RENEWED);
  });

  it('evicts nothing when every node lease is stale', async () => {
    await readyNode('n1');
    await readyNode('n2');
    const web = await containerSet('web');
    await runningContainer('owned-on-n1', 'n1', web);
    await runningContainer('owned-on-n2', 'n2', web);
    await startNodeController();

    await waitFor(async () => (await ready('n1'))?.status === 'Unknown' && (await ready('n2'))?.status === 'Unknown', 'both nodes Unknown');
    await waitFor(async () => (await phase('owned-on-n1')) === 'Unknown' && (await phase('owned-on-n2')) === 'Unknown', 'both containers Unknown');
    // Well past the 2 s eviction timeout, with the controller re-evaluating every 200 ms.
    await sleep(3_500);
    expect(await exists('owned-on-n1')).toBe(true);
    expect(await exists('owned-on-n2')).toBe(true);
  });
});
