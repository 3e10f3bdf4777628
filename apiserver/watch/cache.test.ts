// WatchCache logic against an in-memory fake Storage: fan-out, resume, filters, bookmarks, slow
// watchers, re-list after a failed storage watch, waitForRevision.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { AlreadyExistsError, NotFoundError, StorageError, TooOldError } from '../storage/errors.js';
import type { ListResult, Storage, StorageEvent, StoredObject, WatchHandlers } from '../storage/interface.js';
import { WatchCache, type WatchCacheOptions } from './cache.js';
import { CacheUnavailableError, SlowWatcherError, TooLargeRevisionError } from './errors.js';
import type { WatchEvent } from './event.js';
import type { Watcher } from './watcher.js';
import { brief, take } from './testing.js';

// An in-memory Storage with etcd's revision semantics, which can fail its watches and make
// changes its watches never report (as while a watch is disconnected).
class FakeStorage implements Storage {
  rev = 1;
  data = new Map<string, StoredObject>();
  watchCalls = 0;
  listCalls = 0;
  failNextLists = 0;
  private history: StorageEvent[] = [];
  private watches = new Set<{ prefix: string; handlers: WatchHandlers }>();
  private muted = false;

  async create(key: string, value: Resource) {
    if (this.data.has(key)) throw new AlreadyExistsError(key);
    return this.write('ADDED', key, value);
  }
  async get(key: string) {
    return this.data.get(key);
  }
  async list(prefix: string): Promise<ListResult> {
    this.listCalls++;
    if (this.failNextLists > 0) {
      this.failNextLists--;
      throw new StorageError('etcd unavailable');
    }
    const items = [...this.data.values()].filter((o) => o.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1));
    return { items, revision: String(this.rev), remaining: 0 };
  }
  async update(key: string, value: Resource) {
    if (!this.data.has(key)) throw new NotFoundError(key);
    return this.write('MODIFIED', key, value);
  }
  async delete(key: string) {
    const prev = this.data.get(key);
    if (!prev) throw new NotFoundError(key);
    this.rev++;
    this.data.delete(key);
    const revision = String(this.rev);
    this.emit({ type: 'DELETED', key, value: { ...prev.value, metadata: { ...prev.value.metadata, resourceVersion: revision } }, revision });
    return prev;
  }
  async changedBetween(): Promise<boolean> {
    return true;
  }
  async deleteMany(): Promise<never> {
    throw new Error('not used by the watch cache');
  }
  watch(prefix: string, fromRevision: string, handlers: WatchHandlers) {
    this.watchCalls++;
    const w = { prefix, handlers };
    const backlog = this.history.filter((e) => e.key.startsWith(prefix) && Number(e.revision) > Number(fromRevision));
    this.watches.add(w);
    queueMicrotask(() => backlog.forEach((e) => handlers.onEvent(e)));
    return { close: () => this.watches.delete(w) };
  }
  async currentRevision() {
    return String(this.rev);
  }
  async compact() {}
  async close() {}

  /** Ends every watch with `err`, as a compaction or a broken connection would. */
  failWatches(err: Error) {
    for (const w of [...this.watches]) {
      this.watches.delete(w);
      w.handlers.onError(err);
    }
  }
  /** Changes made inside `fn` are never reported to current or future watches. */
  async unseen(fn: () => Promise<unknown>) {
    this.muted = true;
    await fn();
    this.muted = false;
  }
  get openWatches() {
    return this.watches.size;
  }

  private write(type: 'ADDED' | 'MODIFIED', key: string, value: Resource) {
    this.rev++;
    const revision = String(this.rev);
    const stored = { key, value: { ...value, metadata: { ...value.metadata, resourceVersion: revision } }, revision };
    this.data.set(key, stored);
    this.emit({ type, key, value: stored.value, revision });
    return stored;
  }
  private emit(ev: StorageEvent) {
    if (this.muted) return;
    this.history.push(ev);
    for (const w of this.watches) if (ev.key.startsWith(w.prefix)) queueMicrotask(() => this.watches.has(w) && w.handlers.onEvent(ev));
  }
}

const container = (name: string, labels: Record<string, string> = {}, image = 'busybox'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default', labels },
  spec: { image },
});

