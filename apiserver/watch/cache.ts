// The API server's watch cache (Kubernetes' cacher): one storage watch per kind prefix keeps an
// in-memory copy and a ring of recent events, and fans events out to any number of client watches.
import { setTimeout as sleepFor } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import type { Resource } from '../../lib/api/resource.js';
import { TooOldError } from '../storage/errors.js';
import type { ListResult, Storage, StorageEvent, StorageWatch, StoredObject } from '../storage/interface.js';
import { CacheUnavailableError, TooLargeRevisionError } from './errors.js';
import type { CacheEvent, WatchOptions } from './event.js';
import { EventHistory } from './history.js';
import { relistEvents } from './relist.js';
import { compareRevisions, normalizeRevision, withResourceVersion } from './revision.js';
import { CacheWatcher, type Watcher } from './watcher.js';

/** Optional hooks to bridge into prom-client; all are called synchronously and must not throw. */
export interface WatchCacheMetrics {
  watcherCount?(count: number): void;
  /** A watcher ended by the cache, not the client: 'too-old', 'slow', 'stopped' or 'error'. */
  watcherTerminated?(reason: string): void;
  /** The storage watch failed; the cache will re-list. */
  storageWatchFailed?(): void;
  eventsProcessed?(count: number): void;
}

export interface WatchCacheOptions {
  /** Events kept for resuming watches. @default 10000 */
  historySize?: number;
  /** Idle time after which a watcher that asked for bookmarks gets one. @default 60000 */
  bookmarkIntervalMs?: number;
  /** Default of WatchOptions.bufferSize. @default 100000 */
  watcherBufferSize?: number;
  /** Default of WatchOptions.stallTimeoutMs. @default 30000 */
  watcherStallTimeoutMs?: number;
  /** Milliseconds clock for watchers' stall detection; injectable for tests. @default Date.now */
  now?: () => number;
  /** waitForRevision's default timeout (Kubernetes waits 3 s). @default 3000 */
  waitTimeoutMs?: number;
  /** Re-list back-off after the first storage failure, doubled per failure. @default 1000 */
  initialBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /** Waits before a retry; injectable so tests don't sleep. Should reject/resolve early on abort. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  logger?: Logger;
  metrics?: WatchCacheMetrics;
}

const LIST_PAGE_SIZE = 1000;

interface Waiter {
  revision: string;
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class WatchCache {
  private readonly historySize: number;
  private readonly bookmarkIntervalMs: number;
  private readonly watcherBufferSize: number;
  private readonly watcherStallTimeoutMs: number;
  private readonly now: () => number;
  private readonly waitTimeoutMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly log: Logger;
  private readonly metrics: WatchCacheMetrics;

  private objects = new Map<string, Resource>();
  /** The objects in key order, kept until the next change (lists and replays share it). */
  private sorted?: readonly (readonly [string, Resource])[];
  private revision = '0';
  private history?: EventHistory<CacheEvent>;
  private readonly watchers = new Set<CacheWatcher>();
  private readonly waiters = new Set<Waiter>();
  private storageWatch?: StorageWatch;
  // Bumped whenever a storage watch is abandoned, so its late callbacks are ignored.
  private generation = 0;
  private failures = 0;
  private started?: Promise<void>;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly storage: Storage,
    readonly prefix: string,
    opts: WatchCacheOptions = {},
  ) {
    this.historySize = opts.historySize ?? 10_000;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 60_000;
    this.watcherBufferSize = opts.watcherBufferSize ?? 100_000;
    this.watcherStallTimeoutMs = opts.watcherStallTimeoutMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 3_000;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1_000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.sleep = opts.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'watch-cache', prefix });
    this.metrics = opts.metrics ?? {};
  }

  /**
   * Lists the prefix and watches from the list's revision. Resolves once the cache holds a
   * consistent copy; a failing list is retried with back-off until it succeeds or stop() is called.
   */
  start(): Promise<void> {
    this.started ??= this.resync();
    return this.started;
  }

  /** Throws CacheUnavailableError before start() has resolved or after stop(). */
  watch(opts: WatchOptions = {}): Watcher {
    const history = this.readyHistory();
    const from = normalizeRevision(opts.fromRevision);
    const pending = from !== '0' && compareRevisions(from, this.revision) > 0;
    const watcher = new CacheWatcher({
      filter: opts.filter,
      bufferSize: opts.bufferSize ?? this.watcherBufferSize,
      stallTimeoutMs: opts.stallTimeoutMs ?? this.watcherStallTimeoutMs,
      now: this.now,
      bookmarkIntervalMs: opts.bookmarks ? this.bookmarkIntervalMs : undefined,
      currentRevision: () => this.revision,
      skipThrough: pending ? from : undefined,
      onEnd: (w, err) => this.forget(w, err),
    });
    if (from === '0') {
      watcher.replay(this.currentObjects().map(([key, object]) => ({ type: 'ADDED', key, object, revision: this.revision })));
    } else if (!pending) {
      const missed = history.since(from);
      if (!missed) {
        this.watchers.add(watcher);
        watcher.end(new TooOldError(from, history.startRevision));
        return watcher;
      }
      watcher.replay(missed);
    }
    if (!watcher.isEnded) {
      this.watchers.add(watcher);
      this.metrics.watcherCount?.(this.watchers.size);
    }
    return watcher;
  }

  /** The cached object under `key` (a storage key below this cache's prefix), if any. Read-only. */
  get(key: string): Resource | undefined {
    return this.objects.get(key);
  }

  /** Current objects in key order, and the revision they are current to. Objects are shared: read-only. */
  snapshot(): { revision: string; objects: Resource[] } {
    this.readyHistory();
    return { revision: this.revision, objects: this.currentObjects().map(([, obj]) => obj) };
  }

  /**
   * As snapshot(), in no particular order: a copy of the objects without the sort that snapshot() needs
   * after every change, which at 30,000 objects costs more than whatever the caller does with them.
   */
  unorderedSnapshot(): { revision: string; objects: Resource[] } {
    this.readyHistory();
    return { revision: this.revision, objects: [...this.objects.values()] };
  }

  /** The revision the cache is current to: where a watch opened now, with nothing missed, starts. */
  currentRevision(): string {
    this.readyHistory();
    return this.revision;
  }

  /**
   * The current objects in key order and the revision they are current to. The array is shared
   * and never changed afterwards (the next change builds a new one): a consistent snapshot at that
   * revision for as long as the caller holds it. Read-only.
   */
  sortedEntries(): { revision: string; entries: readonly (readonly [string, Resource])[] } {
    this.readyHistory();
    return { revision: this.revision, entries: this.currentObjects() };
  }

  /** Resolves when the cache has seen revision ≥ rev; rejects with TooLargeRevisionError after the timeout. */
  waitForRevision(rev: string, timeoutMs = this.waitTimeoutMs): Promise<void> {
    const revision = normalizeRevision(rev);
    if (this.stopped) return Promise.reject(new CacheUnavailableError('watch cache stopped'));
    if (this.history && compareRevisions(this.revision, revision) >= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        revision,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new TooLargeRevisionError(revision, this.revision));
        }, timeoutMs),
      };
      waiter.timer.unref();
      this.waiters.add(waiter);
    });
  }

  /** Closes the storage watch; every client watch ends with CacheUnavailableError. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    this.abort.abort();
    this.storageWatch?.close();
    this.storageWatch = undefined;
    const err = new CacheUnavailableError('watch cache stopped: watch again');
    for (const w of [...this.watchers]) w.end(err);
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.waiters.clear();
  }

  private readyHistory(): EventHistory<CacheEvent> {
    if (this.stopped) throw new CacheUnavailableError('watch cache stopped');
    if (!this.history) throw new CacheUnavailableError(`watch cache for ${this.prefix} is not ready yet`);
    return this.history;
  }

  private currentObjects(): readonly (readonly [string, Resource])[] {
    this.sorted ??= [...this.objects].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return this.sorted;
  }

  private forget(watcher: CacheWatcher, err?: Error): void {
    if (!this.watchers.delete(watcher)) return;
    this.metrics.watcherCount?.(this.watchers.size);
    if (err) this.metrics.watcherTerminated?.(terminationReason(err));
  }

  // List and (re)watch, retrying with back-off. Rejects only when stopped.
  private async resync(): Promise<void> {
    for (;;) {
      if (this.failures > 0) {
        const delay = Math.min(this.initialBackoffMs * 2 ** (this.failures - 1), this.maxBackoffMs);
        await this.sleep(delay, this.abort.signal).catch(() => undefined);
      }
      if (this.stopped) throw new CacheUnavailableError('watch cache stopped');
      let listed: { revision: string; items: StoredObject[] };
      try {
        listed = await this.listAll();
      } catch (err) {
        if (this.stopped) throw new CacheUnavailableError('watch cache stopped');
        this.failures++;
        this.log.warn({ err, failures: this.failures }, 'list failed; retrying');
        continue;
      }
      if (this.stopped) throw new CacheUnavailableError('watch cache stopped');
      this.applyList(listed.items, normalizeRevision(listed.revision));
      this.openWatch();
      return;
    }
  }

  private async listAll(): Promise<{ revision: string; items: StoredObject[] }> {
    const items: StoredObject[] = [];
    let page: ListResult | undefined;
    let revision: string | undefined;
    do {
      page = await this.storage.list(this.prefix, { limit: LIST_PAGE_SIZE, continue: page?.continue });
      revision ??= page.revision;
      items.push(...page.items);
    } while (page.continue);
    return { revision: revision!, items };
  }

  private applyList(items: StoredObject[], revision: string): void {
    if (!this.history) {
      for (const item of items) this.objects.set(item.key, withResourceVersion(item.value, item.revision));
      this.sorted = undefined;
      this.revision = revision;
      this.history = new EventHistory(this.historySize, revision);
      this.log.info({ revision, objects: this.objects.size }, 'watch cache ready');
      this.resolveWaiters();
      return;
    }
    // etcd lists are linearizable, so a list never reads behind an event the watch delivered.
    const before = this.revision;
    const events = relistEvents(this.objects, items, revision);
    this.history.markGap(before, revision);
    for (const w of [...this.watchers]) {
      const from = w.waitingFor;
      if (from && compareRevisions(from, before) > 0 && compareRevisions(from, revision) < 0) {
        w.end(new TooOldError(from));
      }
    }
    for (const ev of events) this.commit(ev);
    if (compareRevisions(revision, this.revision) > 0) this.revision = revision;
    this.log.info({ from: before, revision, synthesized: events.length }, 're-listed after storage watch failure');
    this.resolveWaiters();
  }

  private openWatch(): void {
    const generation = ++this.generation;
    const openedAt = Date.now();
    const current = () => generation === this.generation;
    try {
      this.storageWatch = this.storage.watch(this.prefix, this.revision, {
        onEvent: (ev) => {
          if (current()) this.onStorageEvent(ev);
        },
        onError: (err) => {
          if (current()) this.onStorageWatchError(err, openedAt);
        },
        onProgress: (revision) => {
          if (current()) this.onProgress(revision);
        },
      });
    } catch (err) {
      this.onStorageWatchError(err as Error, openedAt);
    }
  }

  // Runs inside the storage client's stream callback, where a throw would be uncaught.
  private onStorageEvent(ev: StorageEvent): void {
    try {
      this.applyStorageEvent(ev);
    } catch (err) {
      this.onStorageWatchError(err as Error, Date.now());
    }
  }

  private applyStorageEvent(ev: StorageEvent): void {
    const revision = normalizeRevision(ev.revision);
    if (compareRevisions(revision, this.revision) < 0) {
      this.log.warn({ key: ev.key, revision, cacheRevision: this.revision }, 'ignoring out-of-order storage event');
      return;
    }
    const prev = this.objects.get(ev.key);
    if (ev.type === 'DELETED') {
      if (!prev) {
        this.revision = revision;
        this.resolveWaiters();
        return;
      }
      this.commit({ type: 'DELETED', key: ev.key, object: withResourceVersion(ev.value ?? prev, revision), revision });
    } else {
      const object = withResourceVersion(ev.value, revision);
      this.commit(
        prev
          ? { type: 'MODIFIED', key: ev.key, object, prevObject: prev, revision }
          : { type: 'ADDED', key: ev.key, object, revision },
      );
    }
    this.resolveWaiters();
  }

  // Nothing under the prefix changed up to `revision`: quiet caches still move forward, so pending
  // watchers start, waiters resolve and bookmarks carry the store's revision.
  private onProgress(revision: string): void {
    if (compareRevisions(revision, this.revision) <= 0) return;
    this.revision = revision;
    for (const w of this.watchers) w.advanceTo(revision);
    this.resolveWaiters();
  }

  // The one place a change enters the cache: applied to the map, recorded in the ring, fanned out.
  private commit(ev: CacheEvent): void {
    if (ev.type === 'DELETED') this.objects.delete(ev.key);
    else this.objects.set(ev.key, ev.object);
    this.sorted = undefined;
    this.history!.push(ev);
    this.revision = ev.revision;
    for (const w of this.watchers) w.deliver(ev);
    this.metrics.eventsProcessed?.(1);
  }

  private onStorageWatchError(err: Error, openedAt: number): void {
    this.generation++;
    this.storageWatch?.close();
    this.storageWatch = undefined;
    if (this.stopped) return;
    // A watch that held for a full max back-off was healthy: start counting failures afresh.
    if (Date.now() - openedAt >= this.maxBackoffMs) this.failures = 0;
    this.failures++;
    this.metrics.storageWatchFailed?.();
    this.log.warn({ err, failures: this.failures, revision: this.revision }, 'storage watch failed; re-listing');
    this.resync().catch((e: Error) => {
      if (!(e instanceof CacheUnavailableError)) this.log.error({ err: e }, 're-list gave up');
    });
  }

  private resolveWaiters(): void {
    for (const waiter of this.waiters) {
      if (compareRevisions(this.revision, waiter.revision) >= 0) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }
}

function terminationReason(err: Error): string {
  switch (err.name) {
    case 'TooOldError':
      return 'too-old';
    case 'SlowWatcherError':
      return 'slow';
    case 'CacheUnavailableError':
      return 'stopped';
    default:
      return 'error';
  }
}
