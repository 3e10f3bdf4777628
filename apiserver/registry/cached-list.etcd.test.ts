// CachedLister on a real etcd and watch cache: a list never misses an acknowledged write, a quiet
// kind is served from its cache, pages stay one snapshot, and an expired snapshot is left to etcd.
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { EtcdStorage } from '../storage/etcd.js';
import { WatchCache } from '../watch/cache.js';
import { CachedLister } from './cached-list.js';

const endpoint = inject('etcdEndpoint');
const filePrefix = `/persys-test/cached-list-${randomUUID()}`;
const all = () => true;

const container = (name: string): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default' },
  spec: { image: 'busybox' },
});

afterAll(async () => {
  const raw = new Etcd3({ hosts: endpoint });
  await raw.delete().prefix(`${filePrefix}/`);
  raw.close();
});

describe('CachedLister on etcd', () => {
  let storage: EtcdStorage;
  let cache: WatchCache;
  let clock = 0;
  let lister: CachedLister;
  beforeEach(async () => {
    storage = new EtcdStorage({ endpoints: [endpoint], prefix: `${filePrefix}/${randomUUID()}` });
    cache = new WatchCache(storage, 'containers/');
    await cache.start();
    lister = new CachedLister(storage, () => cache, { now: () => clock, retainMs: 1_000 });
  });
  afterEach(async () => {
    cache.stop();
    await storage.close();
  });

  it('includes every write acknowledged before the list began', async () => {
    for (let i = 0; i < 50; i++) {
      const created = await storage.create(`containers/default/c${String(i).padStart(2, '0')}`, container(`c${i}`));
      const page = await lister.list('Container', 'containers/', { limit: 0, matches: all });
      expect(page).toBeDefined();
      expect(page!.items).toHaveLength(i + 1);
      expect(BigInt(page!.revision)).toBeGreaterThanOrEqual(BigInt(created.revision));
    }
  });

  it('serves a quiet kind from its cache while other prefixes move etcd on', async () => {
    await storage.create('containers/default/a', container('a'));
    const first = await lister.list('Container', 'containers/', { limit: 0, matches: all });
    for (let i = 0; i < 5; i++) await storage.create(`secrets/default/s${i}`, { ...container(`s${i}`), kind: 'Secret' });
    const now = await storage.currentRevision();
    const again = await lister.list('Container', 'containers/', { limit: 0, matches: all });
    // etcd would have answered at its current revision; the cache answers at its own, older one.
    expect(again!.revision).toBe(first!.revision);
    expect(BigInt(again!.revision)).toBeLessThan(BigInt(now));
    expect(again!.items.map((o) => o.metadata.name)).toEqual(['a']);
  });

  it('serves every page from the first page\'s snapshot, and leaves an expired one to etcd', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) await storage.create(`containers/default/${n}`, container(n));
    const first = await lister.list('Container', 'containers/default/', { limit: 2, matches: all });
    expect(first!.items.map((o) => o.metadata.name)).toEqual(['a', 'b']);
    await storage.delete('containers/default/d');
    await storage.create('containers/default/bb', container('bb'));
    const second = await lister.list('Container', 'containers/default/', { limit: 2, continue: first!.continue, matches: all });
    expect(second!.revision).toBe(first!.revision);
    expect(second!.items.map((o) => o.metadata.name)).toEqual(['c', 'd']);
    clock += 5_000;
    expect(await lister.list('Container', 'containers/default/', { limit: 2, continue: second!.continue, matches: all })).toBeUndefined();
    // etcd serves the same revision from the same token.
    const third = await storage.list('containers/default/', { limit: 2, continue: second!.continue });
    expect(third.revision).toBe(first!.revision);
    expect(third.items.map((i) => i.value.metadata.name)).toEqual(['e']);
  });
});
