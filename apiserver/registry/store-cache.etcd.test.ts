// ResourceStore writes that start from the watch cache's copy on a real etcd: a stale copy costs a retry
// from etcd, never a lost update, a false conflict or a write over a newer object.
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { status as Code } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { ApiStatusError } from '../api/status.js';
import { EtcdStorage } from '../storage/etcd.js';
import { ResourceStore } from './store.js';

const endpoint = inject('etcdEndpoint');
const filePrefix = `/persys-test/store-cache-${randomUUID()}`;

const container = (name: string, image = 'busybox'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default' },
  spec: { image },
});

const activeNamespace: Resource = { apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: 'default' } };

async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof ApiStatusError) return err.code;
    throw err;
  }
}

afterAll(async () => {
  const raw = new Etcd3({ hosts: endpoint });
  await raw.delete().prefix(`${filePrefix}/`);
  raw.close();
});

describe('ResourceStore writes from a cached copy', () => {
  let storage: EtcdStorage;
  let store: ResourceStore;
  /** What the "watch cache" hands out; tests put stale copies here on purpose. */
  let cached: Map<string, Resource>;
  let cacheReads = 0;
  beforeEach(() => {
    storage = new EtcdStorage({ endpoints: [endpoint], prefix: `${filePrefix}/${randomUUID()}` });
    cached = new Map();
    cacheReads = 0;
    store = new ResourceStore(storage, silentLogger(), {
      cachedNamespace: () => activeNamespace,
      cachedObject: (_kind, key) => {
        cacheReads++;
        return [...cached.values()].find((o) => key.endsWith(`/${o.metadata.name}`));
      },
    });
  });
  afterEach(async () => {
    await storage.close();
  });

  it('updates from a current copy without reading etcd first, and from a stale copy by retrying', async () => {
    const v1 = await store.create(container('web'));
    cached.set('web', v1);
    const v2 = await store.update({ ...v1, spec: { image: 'busybox:2' } });
    expect(cacheReads).toBe(1);
    expect((v2.spec as { image: string }).image).toBe('busybox:2');
    // The cache still holds v1: the swap fails, the retry reads etcd, the update lands on v2.
    const v3 = await store.update({ ...container('web', 'busybox:3') });
    expect((v3.spec as { image: string }).image).toBe('busybox:3');
    expect(BigInt(v3.metadata.resourceVersion!)).toBeGreaterThan(BigInt(v2.metadata.resourceVersion!));
    expect(v3.metadata.uid).toBe(v1.metadata.uid);
  });

  it('keeps a stale resourceVersion a conflict even when the cache holds that very version', async () => {
    const v1 = await store.create(container('api'));
    await store.update({ ...v1, spec: { image: 'busybox:2' } });
    cached.set('api', v1);
    expect(await codeOf(store.update({ ...v1, spec: { image: 'busybox:9' } }))).toBe(Code.ABORTED);
    const live = await store.get('Container', 'default', 'api');
    expect((live.spec as { image: string }).image).toBe('busybox:2');
  });

  it('writes status from a stale copy onto the current object', async () => {
    const v1 = await store.create(container('db'));
    cached.set('db', v1);
    const v2 = await store.update({ ...v1, spec: { image: 'busybox:2' } });
    const withStatus = await store.updateStatus({ ...v2, metadata: { ...v2.metadata, resourceVersion: undefined }, status: { phase: 'Running' } });
    expect(withStatus.status).toMatchObject({ phase: 'Running' });
    expect((withStatus.spec as { image: string }).image).toBe('busybox:2');
  });

  it('deletes by uid the recreated object even though the cache still holds the old one', async () => {
    const old = await store.create(container('job'));
    cached.set('job', old);
    await store.delete('Container', 'default', 'job');
    const recreated = await store.create(container('job'));
    await store.delete('Container', 'default', 'job', { uid: recreated.metadata.uid });
    expect(await codeOf(store.get('Container', 'default', 'job'))).toBe(Code.NOT_FOUND);
  });

  it('answers NOT_FOUND for an object deleted since the cache saw it', async () => {
    const v1 = await store.create(container('gone'));
    cached.set('gone', v1);
    await storage.delete(`containers/default/gone`);
    expect(await codeOf(store.update({ ...v1, spec: { image: 'busybox:2' } }))).toBe(Code.NOT_FOUND);
    expect(await codeOf(store.delete('Container', 'default', 'gone'))).toBe(Code.NOT_FOUND);
  });
});
