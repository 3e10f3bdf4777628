// EtcdStorage against a real etcd: the shared conformance suite plus what is specific to etcd
// (key layout, stored bytes, client ownership, token validation).
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEtcd } from '../../e2e/harness/etcd.js';
import { storageConformance } from './conformance.js';
import { EtcdStorage } from './etcd.js';
import { StorageError } from './errors.js';
import type { Resource } from '../../lib/api/resource.js';
import type { StorageEvent } from './interface.js';

const endpoint = inject('etcdEndpoint');
const filePrefix = `/persys-test/storage-etcd-${randomUUID()}`;

storageConformance(
  'etcd',
  async () => {
    const prefix = `${filePrefix}/${randomUUID()}`;
    const storage = new EtcdStorage({ endpoints: [endpoint], prefix });
    return {
      storage,
      async cleanup() {
        await storage.close();
        const raw = new Etcd3({ hosts: endpoint });
        await raw.delete().prefix(`${prefix}/`);
        raw.close();
      },
    };
  },
  {
    // Compaction is etcd-wide: doing it on the shared etcd would break watches in other test files.
    async makeIsolated() {
      const etcd = await startEtcd();
      const storage = new EtcdStorage({ endpoints: [etcd.endpoint] });
      return {
        storage,
        async cleanup() {
          await storage.close();
          await etcd.stop();
        },
      };
    },
  },
);

describe('EtcdStorage on etcd', () => {
  let raw: Etcd3;
  beforeAll(() => {
    raw = new Etcd3({ hosts: endpoint });
  });
  afterAll(async () => {
    await raw.delete().prefix(`${filePrefix}/`);
    raw.close();
  });

  it('stores JSON under the prefix without resourceVersion', async () => {
    const prefix = `${filePrefix}/layout`;
    const storage = new EtcdStorage({ endpoints: [endpoint], prefix });
    try {
      const created = await storage.create('containers/default/web', {
        apiVersion: 'persys.dev/v1',
        kind: 'Container',
        metadata: { name: 'web', namespace: 'default', resourceVersion: '42' },
        spec: { image: 'busybox' },
      });
      const bytes = await raw.get(`${prefix}/containers/default/web`).string();
      expect(JSON.parse(bytes!)).toEqual({
        apiVersion: 'persys.dev/v1',
        kind: 'Container',
        metadata: { name: 'web', namespace: 'default' },
        spec: { image: 'busybox' },
      });
      const kv = (await raw.get(`${prefix}/containers/default/web`).exec()).kvs[0]!;
      expect(created.revision).toBe(kv.mod_revision);
    } finally {
      await storage.close();
    }
  });

  it('keeps a prefix from seeing keys of a longer prefix that starts the same', async () => {
    const short = new EtcdStorage({ endpoints: [endpoint], prefix: `${filePrefix}/p` });
    const long = new EtcdStorage({ endpoints: [endpoint], prefix: `${filePrefix}/p2` });
    try {
      await long.create('items/a', { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'a' } });
      expect((await short.list('')).items).toEqual([]);
      expect(await short.get('items/a')).toBeUndefined();
      expect((await long.list('')).items.map((i) => i.key)).toEqual(['items/a']);
    } finally {
      await short.close();
      await long.close();
    }
  });

  it('rejects a malformed continue token or one for another prefix with a StorageError', async () => {
    const storage = new EtcdStorage({ endpoints: [endpoint], prefix: `${filePrefix}/tokens` });
    try {
      for (const n of ['a', 'b']) {
        await storage.create(`items/${n}`, { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: n } });
      }
      const page = await storage.list('items/', { limit: 1 });
      await expect(storage.list('items/', { continue: 'not-a-token' })).rejects.toBeInstanceOf(StorageError);
      await expect(storage.list('other/', { continue: page.continue })).rejects.toBeInstanceOf(StorageError);
    } finally {
      await storage.close();
    }
  });

  it('leaves a caller-provided client open on close', async () => {
    const client = new Etcd3({ hosts: endpoint });
    try {
      const storage = new EtcdStorage({ endpoints: [], prefix: `${filePrefix}/owned`, client });
      await storage.currentRevision();
      await storage.close();
      await expect(client.get('anything').string()).resolves.toBeNull();
    } finally {
      client.close();
    }
  });

  it('resumes a watch after its stream drops without losing or repeating events', async () => {
    const client = new Etcd3({ hosts: endpoint });
    const storage = new EtcdStorage({ endpoints: [], prefix: `${filePrefix}/reconnect`, client });
    try {
      const from = await storage.currentRevision();
      const events: StorageEvent[] = [];
      let arrived = () => {};
      const waitFor = (n: number) =>
        new Promise<void>((resolve, reject) => {
          const check = () => (events.length >= n ? resolve() : undefined);
          arrived = check;
          failed = reject;
          check();
        });
      let failed: (err: Error) => void = () => {};
      storage.watch('items/', from, {
        onEvent: (e) => (events.push(e), arrived()),
        onError: (e) => failed(e),
      });
      for (let i = 0; i < 3; i++) await storage.create(`items/${i}`, secret(`${i}`));
      await waitFor(3);
      // etcd3 1.1.2 exposes no way to drop a stream; its watch manager's error path is what a
      // network failure takes (the stream is cancelled and re-established with backoff).
      (client as unknown as { watchManager: { handleError(err: Error): void } }).watchManager.handleError(
        new Error('simulated stream failure'),
      );
      for (let i = 3; i < 6; i++) await storage.create(`items/${i}`, secret(`${i}`));
      await waitFor(6);
      await storage.create('items/sentinel', secret('s'));
      await waitFor(7);
      expect(events.map((e) => e.key)).toEqual([0, 1, 2, 3, 4, 5, 'sentinel'].map((k) => `items/${k}`));
    } finally {
      await storage.close();
      client.close();
    }
  });

  it('delivers every key a multi-key transaction changed at one revision', async () => {
    const prefix = `${filePrefix}/multikey`;
    const storage = new EtcdStorage({ endpoints: [endpoint], prefix });
    try {
      const from = await storage.currentRevision();
      const events = new Promise<StorageEvent[]>((resolve, reject) => {
        const got: StorageEvent[] = [];
        storage.watch('items/', from, {
          onEvent: (e) => (got.push(e), got.length === 2 && resolve(got)),
          onError: reject,
        });
      });
      const json = JSON.stringify(secret('x'));
      await raw.if(`${prefix}/items/a`, 'Create', '==', 0).then(
        raw.put(`${prefix}/items/a`).value(json),
        raw.put(`${prefix}/items/b`).value(json),
      ).commit();
      const [a, b] = await events;
      expect([a!.key, b!.key]).toEqual(['items/a', 'items/b']);
      expect(a!.revision).toBe(b!.revision);
    } finally {
      await storage.close();
    }
  });

  it('ends a watch with onError instead of crashing when onEvent throws', async () => {
    const storage = new EtcdStorage({ endpoints: [endpoint], prefix: `${filePrefix}/throwing` });
    try {
      const from = await storage.currentRevision();
      const failed = new Promise<Error>((resolve) => {
        storage.watch('items/', from, {
          onEvent() {
            throw new Error('handler bug');
          },
          onError: resolve,
        });
      });
      await storage.create('items/a', { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'a' } });
      expect((await failed).message).toBe('handler bug');
    } finally {
      await storage.close();
    }
  });
});

function secret(data: string): Resource {
  return { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'a' }, spec: { data } };
}
