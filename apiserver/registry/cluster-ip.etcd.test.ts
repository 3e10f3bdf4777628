// Cluster IP allocation on real etcd, two allocators (two API servers) sharing it: an address taken
// for a Service that is not stored yet (a create in progress) is never handed to another Service.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { EtcdStorage } from '../storage/etcd.js';
import { ClusterIpAllocator, Ipv4Range } from './cluster-ip.js';

const storage = new EtcdStorage({ endpoints: [inject('etcdEndpoint')], prefix: `/test-cluster-ip/${randomUUID()}` });
afterAll(() => storage.close());

const svc = (name: string, clusterIp?: string): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', uid: randomUUID() },
  spec: clusterIp ? { clusterIp } : {},
});

describe('ClusterIpAllocator on two API servers', () => {
  const range = Ipv4Range.parse('10.98.0.0/30');
  let clock = 1_000_000;
  const a = new ClusterIpAllocator(storage, range, silentLogger(), () => clock);
  const b = new ClusterIpAllocator(storage, range, silentLogger(), () => clock);

  it('does not take an address whose Service is still being created, and reclaims it once that create is long gone', async () => {
    const first = svc('first', '10.98.0.1');
    await a.allocate(first); // Server A took it; its Service is not stored (yet).
    await expect(b.allocate(svc('second', '10.98.0.1'))).rejects.toThrow('10.98.0.1 is already allocated to Service default/first');
    // Any address: B takes the other one, not A's.
    const third = svc('third');
    await b.allocate(third);
    expect(third.spec.clusterIp).toBe('10.98.0.2');
    // The range is full now, and stays full while those creates may still be in progress.
    await expect(b.allocate(svc('fourth'))).rejects.toThrow('is exhausted');
    // A minute later neither Service was stored: those creates failed for good, and their addresses return.
    clock += 61_000;
    const fifth = svc('fifth');
    await b.allocate(fifth);
    expect(['10.98.0.1', '10.98.0.2']).toContain(fifth.spec.clusterIp);
  });
});
