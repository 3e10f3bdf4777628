// The watch hub's metrics on a real etcd: a watcher the cache cuts off for falling behind is counted in
// apiserver_terminated_watchers_total with its kind and reason.
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { apiServerMetrics, createRegistry } from '../../lib/observability/metrics.js';
import { EtcdStorage } from '../storage/etcd.js';
import { WatchHub } from './hub.js';
import { take } from './testing.js';

const endpoint = inject('etcdEndpoint');
const prefix = `/persys-test/hub-metrics-${randomUUID()}`;

afterAll(async () => {
  const raw = new Etcd3({ hosts: endpoint });
  await raw.delete().prefix(`${prefix}/`);
  raw.close();
});

const container = (name: string): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default' },
  spec: { image: 'busybox' },
});

describe('WatchHub metrics', () => {
  it('counts a watcher cut off for falling behind as terminated, reason slow, by kind', async () => {
    const storage = new EtcdStorage({ endpoints: [endpoint], prefix });
    const registry = createRegistry();
    const metrics = apiServerMetrics(registry);
    const hub = new WatchHub(storage, { logger: silentLogger(), metrics });
    try {
      await hub.start();
      const cache = hub.cache('Container');
      const slow = cache.watch({ fromRevision: cache.currentRevision(), bufferSize: 2 });
      for (let i = 0; i < 6; i++) await storage.create(`containers/default/c${i}`, container(`c${i}`));
      // What was buffered before the overflow is delivered first, then the watch ends.
      await expect(take(slow, 6)).rejects.toMatchObject({ name: 'SlowWatcherError' });
      expect((await metrics.terminatedWatchers.get()).values).toEqual([{ value: 1, labels: { kind: 'Container', reason: 'slow' } }]);
    } finally {
      hub.stop();
      await storage.close();
    }
  });
});
