// Counts etcd writes (revisions) over a window, by key, so a test or benchmark can say who writes
// while a cluster is idle: node Lease renewals (one per node per heartbeat) apart from the rest.
import { Etcd3 } from 'etcd3';

export interface WriteCount {
  /** Revisions the window added (a transaction of several puts is one). */
  revisions: number;
  /** Writes per key, from a watch of every key over the window. */
  byKey: Map<string, number>;
  /** Writes to node Leases (namespace persys-node-lease): the agents' heartbeats. */
  nodeLeaseWrites: number;
  windowMs: number;
}

const NODE_LEASE = /\/leases\/persys-node-lease\//;

async function revision(client: Etcd3): Promise<number> {
  return Number((await client.get('\0').exec()).header.revision);
}

/** Watches every key of `endpoint` for `windowMs` and counts what was written. */
export async function countEtcdWrites(endpoint: string, windowMs: number): Promise<WriteCount> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    const byKey = new Map<string, number>();
    const start = await revision(client);
    const watcher = await client.watch().prefix('').startRevision(String(start + 1)).create();
    watcher.on('put', (kv) => byKey.set(kv.key.toString(), (byKey.get(kv.key.toString()) ?? 0) + 1));
    watcher.on('delete', (kv) => byKey.set(kv.key.toString(), (byKey.get(kv.key.toString()) ?? 0) + 1));
    watcher.on('error', () => undefined);
    const began = Date.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const end = await revision(client);
    // The watch delivers a little later; byKey is for telling writers apart, `revisions` is the count.
    await new Promise((r) => setTimeout(r, 300));
    await watcher.cancel();
    let nodeLeaseWrites = 0;
    for (const [k, n] of byKey) if (NODE_LEASE.test(k)) nodeLeaseWrites += n;
    return { revisions: end - start, byKey, nodeLeaseWrites, windowMs: Date.now() - began };
  } finally {
    client.close();
  }
}

/** The busiest keys first, "key ×n", for a report or a failure message. */
export function topWriters(count: WriteCount, limit = 15): string[] {
  return [...count.byKey]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, n]) => `${k} ×${n}`);
}