async function newCache(storage: FakeStorage, opts: WatchCacheOptions = {}) {
  const delays: number[] = [];
  const cache = new WatchCache(storage, 'containers/', {
    sleep: async (ms) => void delays.push(ms),
    ...opts,
  });
  await cache.start();
  return { cache, delays };
}


describe('WatchCache', () => {
  it('lists at start and serves a snapshot in key order at the list revision', async () => {
    const storage = new FakeStorage();
    await storage.create('containers/default/b', container('b'));
    await storage.create('containers/default/a', container('a'));
    await storage.create('secrets/default/s', container('s'));
    const { cache } = await newCache(storage);
    const snap = cache.snapshot();
    expect(snap.revision).toBe('4');
    expect(snap.objects.map((o) => [o.metadata.name, o.metadata.resourceVersion])).toEqual([
      ['a', '3'],
      ['b', '2'],
    ]);
    cache.stop();
  });

  it('fans one storage watch out to many watchers, each receiving every event in order', async () => {
    const storage = new FakeStorage();
    const { cache } = await newCache(storage);
    const watchers = Array.from({ length: 50 }, () => cache.watch({ fromRevision: cache.snapshot().revision }));
    await storage.create('containers/default/a', container('a'));
    await storage.update('containers/default/a', container('a', {}, 'nginx'));
    await storage.delete('containers/default/a');
    const seen = await Promise.all(watchers.map((w) => take(w, 3)));
    for (const evs of seen) expect(brief(evs)).toEqual(['ADDED a@2', 'MODIFIED a@3', 'DELETED a@4']);
    expect(seen[0]![1]!.prevObject?.spec.image).toBe('busybox');
    expect(seen[0]![2]!.object!.metadata.resourceVersion).toBe('4');
    expect(storage.watchCalls).toBe(1);
    cache.stop();
  });

  it('starts a watch from revision 0 with a synthetic ADDED per object at the cache revision, then goes live', async () => {
    const storage = new FakeStorage();
    await storage.create('containers/default/a', container('a'));
    await storage.create('containers/default/b', container('b'));
    const { cache } = await newCache(storage);
    const w = cache.watch({ fromRevision: '0' });
    await storage.create('containers/default/c', container('c'));
    const evs = await take(w, 3);
    expect(brief(evs)).toEqual(['ADDED a@3', 'ADDED b@3', 'ADDED c@4']);
    expect(evs[0]!.object!.metadata.resourceVersion).toBe('2');
    cache.stop();
  });

  it('resumes from any revision in the ring with exactly the events after it', async () => {
    const storage = new FakeStorage();
    const { cache } = await newCache(storage);
    const all = cache.watch({ fromRevision: '1' });
    await storage.create('containers/default/a', container('a'));
    await storage.create('containers/default/b', container('b'));
    await storage.update('containers/default/a', container('a', { tier: 'x' }));
    await storage.delete('containers/default/b');
    await storage.create('containers/default/c', container('c'));
    const history = await take(all, 5);
    const resumed = history.map((ev) => cache.watch({ fromRevision: ev.revision }));
    for (let i = 0; i < history.length; i++) {
      const rest = history.slice(i + 1);
      if (rest.length) expect(brief(await take(resumed[i]!, rest.length))).toEqual(brief(rest));
    }
    await storage.create('containers/default/probe', container('probe'));
    // The next event after each replay is the live one: nothing was replayed twice or skipped.
    for (const w of resumed) expect(brief(await take(w, 1))).toEqual(['ADDED probe@7']);
    cache.stop();
  });

  it('ends a watch from a revision older than the ring with TooOldError', async () => {
    const storage = new FakeStorage();
    const { cache } = await newCache(storage, { historySize: 3 });
    const w = cache.watch({ fromRevision: '1' });
    for (const n of ['a', 'b', 'c', 'd', 'e']) await storage.create(`containers/default/${n}`, container(n));
    await take(w, 5);
    await expect(take(cache.watch({ fromRevision: '2' }), 1)).rejects.toBeInstanceOf(TooOldError);
    expect(brief(await take(cache.watch({ fromRevision: '3' }), 3))).toEqual(['ADDED c@4', 'ADDED d@5', 'ADDED e@6']);
    cache.stop();
  });

  it('holds a watch from a future revision until the cache reaches it, then sends only later events', async () => {
    const storage = new FakeStorage();
    const { cache } = await newCache(storage);
    const w = cache.watch({ fromRevision: '3' });
    for (const n of ['a', 'b', 'c']) await storage.create(`containers/default/${n}`, container(n));
    expect(brief(await take(w, 1))).toEqual(['ADDED c@4']);
    cache.stop();
  });

  it('shows a filtered watcher objects entering the filter as ADDED and leaving it as DELETED', async () => {
    const storage = new FakeStorage();
    const { cache } = await newCache(storage);
    const web = cache.watch({ fromRevision: '1', filter: (o) => o.metadata.labels?.app === 'web' });
    const key = 'containers/default/a';
    await storage.create(key, container('a', { app: 'db' })); // 2: invisible
    await storage.update(key, container('a', { app: 'web' })); // 3: enters
    await storage.update(key, container('a', { app: 'web' }, 'nginx')); // 4: changes inside
    await storage.update(key, container('a', { app: 'db' })); // 5: leaves
    await storage.delete(key); // 6: invisible
    await storage.create('containers/default/b', container('b', { app: 'web' })); // 7
    const evs = await take(web, 4);
    expect(brief(evs)).toEqual(['ADDED a@3', 'MODIFIED a@4', 'DELETED a@5', 'ADDED b@7']);
    expect(evs[1]!.prevObject?.spec.image).toBe('busybox');
    expect(evs[2]!.object!.metadata.labels!.app).toBe('web');
    expect(evs[2]!.object!.metadata.resourceVersion).toBe('5');
    cache.stop();
  });

  it('sends idle watchers that asked for bookmarks a BOOKMARK at the cache revision', async () => {
    const storage = new FakeStorage();
    await storage.create('containers/default/a', container('a'));
    await storage.create('secrets/default/s', container('s'));
    const { cache } = await newCache(storage, { bookmarkIntervalMs: 20 });
    const withBookmarks = cache.watch({ fromRevision: '3', bookmarks: true });
    const without = cache.watch({ fromRevision: '3' });
    expect(await take(withBookmarks, 2)).toEqual([
      { type: 'BOOKMARK', revision: '3' },
      { type: 'BOOKMARK', revision: '3' },
    ]);
    await storage.create('containers/default/b', container('b'));
    expect(brief(await take(without, 1))).toEqual(['ADDED b@4']);
    expect((await take(withBookmarks, 2)).map((e) => `${e.type}@${e.revision}`)).toEqual(['ADDED@4', 'BOOKMARK@4']);
    cache.stop();
  });

  it('closes a watcher that stops reading with SlowWatcherError while a fast one receives every event', async () => {
    const storage = new FakeStorage();
    const terminated: string[] = [];
    const { cache } = await newCache(storage, { metrics: { watcherTerminated: (r) => terminated.push(r) } });
    const slow = cache.watch({ fromRevision: '1', bufferSize: 5 });
    const fast = cache.watch({ fromRevision: '1', bufferSize: 5 });
    const received: WatchEvent[] = [];
    const reading = (async () => {
      for await (const ev of fast.events) if (received.push(ev) === 20) break;
    })();
    for (let i = 0; i < 20; i++) await storage.create(`containers/default/c${i}`, container(`c${i}`));
    await reading;
    expect(received.map((e) => e.revision)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 2)));
    // What was buffered before the overflow is still delivered, so the client can resume after it.
    expect((await take(slow, 5)).map((e) => e.revision)).toEqual(['2', '3', '4', '5', '6']);
    await expect(take(slow, 1)).rejects.toBeInstanceOf(SlowWatcherError);
    expect(terminated).toEqual(['slow']);
    cache.stop();
  });

  it('re-lists after the storage watch fails and synthesizes the changes it missed', async () => {
    const storage = new FakeStorage();
    await storage.create('containers/default/a', container('a'));
    await storage.create('containers/default/b', container('b'));
    await storage.create('containers/default/d', container('d'));
    const { cache, delays } = await newCache(storage);
    const all = cache.watch({ fromRevision: '4' });
    const web = cache.watch({ fromRevision: '4', filter: (o) => o.metadata.labels?.app === 'web' });
    await storage.unseen(async () => {
      await storage.delete('containers/default/a'); // 5
      await storage.update('containers/default/b', container('b', { app: 'web' })); // 6
      await storage.create('containers/default/c', container('c')); // 7
      await storage.create('containers/default/x', container('x')); // 8
      await storage.delete('containers/default/x'); // 9: created and deleted unseen
    });
    storage.failWatches(new TooOldError('4', '9'));
    expect(brief(await take(all, 3))).toEqual(['DELETED a@9', 'MODIFIED b@9', 'ADDED c@9']);
    expect(brief(await take(web, 1))).toEqual(['ADDED b@9']);
    expect(delays).toEqual([1000]);
    expect(cache.snapshot().objects.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)).toEqual(['b@6', 'c@7', 'd@4']);
    // Watching again from the list revision: live events flow once more.
    await storage.update('containers/default/d', container('d', { app: 'web' }));
    expect(brief(await take(all, 1))).toEqual(['MODIFIED d@10']);
    expect(brief(await take(web, 1))).toEqual(['ADDED d@10']);
    expect(storage.watchCalls).toBe(2);
    expect(storage.openWatches).toBe(1);
    // Before the gap, replay covers it with the synthetic events; inside it, only a re-list can.
    expect(brief(await take(cache.watch({ fromRevision: '4' }), 4))).toEqual(['DELETED a@9', 'MODIFIED b@9', 'ADDED c@9', 'MODIFIED d@10']);
    await expect(take(cache.watch({ fromRevision: '6' }), 1)).rejects.toBeInstanceOf(TooOldError);
    cache.stop();
  });

  it('backs off 1 s doubling to 30 s while re-listing keeps failing, then recovers', async () => {
    const storage = new FakeStorage();
    const { cache, delays } = await newCache(storage);
    const w = cache.watch({ fromRevision: '1' });
    storage.failNextLists = 6;
    const recovered = cache.waitForRevision('2', 1000);
    storage.failWatches(new StorageError('connection reset'));
    await storage.unseen(() => storage.create('containers/default/a', container('a')));
    await recovered;
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(brief(await take(w, 1))).toEqual(['ADDED a@2']);
    cache.stop();
  });

  it('retries the initial list until it succeeds', async () => {
    const storage = new FakeStorage();
    storage.failNextLists = 2;
    const { cache, delays } = await newCache(storage);
    expect(delays).toEqual([1000, 2000]);
    expect(cache.snapshot().revision).toBe('1');
    cache.stop();
  });

  it('resolves waitForRevision once the cache has seen the revision, and times out otherwise', async () => {
    const storage = new FakeStorage();
    const { cache } = await newCache(storage);
    await expect(cache.waitForRevision('1')).resolves.toBeUndefined();
    const waiting = cache.waitForRevision('3', 5000);
    await storage.create('containers/default/a', container('a'));
    await storage.create('containers/default/b', container('b'));
    await waiting;
    expect(cache.snapshot().objects).toHaveLength(2);
    const err = await cache.waitForRevision('99', 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooLargeRevisionError);
    expect((err as TooLargeRevisionError).currentRevision).toBe('3');
    cache.stop();
  });

  it('ends only the watcher whose filter throws', async () => {
    const storage = new FakeStorage();
    const { cache } = await newCache(storage);
    const broken = cache.watch({ fromRevision: '1', filter: () => { throw new Error('boom'); } });
    const fine = cache.watch({ fromRevision: '1' });
    await storage.create('containers/default/a', container('a'));
    expect(brief(await take(fine, 1))).toEqual(['ADDED a@2']);
    await expect(take(broken, 1)).rejects.toThrow('watch filter threw');
    cache.stop();
  });

  it('refuses watches before start and ends open ones with CacheUnavailableError on stop', async () => {
    const storage = new FakeStorage();
    const cache = new WatchCache(storage, 'containers/');
    expect(() => cache.watch()).toThrow(CacheUnavailableError);
    await cache.start();
    const w = cache.watch({ fromRevision: '1' });
    const waiting = cache.waitForRevision('5', 5000);
    cache.stop();
    await expect(take(w, 1)).rejects.toBeInstanceOf(CacheUnavailableError);
    await expect(waiting).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(storage.openWatches).toBe(0);
  });

  it('ends the iteration without error when the client closes its watcher', async () => {
    const storage = new FakeStorage();
    const { cache } = await newCache(storage);
    const w = cache.watch({ fromRevision: '1' });
    const next = w.events[Symbol.asyncIterator]().next();
    w.close();
    await expect(next).resolves.toEqual({ value: undefined, done: true });
    cache.stop();
  });
});
