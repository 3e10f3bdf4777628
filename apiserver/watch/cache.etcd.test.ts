// WatchCache on a real etcd: fan-out, resume and read-your-writes on the shared etcd; recovery
// from a compaction during a network outage on a private etcd behind a TCP proxy we can cut.
import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startEtcd } from '../../e2e/harness/etcd.js';
import type { Resource } from '../../lib/api/resource.js';
import { EtcdStorage } from '../storage/etcd.js';
import { WatchCache } from './cache.js';
import type { WatchEvent } from './event.js';
import type { Watcher } from './watcher.js';
import { brief, take } from './testing.js';

const endpoint = inject('etcdEndpoint');
const filePrefix = `/persys-test/watch-cache-${randomUUID()}`;

const container = (name: string, labels: Record<string, string> = {}, image = 'busybox'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default', labels },
  spec: { image },
});


/** A TCP proxy to etcd whose connections can be cut and refused, like a network partition. */
async function startProxy(target: string): Promise<{ endpoint: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) return client.destroy();
    const upstream = createConnection({ host: hostname, port: Number(port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined); // a cut connection is the point of this proxy
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${proxyPort}`,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

afterAll(async () => {
  const raw = new Etcd3({ hosts: endpoint });
  await raw.delete().prefix(`${filePrefix}/`);
  raw.close();
});

describe('WatchCache on etcd', () => {
  it('fans one etcd watch out to many watchers, resumes exactly, and serves read-your-writes', async () => {
    const storage = new EtcdStorage({ endpoints: [endpoint], prefix: `${filePrefix}/fanout` });
    const cache = new WatchCache(storage, 'containers/');
    try {
      await storage.create('containers/default/a', container('a'));
      await cache.start();
      expect(cache.snapshot().objects.map((o) => o.metadata.name)).toEqual(['a']);
      const start = cache.snapshot().revision;
      const watchers = Array.from({ length: 20 }, () => cache.watch({ fromRevision: start }));
      const web = cache.watch({ fromRevision: start, filter: (o) => o.metadata.labels?.app === 'web' });

      const b = await storage.create('containers/default/b', container('b'));
      const a2 = await storage.update('containers/default/a', container('a', { app: 'web' }));
      await storage.create('secrets/default/s', container('s')); // another prefix: not seen
      const a3 = await storage.update('containers/default/a', container('a', { app: 'db' }));
      const bGone = await storage.delete('containers/default/b');
      const c = await storage.create('containers/default/c', container('c'));
      await cache.waitForRevision(c.revision);
      expect(cache.snapshot().objects.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)).toEqual([
        `a@${a3.revision}`,
        `c@${c.revision}`,
      ]);

      const expected = await take(watchers[0]!, 5);
      expect(expected.map((e) => `${e.type} ${e.object!.metadata.name}`)).toEqual([
        'ADDED b', 'MODIFIED a', 'MODIFIED a', 'DELETED b', 'ADDED c',
      ]);
      expect(expected.map((e) => e.revision)).toEqual([b.revision, a2.revision, a3.revision, expected[3]!.revision, c.revision]);
      expect(BigInt(expected[3]!.revision)).toBeGreaterThan(BigInt(a3.revision));
      expect(bGone.value.metadata.name).toBe('b');
      for (const w of watchers.slice(1)) expect(brief(await take(w, 5))).toEqual(brief(expected));
      expect(brief(await take(web, 2))).toEqual([`ADDED a@${a2.revision}`, `DELETED a@${a3.revision}`]);

      const resumed = cache.watch({ fromRevision: a2.revision });
      expect(brief(await take(resumed, 3))).toEqual(brief(expected.slice(2)));
    } finally {
      cache.stop();
      await storage.close();
    }
  });

  it('re-lists after etcd compacted its resume revision during an outage, synthesizing what watchers missed', async () => {
    const etcd = await startEtcd();
    const proxy = await startProxy(etcd.endpoint);
    const direct = new EtcdStorage({ endpoints: [etcd.endpoint], prefix: '/persys' });
    const viaProxy = new EtcdStorage({ endpoints: [proxy.endpoint], prefix: '/persys' });
    const delays: number[] = [];
    // Short real pauses: etcd3's circuit breaker may refuse calls for a few seconds after the outage.
    const cache = new WatchCache(viaProxy, 'containers/', {
      sleep: async (ms) => {
        delays.push(ms);
        await sleep(50);
      },
    });
    try {
      for (const n of ['a', 'b', 'd']) await direct.create(`containers/default/${n}`, container(n));
      await cache.start();
      const before = cache.snapshot().revision;
      const w = cache.watch({ fromRevision: before });

      proxy.cut();
      await direct.delete('containers/default/a');
      const b2 = await direct.update('containers/default/b', container('b', {}, 'nginx'));
      const c = await direct.create('containers/default/c', container('c'));
      await direct.create('containers/default/x', container('x'));
      await direct.delete('containers/default/x');
      const compactedAt = await direct.currentRevision();
      await direct.compact(compactedAt);
      proxy.restore();

      const evs = await take(w, 3);
      expect(evs.map((e) => `${e.type} ${e.object!.metadata.name}`)).toEqual(['DELETED a', 'MODIFIED b', 'ADDED c']);
      const listRevision = evs[0]!.revision;
      expect(evs.every((e) => e.revision === listRevision)).toBe(true);
      expect(BigInt(listRevision)).toBeGreaterThanOrEqual(BigInt(compactedAt));
      expect(evs[1]!.object!.metadata.resourceVersion).toBe(b2.revision);
      expect(evs[2]!.object!.metadata.resourceVersion).toBe(c.revision);
      expect(delays.length).toBeGreaterThanOrEqual(1);

      // The cache watches again: later writes arrive live.
      const d2 = await direct.update('containers/default/d', container('d', {}, 'nginx'));
      expect(brief(await take(w, 1))).toEqual([`MODIFIED d@${d2.revision}`]);
      expect(cache.snapshot().objects.map((o) => o.metadata.name)).toEqual(['b', 'c', 'd']);
    } finally {
      cache.stop();
      await viaProxy.close();
      await direct.close();
      await proxy.close();
      await etcd.stop();
    }
  });
});
