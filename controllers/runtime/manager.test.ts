// runControllers with real informers, a real API server and leader election: readiness follows the
// caches, metrics are served, only the leader's controllers act, and a stop hands over to the other.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiClient } from '../../lib/client/client.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { Controller } from './controller.js';
import { Informer } from './informer.js';
import { runControllers, type RunningControllers } from './manager.js';
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

const get = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
};

async function replica(identity: string, lease: string, reconciled: string[], client: ApiClient = api.client) {
  const informer = new Informer({ client, kind: 'Container', namespace: 'default', labelSelector: `lease=${lease}`, delay: (ms, s) => sleep(Math.min(ms, 50), undefined, { signal: s }).catch(() => undefined) });
  const registry = new Registry();
  const controller = new Controller({ name: 'demo', logger: silentLogger(), registry, reconcile: async (key) => void reconciled.push(`${identity}:${key}`) });
  controller.watch(informer);
  const running = await runControllers({
    controllers: [controller],
    informers: [informer],
    registry,
    logger: silentLogger(),
    leaderElection: { client: api.client, namespace: 'default', name: lease, identity, leaseDurationMs: 2_000, renewDeadlineMs: 1_000, retryPeriodMs: 100 },
  });
  cleanups.push(() => running.stop());
  return running;
}

describe('runControllers', () => {
  it('is not ready while a cache cannot sync, and says which', async () => {
    const unreachable = new ApiClient(api.config);
    unreachable.close();
    const running = await replica('r', `l-${randomBytes(3).toString('hex')}`, [], unreachable);
    expect(await get(running.metricsPort, '/healthz')).toEqual({ status: 200, body: 'ok' });
    const ready = await get(running.metricsPort, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('caches not synced: Container');
    expect(running.isActive()).toBe(false);
  });

  it('runs the controllers of the leader only, serves metrics, and hands over when the leader stops', async () => {
    const lease = `l-${randomBytes(3).toString('hex')}`;
    const reconciled: string[] = [];
    const one = await replica('one', lease, reconciled);
    const two = await replica('two', lease, reconciled);
    const all: Record<string, RunningControllers> = { one, two };
    await waitFor(async () => (await get(one.metricsPort, '/readyz')).status === 200 && (await get(two.metricsPort, '/readyz')).status === 200, 'both ready');
    await waitFor(() => one.isActive() !== two.isActive(), 'one active replica');
    const [leaderName, followerName] = one.isActive() ? ['one', 'two'] : ['two', 'one'];

    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: `${lease}-a`, namespace: 'default', labels: { lease } }, spec: { image: 'persys/busybox:test' } });
    await waitFor(() => reconciled.includes(`${leaderName}:default/${lease}-a`), 'the leader reconciles');
    const metrics = (await get(all[leaderName]!.metricsPort, '/metrics')).body;
    expect(metrics).toContain('controller_runtime_reconcile_total{controller="demo",result="success"}');
    expect(metrics).toContain('workqueue_adds_total{name="demo"}');
    expect(metrics).toContain('leader_election_master_status{name="' + lease + '"} 1');
    expect((await get(all[followerName]!.metricsPort, '/metrics')).body).toContain('leader_election_master_status{name="' + lease + '"} 0');

    await sleep(200);
    expect(reconciled.every((r) => r.startsWith(`${leaderName}:`))).toBe(true);

    await all[leaderName]!.stop();
    await waitFor(() => all[followerName]!.isActive(), 'the follower takes over');
    // A new leader starts from its whole cache, so it reconciles what the old one already did too.
    await waitFor(() => reconciled.includes(`${followerName}:default/${lease}-a`), 'the new leader reconciles the cached object');
    expect(all[leaderName]!.isActive()).toBe(false);
  });

  it('runs more controllers than Node warns of listeners for on one signal, without that warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    cleanups.push(async () => void process.off('warning', onWarning));
    const registry = new Registry();
    const informer = new Informer({ client: api.client, kind: 'Container', namespace: 'default', labelSelector: `many=${randomBytes(3).toString('hex')}` });
    // A process of persys controllers runs about a dozen: each listens on the one signal that stops them.
    const controllers = Array.from({ length: 14 }, (_, i) => new Controller({ name: `many-${i}`, logger: silentLogger(), registry, reconcile: async () => undefined }));
    for (const c of controllers) c.watch(informer);
    const running = await runControllers({ controllers, informers: [informer], registry, logger: silentLogger() });
    cleanups.push(() => running.stop());
    await waitFor(() => running.isActive(), 'the controllers run');
    await running.stop();
    // Node emits process warnings on a later tick.
    await sleep(50);
    expect(warnings.filter((w) => w.includes('MaxListenersExceeded'))).toEqual([]);
  });
});
