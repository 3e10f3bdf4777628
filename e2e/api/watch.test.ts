// Watch over gRPC against real etcd: live events with selectors, resume from a resourceVersion,
// bookmarks for idle watchers, and the "too old" error after etcd compaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status as Code } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import type { Resource } from '../../lib/api/resource.js';
import type { WatchEvent as WireWatchEvent } from '../../lib/gen/persys/v1/api.js';
import { type ClientWatchEvent } from '../../lib/client/client.js';
import { ApiError } from '../../lib/client/errors.js';
import { startEtcd, type EtcdInstance } from '../harness/etcd.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

// Compaction is global to an etcd: this file has its own.
let etcd: EtcdInstance;
let api: TestApiServer;
beforeAll(async () => {
  etcd = await startEtcd();
  api = await startTestApiServer(etcd.endpoint, { bookmarkIntervalMs: 200 });
});
afterAll(async () => {
  await api?.stop();
  await etcd?.stop();
});

const container = (name: string, labels: Record<string, string> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, labels },
  spec: { image: 'persys/busybox:test' },
});

/** Collects `count` events (bookmarks excluded unless asked) from a watch, or fails after a timeout. */
async function collect(stream: AsyncGenerator<ClientWatchEvent>, count: number, opts: { bookmarks?: boolean } = {}): Promise<ClientWatchEvent[]> {
  const got: ClientWatchEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out with ${got.length}/${count} events`)), 15_000);
  });
  try {
    while (got.length < count) {
      const next = await Promise.race([stream.next(), timeout]);
      if (next.done) break;
      if (next.value.type === 'BOOKMARK' && !opts.bookmarks) continue;
      got.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return got;
}

const summary = (evs: ClientWatchEvent[]) => evs.map((e) => `${e.type} ${e.object?.metadata.name ?? ''}`.trim());

describe('watch', () => {
  it('streams ADDED, MODIFIED and DELETED for matching objects only', async () => {
    const { resourceVersion } = await api.client.list('Container');
    const stream = api.client.watch('Container', { resourceVersion, labelSelector: 'app=w' });
    const done = collect(stream, 4);
    const a = await api.client.create(container('w-a', { app: 'w' }));
    await api.client.create(container('w-other', { app: 'x' }));
    await api.client.update({ ...a, spec: { ...a.spec, args: ['1'] } });
    await api.client.create(container('w-b', { app: 'w' }));
    await api.client.delete('Container', 'w-a', 'default');
    const events = await done;
    expect(summary(events)).toEqual(['ADDED w-a', 'MODIFIED w-a', 'ADDED w-b', 'DELETED w-a']);
    expect(events[1]!.object!.spec.args).toEqual(['1']);
  });

  it('sends ADDED for an object that starts matching and DELETED when it stops', async () => {
    const c = await api.client.create(container('w-flip', { tier: 'a' }));
    const stream = api.client.watch('Container', { resourceVersion: c.metadata.resourceVersion, labelSelector: 'tier=b' });
    const done = collect(stream, 2);
    const b = await api.client.update({ ...c, metadata: { ...c.metadata, labels: { tier: 'b' } } });
    await api.client.update({ ...b, metadata: { ...b.metadata, labels: { tier: 'c' } } });
    expect(summary(await done)).toEqual(['ADDED w-flip', 'DELETED w-flip']);
  });

  it('resumes from a resourceVersion without losing or repeating events', async () => {
    const first = await api.client.create(container('r-1', { set: 'resume' }));
    await api.client.create(container('r-2', { set: 'resume' }));
    await api.client.create(container('r-3', { set: 'resume' }));
    const stream = api.client.watch('Container', { resourceVersion: first.metadata.resourceVersion, labelSelector: 'set=resume' });
    expect(summary(await collect(stream, 2))).toEqual(['ADDED r-2', 'ADDED r-3']);
  });

  it('starts with the current objects when no resourceVersion is given', async () => {
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: 'initial' } });
    await api.client.create({ ...container('i-1'), metadata: { name: 'i-1', namespace: 'initial' } });
    await api.client.create({ ...container('i-2'), metadata: { name: 'i-2', namespace: 'initial' } });
    const events = await collect(api.client.watch('Container', { namespace: 'initial' }), 2);
    expect(summary(events).sort()).toEqual(['ADDED i-1', 'ADDED i-2']);
  });

  it('delivers a burst of 3,000 creates whole and in order, in batches to the client and one by one to a caller that does not ask for them', async () => {
    const { resourceVersion } = await api.client.list('Container', { namespace: 'default' });
    const batched = api.client.watch('Container', { resourceVersion, labelSelector: 'app=burst' });
    // A caller built before batches existed: allowBatches false, so every message is one event.
    const plain = api.client.raw.watch({ kind: 'Container', namespace: '', labelSelector: 'app=burst', fieldSelector: '', resourceVersion, allowBookmarks: false, allowBatches: false });
    const plainNames: string[] = [];
    let batchesSeenByPlain = 0;
    const plainDone = new Promise<void>((resolve, reject) => {
      plain.on('data', (m: WireWatchEvent) => {
        if (m.events.length > 0) batchesSeenByPlain++;
        if (m.type === 'ADDED' && plainNames.push(m.object?.object?.value.metadata?.name ?? '') === 3000) resolve();
      });
      plain.on('error', reject);
    });
    const got = collect(batched, 3000);
    const names = Array.from({ length: 3000 }, (_, i) => `burst-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(names.slice(i, i + 100).map((n) => api.client.create(container(n, { app: 'burst' }))));
    }
    const events = await got;
    await plainDone;
    plain.cancel();
    await batched.return(undefined);
    expect(events.every((e) => e.type === 'ADDED')).toBe(true);
    expect(events.map((e) => e.object!.metadata.name).sort()).toEqual(names);
    const revisions = events.map((e) => BigInt(e.resourceVersion));
    expect(revisions.every((r, i) => i === 0 || r >= revisions[i - 1]!)).toBe(true);
    expect([...plainNames].sort()).toEqual(names);
    expect(batchesSeenByPlain).toBe(0);
  });

  it('keeps an idle watcher current with bookmarks', async () => {
    const { resourceVersion } = await api.client.list('Secret');
    const stream = api.client.watch('Secret', { resourceVersion, allowBookmarks: true });
    // A write to another kind moves the revision; the idle Secret watcher learns it by bookmark.
    const later = await api.client.create(container('bm-1'));
    let bookmark: ClientWatchEvent | undefined;
    for (let i = 0; i < 100 && !(bookmark && BigInt(bookmark.resourceVersion) >= BigInt(later.metadata.resourceVersion!)); i++) {
      [bookmark] = await collect(stream, 1, { bookmarks: true });
      expect(bookmark?.type).toBe('BOOKMARK');
    }
    await stream.return(undefined);
    expect(BigInt(bookmark!.resourceVersion)).toBeGreaterThanOrEqual(BigInt(resourceVersion));
  });

  it('fails a watch from a compacted resourceVersion with OUT_OF_RANGE "too old", and re-listing recovers', async () => {
    const old = await api.client.create(container('c-old', { set: 'compact' }));
    // Push the cache's ring and etcd's history past `old`, then compact etcd.
    for (let i = 0; i < 5; i++) await api.client.create(container(`c-${i}`, { set: 'compact' }));
    const raw = new Etcd3({ hosts: etcd.endpoint });
    const rev = (await raw.get('nothing').exec()).header.revision;
    await raw.kv.compact({ revision: rev, physical: true } as never);
    raw.close();
    await api.server.stop();
    // A fresh API server has only the history etcd still holds.
    const restarted = await startTestApiServer(etcd.endpoint);
    try {
      const err = await collect(restarted.client.watch('Container', { resourceVersion: old.metadata.resourceVersion }), 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(Code.OUT_OF_RANGE);
      expect((err as ApiError).message).toMatch(/too old/);
      const { resourceVersion } = await restarted.client.list('Container');
      const stream = restarted.client.watch('Container', { resourceVersion });
      const done = collect(stream, 1);
      await restarted.client.create(container('c-after'));
      expect(summary(await done)).toEqual(['ADDED c-after']);
    } finally {
      await restarted.stop();
    }
  });
});
