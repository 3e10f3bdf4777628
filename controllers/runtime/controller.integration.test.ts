// A Controller fed by a real informer on a real API server: every key reconciled, events mapped to
// owners, failures retried with back-off, requeueAfter honoured, metrics counted.
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { Controller, type Reconciler } from './controller.js';
import { Informer } from './informer.js';
import { splitKey } from './keys.js';
import { waitFor } from '../../e2e/harness/wait.js';

let api: TestApiServer;
beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
});
afterAll(async () => api?.stop());

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const container = (name: string, labels: Record<string, string>, metadata: Resource['metadata'] = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default', labels, ...metadata },
  spec: { image: 'persys/busybox:test' },
});

async function startController(labelSelector: string, reconcile: Reconciler, map?: (o: Resource) => string | undefined) {
  const informer = new Informer({ client: api.client, kind: 'Container', namespace: 'default', labelSelector });
  const registry = new Registry();
  const controller = new Controller({ name: 'test-controller', reconcile, logger: silentLogger(), registry, workers: 2 });
  controller.watch(informer, map);
  informer.start();
  await informer.waitForSync();
  const abort = new AbortController();
  const running = controller.run(abort.signal);
  cleanups.push(async () => {
    abort.abort();
    await running;
    await informer.stop();
  });
  return { informer, registry };
}

describe('Controller with a real informer', () => {
  it('reconciles existing and new objects and reconciles again on update and delete, reading the cache', async () => {
    const labels = { suite: 'ctl-basic' };
    await api.client.create(container('ctl-a', labels));
    const seen: string[] = [];
    let informer: Informer;
    ({ informer } = await startController('suite=ctl-basic', async (key) => {
      const { namespace, name } = splitKey(key);
      seen.push(`${key}:${informer.get(namespace, name) ? 'present' : 'absent'}`);
    }));
    await waitFor(() => seen.includes('default/ctl-a:present'), 'existing object reconciled');
    await api.client.create(container('ctl-b', labels));
    await waitFor(() => seen.includes('default/ctl-b:present'), 'new object reconciled');
    const b = await api.client.get('Container', 'ctl-b', 'default');
    const before = seen.length;
    await api.client.update({ ...b, spec: { ...b.spec, args: ['x'] } });
    await waitFor(() => seen.length > before, 'update reconciled');
    await api.client.delete('Container', 'ctl-b', 'default');
    await waitFor(() => seen.includes('default/ctl-b:absent'), 'delete reconciled');
  });

  it('enqueues the owner key when a map function maps an owned object to it', async () => {
    const keys = new Set<string>();
    await startController(
      'suite=ctl-owner',
      async (key) => void keys.add(key),
      (o) => {
        const owner = o.metadata.ownerReferences?.find((r) => r.kind === 'ContainerSet');
        return owner ? `${o.metadata.namespace}/${owner.name}` : undefined;
      },
    );
    await api.client.create(container('web-1', { suite: 'ctl-owner' }, { ownerReferences: [{ apiVersion: 'persys.dev/v1', kind: 'ContainerSet', name: 'web', uid: 'u-web' }] }));
    await api.client.create(container('loner', { suite: 'ctl-owner' }));
    await waitFor(() => keys.has('default/web'), 'owner reconciled');
    await sleep(200);
    expect([...keys]).toEqual(['default/web']);
  });

  it('retries a failing reconcile with back-off until it succeeds, and honours requeueAfter', async () => {
    const attempts = new Map<string, number>();
    const { registry } = await startController('suite=ctl-retry', async (key) => {
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (key.endsWith('flaky') && n <= 3) throw new Error(`attempt ${n} failed`);
      if (key.endsWith('periodic') && n < 3) return { requeueAfterMs: 100 };
    });
    await api.client.create(container('flaky', { suite: 'ctl-retry' }));
    await api.client.create(container('periodic', { suite: 'ctl-retry' }));
    await waitFor(() => attempts.get('default/flaky') === 4 && attempts.get('default/periodic') === 3, 'retries and requeues');
    await sleep(300);
    expect(attempts.get('default/flaky')).toBe(4);
    expect(attempts.get('default/periodic')).toBe(3);
    const text = await registry.metrics();
    expect(text).toContain('controller_runtime_reconcile_errors_total{controller="test-controller"} 3');
    expect(text).toContain('controller_runtime_reconcile_total{controller="test-controller",result="requeue_after"} 2');
    expect(text).toContain('controller_runtime_reconcile_total{controller="test-controller",result="success"} 2');
    expect(text).toContain('workqueue_retries_total{name="test-controller"} 3');
  });
});
