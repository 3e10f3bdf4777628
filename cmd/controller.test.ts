// `persys controller docker` and `persys controllers` in-process against a real API server: they
// schedule Containers while holding their Lease, release it on stop, share one informer per kind,
// and refuse unknown names.
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApiClient } from '../lib/client/client.js';
import { silentLogger } from '../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../e2e/harness/apiserver.js';
import { captureIo } from '../lib/cli/io.js';
import { main } from './commands.js';
import { CONTROLLER_ALIASES, CONTROLLERS, controllersNamed, leaseName, startControllers } from './controller.js';
import { waitFor } from '../e2e/harness/wait.js';

let api: TestApiServer;
beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  const node = await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name: 'cli-n1' }, spec: {} });
  await api.client.updateStatus({ ...node, status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '2', memory: '2Gi' } } });
});
afterAll(async () => api?.stop());

const connection = () => [
  '--server', api.config.server,
  '--ca-cert', api.config.caCert,
  '--client-cert', api.config.clientCert,
  '--client-key', api.config.clientKey,
  '--metrics-listen', '127.0.0.1:0',
  '--log-level', 'silent',
];

async function boundNode(name: string): Promise<string | undefined> {
  await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name, namespace: 'default' }, spec: { image: 'persys/busybox:test' } });
  return waitFor(async () => (await api.client.get('Container', name, 'default')).spec?.nodeName, `${name} bound`);
}

describe('persys controller(s)', () => {
  it('controllers runs every controller under the one Lease persys-controllers and releases it on stop', async () => {
    const stop = new AbortController();
    const io = captureIo('', stop.signal);
    const exit = main(['controllers', ...connection()], io);
    expect(await boundNode('cli-a')).toBe('cli-n1');
    const lease = await api.client.get('Lease', 'persys-controllers', 'persys-system');
    expect(lease.spec.holderIdentity).toMatch(/_\d+_[0-9a-f]{6}$/);
    expect(lease.spec.leaseDurationSeconds).toBe(15);
    // No controller holds a Lease of its own any more.
    const leases = (await api.client.list('Lease', { namespace: 'persys-system' })).items.map((l) => l.metadata.name);
    expect(leases.filter((n) => n!.startsWith('persys-controller-'))).toEqual([]);
    stop.abort();
    expect(await exit).toBe(0);
    expect((await api.client.get('Lease', 'persys-controllers', 'persys-system')).spec.holderIdentity ?? '').toBe('');
  });

  it('controller docker --leader-elect=false schedules without a Lease of its own', async () => {
    await api.client.delete('Lease', 'persys-controller-docker', 'persys-system').catch(() => undefined);
    const stop = new AbortController();
    const exit = main(['controller', 'docker', '--leader-elect=false', ...connection()], captureIo('', stop.signal));
    expect(await boundNode('cli-b')).toBe('cli-n1');
    stop.abort();
    expect(await exit).toBe(0);
    await expect(api.client.get('Lease', 'persys-controller-docker', 'persys-system')).rejects.toMatchObject({ codeName: 'NOT_FOUND' });
  });

  it('every controller in one process shares one informer per kind: each kind is listed and watched once', async () => {
    const lists: string[] = [];
    const watches: string[] = [];
    const counting = new Proxy(api.client, {
      get(target, prop) {
        if (prop === 'list') return (kind: string, opts?: object) => (lists.push(kind), target.list(kind, opts));
        if (prop === 'watch') return (kind: string, opts?: object) => (watches.push(kind), target.watch(kind, opts as never));
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as ApiClient;
    const running = await startControllers({
      client: counting,
      names: Object.keys(CONTROLLERS),
      logger: silentLogger(),
      registry: new Registry(),
      metrics: { host: '127.0.0.1', port: 0 },
    });
    try {
      await waitFor(async () => running.isActive(), 'controllers running');
      await waitFor(() => watches.length >= new Set(lists).size, 'a watch after each list');
      // Long enough for a second informer of some kind to have listed and watched too.
      await sleep(500);
      const count = (calls: string[]) => Object.fromEntries([...new Set(calls)].map((k) => [k, calls.filter((c) => c === k).length]));
      // Container is read by the docker, containerset, cron, autoscaler, node, compose and endpoints
      // controllers; Node by docker, node, compose, swarm and endpoints.
      expect(lists).toContain('Container');
      expect(lists).toContain('Node');
      expect(lists).toContain('SwarmService');
      expect(lists).toContain('Service');
      expect(lists).toContain('EndpointSlice');
      expect(Object.values(count(lists)).every((n) => n === 1), JSON.stringify(count(lists))).toBe(true);
      expect(count(watches)).toEqual(count(lists));
    } finally {
      await running.stop();
    }
  });

  it('runs swarm-membership and swarm-services apart, and swarm as both under its former Lease', () => {
    expect(Object.keys(CONTROLLERS)).toEqual(expect.arrayContaining(['swarm-membership', 'swarm-services']));
    expect(Object.keys(CONTROLLERS)).not.toContain('swarm');
    expect(controllersNamed('swarm')).toEqual(['swarm-membership', 'swarm-services']);
    expect(controllersNamed('swarm-services')).toEqual(['swarm-services']);
    expect(controllersNamed('nosuch')).toBeUndefined();
    expect(leaseName(['swarm-services', 'swarm-membership'])).toBe('persys-controller-swarm');
    expect(leaseName(['swarm-membership'])).toBe('persys-controller-swarm-membership');
    expect(leaseName(Object.keys(CONTROLLERS))).toBe('persys-controllers');
    for (const names of Object.values(CONTROLLER_ALIASES)) for (const n of names) expect(Object.hasOwn(CONTROLLERS, n)).toBe(true);
  });

  it('controller swarm runs both swarm controllers under the Lease persys-controller-swarm', async () => {
    const stop = new AbortController();
    const io = captureIo('', stop.signal);
    const exit = main(['controller', 'swarm', ...connection()], io);
    const lease = await waitFor(async () => {
      const l = await api.client.get('Lease', 'persys-controller-swarm', 'persys-system').catch(() => undefined);
      return l?.spec?.holderIdentity ? l : undefined;
    }, 'the swarm Lease held');
    expect(lease.spec.holderIdentity).toMatch(/_\d+_[0-9a-f]{6}$/);
    stop.abort();
    expect(await exit).toBe(0);
  });

  it('refuses an unknown controller and names the known ones', async () => {
    const io = captureIo();
    expect(await main(['controller', 'nosuch', ...connection()], io)).toBe(1);
    expect(io.stderr()).toContain('unknown controller "nosuch": one of docker');
  });

  it('refuses a malformed node timeout or eviction rate before starting anything', async () => {
    const io = captureIo();
    expect(await main(['controllers', '--node-eviction-rate', '0', ...connection()], io)).toBe(1);
    expect(io.stderr()).toContain('invalid --node-eviction-rate "0"');
    const io2 = captureIo();
    expect(await main(['controller', 'node', '--node-monitor-grace-period', 'soon', ...connection()], io2)).toBe(1);
    expect(io2.stderr()).toContain('invalid duration "soon" for --node-monitor-grace-period');
    const io3 = captureIo();
    expect(await main(['controller', 'node', '--node-stream-loss-grace-period', '0s', ...connection()], io3)).toBe(1);
    expect(io3.stderr()).toContain('--node-stream-loss-grace-period must be longer than 0s');
  });
});
