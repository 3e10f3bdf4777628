// A list-then-watch cache of one kind through the API server (client-go's shared informer): an
// indexed local copy that resumes by resourceVersion, re-lists on "too old" and tells handlers.
import { setTimeout as sleep } from 'node:timers/promises';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Resource } from '../../lib/api/resource.js';
import { type ClientWatchEvent, type ListOptions, type ListResult, type WatchOptions } from '../../lib/client/client.js';
import { DEFAULT_PAGE_SIZE } from '../../lib/client/pages.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { diffList, type Delta } from './delta.js';
import type { IndexFunc } from './indexers.js';
import type { InformerMetrics } from './metrics.js';
import { objectKey } from './keys.js';

/** The part of ApiClient an informer needs. A list without `continue` is complete. */
export interface ListWatcher {
  list(kind: string, opts?: ListOptions): Promise<Pick<ListResult, 'items' | 'resourceVersion'> & { continue?: string }>;
  watch(kind: string, opts?: WatchOptions): AsyncIterable<ClientWatchEvent>;
}

/** Handlers run synchronously in the informer's loop: enqueue keys, do no I/O. Objects are read-only. */
export interface EventHandler {
  onAdd?(obj: Resource): void;
  onUpdate?(old: Resource, obj: Resource): void;
  /** For a delete seen only by re-listing, the last state the cache knew. */
  onDelete?(obj: Resource): void;
}

export interface InformerOptions {
  client: ListWatcher;
  kind: string;
  /** Only this namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Index name → function; more can be added later with addIndexer. */
  indexers?: Record<string, IndexFunc>;
  /** Objects per list page (client-go's default). @default 500 */
  pageSize?: number;
  /** First retry delay after a failed list or watch, doubled per failure. @default 1000 */
  initialBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /** Waits before a retry; injectable so tests don't sleep. Must settle early when signal aborts. */
  delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  logger?: Logger;
  /** Counts re-lists; absent, nothing is counted. */
  metrics?: InformerMetrics;
}

/** Whether err is the API's "resourceVersion too old, list again". */
export function isTooOld(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === Code.OUT_OF_RANGE;
}

export class Informer {
  readonly kind: string;
  private readonly opts: InformerOptions;
  private readonly log: Logger;
  private readonly delay: (ms: number, signal: AbortSignal) => Promise<void>;

  private readonly items = new Map<string, Resource>();
  private readonly indexers = new Map<string, IndexFunc>();
  // index name → indexed value → keys
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  /** Per index and value, the change count when something filed there last changed (see indexStamp). */
  private readonly stamps = new Map<string, Map<string, number>>();
  private changes = 0;
  private readonly handlers = new Set<EventHandler>();
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: { resolve(): void; reject(err: Error): void }[] = [];
  private failures = 0;
  private readonly abort = new AbortController();
  private loop?: Promise<void>;

  constructor(opts: InformerOptions) {
    this.opts = opts;
    this.kind = opts.kind;
    this.log = (opts.logger ?? silentLogger()).child({ component: 'informer', kind: opts.kind });
    this.delay = opts.delay ?? ((ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined));
    for (const [name, fn] of Object.entries(opts.indexers ?? {})) this.addIndexer(name, fn);
  }

  /** Starts listing and watching in the background; stop() ends it. */
  start(): void {
    this.loop ??= this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const w of this.syncWaiters.splice(0)) w.reject(new Error(`informer for ${this.kind} stopped before it synced`));
    await this.loop;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache; rejects if signal aborts or the informer stops first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.abort.signal.aborted) return Promise.reject(new Error(`informer for ${this.kind} stopped`));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
        reject(signal!.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(waiter);
    });
  }

  /** The revision the cache is current to (list, event or bookmark); '' before the first list. */
  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  get(namespace: string, name: string): Resource | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): Resource | undefined {
    return this.items.get(key);
  }

  list(): Resource[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  /**
   * A number that changes whenever an object filed under `value` in index `indexName` is added, changed
   * or removed: a cache of something computed from byIndex(indexName, value) is current while it holds.
   */
  indexStamp(indexName: string, value: string): number {
    const stamps = this.stamps.get(indexName);
    if (!stamps) throw new Error(`informer for ${this.kind} has no index ${JSON.stringify(indexName)}`);
    return stamps.get(value) ?? 0;
  }

  /** Objects filed under `value` in index `indexName`. */
  byIndex(indexName: string, value: string): Resource[] {
    const index = this.indices.get(indexName);
    if (!index) throw new Error(`informer for ${this.kind} has no index ${JSON.stringify(indexName)}`);
    return [...(index.get(value) ?? [])].map((k) => this.items.get(k)!);
  }

  addIndexer(name: string, fn: IndexFunc): void {
    if (this.indexers.has(name)) throw new Error(`index ${JSON.stringify(name)} already registered`);
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
    this.stamps.set(name, new Map());
    for (const [key, obj] of this.items) this.fileUnder(name, fn, key, obj);
  }

  /** Registers handlers; objects already cached are replayed to onAdd. Returns a function that removes them. */
  addEventHandler(handler: EventHandler): () => void {
    this.handlers.add(handler);
    for (const obj of this.items.values()) this.call(() => handler.onAdd?.(obj));
    return () => void this.handlers.delete(handler);
  }

  onAdd(fn: (obj: Resource) => void): () => void {
    return this.addEventHandler({ onAdd: fn });
  }

  onUpdate(fn: (old: Resource, obj: Resource) => void): () => void {
    return this.addEventHandler({ onUpdate: fn });
  }

  onDelete(fn: (obj: Resource) => void): () => void {
    return this.addEventHandler({ onDelete: fn });
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let tooOldInARow = 0;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
        }
        if (signal.aborted) break;
        const received = await this.watchOnce(signal);
        tooOldInARow = 0;
        // A stream that ends before saying anything is a failure; one that worked is resumed at once.
        if (!received) this.failures++;
      } catch (err) {
        if (signal.aborted) break;
        if (isTooOld(err)) {
          this.log.info({ resourceVersion: this.resourceVersion }, 'watch too old; listing again');
          needList = true;
          // One immediate re-list is right after compaction; more in a row means something is wrong.
          if (++tooOldInARow === 1) continue;
        }
        this.failures++;
        this.log.warn({ err, failures: this.failures }, needList ? 'list failed; retrying' : 'watch failed; resuming');
      }
      if (this.failures > 0 && !signal.aborted) await this.delay(this.backoffMs(), signal);
    }
  }

  private backoffMs(): number {
    const initial = this.opts.initialBackoffMs ?? 1_000;
    const max = this.opts.maxBackoffMs ?? 30_000;
    return Math.min(max, initial * 2 ** Math.min(this.failures - 1, 30));
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const res = await this.listPages(signal);
    if (!res || signal.aborted) return;
    if (this.synced) this.opts.metrics?.relists.inc({ kind: this.kind });
    const deltas = diffList(this.items, res.items);
    for (const d of deltas) this.apply(d);
    this.resourceVersion = res.resourceVersion;
    this.failures = 0;
    this.log.debug({ resourceVersion: res.resourceVersion, objects: this.items.size, changes: deltas.length }, 'listed');
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w.resolve();
    }
  }

  /**
   * The whole list in pages, all read at the first page's resourceVersion, so 30,000 objects never
   * travel in one message. A continue token that expired fails the list; the caller lists again.
   */
  private async listPages(signal: AbortSignal): Promise<Pick<ListResult, 'items' | 'resourceVersion'> | undefined> {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    const limit = this.opts.pageSize ?? DEFAULT_PAGE_SIZE;
    const items: Resource[] = [];
    let resourceVersion = '';
    let token = '';
    do {
      const page = await untilAborted(this.opts.client.list(this.kind, { namespace, labelSelector, fieldSelector, limit, continue: token }), signal);
      if (!page || signal.aborted) return undefined;
      for (const item of page.items) items.push(item);
      resourceVersion ||= page.resourceVersion;
      token = page.continue ?? '';
    } while (token);
    return { items, resourceVersion };
  }

  /** Watches from the cache's revision until the stream ends; true if anything arrived. */
  private async watchOnce(signal: AbortSignal): Promise<boolean> {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    let received = false;
    const events = this.opts.client.watch(this.kind, {
      namespace,
      labelSelector,
      fieldSelector,
      resourceVersion: this.resourceVersion,
      allowBookmarks: true,
      signal,
    });
    for await (const ev of events) {
      if (signal.aborted) break;
      received = true;
      this.failures = 0;
      this.applyEvent(ev);
    }
    return received;
  }

  private applyEvent(ev: ClientWatchEvent): void {
    if (ev.type !== 'BOOKMARK' && ev.object) {
      const key = objectKey(ev.object);
      const old = this.items.get(key);
      if (ev.type === 'DELETED') {
        if (old) this.apply({ type: 'delete', key, object: ev.object });
      } else {
        this.apply(old ? { type: 'update', key, old, object: ev.object } : { type: 'add', key, object: ev.object });
      }
    }
    const rv = ev.resourceVersion || ev.object?.metadata.resourceVersion;
    if (rv) this.resourceVersion = rv;
  }

  private apply(d: Delta): void {
    const old = this.items.get(d.key);
    if (d.type === 'delete') this.items.delete(d.key);
    else this.items.set(d.key, d.object);
    for (const [name, fn] of this.indexers) {
      if (old) this.unfile(name, fn, d.key, old);
      if (d.type !== 'delete') this.fileUnder(name, fn, d.key, d.object);
    }
    for (const h of this.handlers) {
      if (d.type === 'add') this.call(() => h.onAdd?.(d.object));
      else if (d.type === 'update') this.call(() => h.onUpdate?.(d.old, d.object));
      else this.call(() => h.onDelete?.(d.object));
    }
  }

  // A throwing handler or index function must not stop the cache from following the server.
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'informer event handler threw');
    }
  }

  private indexValues(name: string, fn: IndexFunc, obj: Resource): string[] {
    try {
      return fn(obj);
    } catch (err) {
      this.log.error({ err, index: name, key: objectKey(obj) }, 'index function threw; object not indexed');
      return [];
    }
  }

  private fileUnder(name: string, fn: IndexFunc, key: string, obj: Resource): void {
    const index = this.indices.get(name)!;
    const stamps = this.stamps.get(name)!;
    for (const v of this.indexValues(name, fn, obj)) {
      stamps.set(v, ++this.changes);
      let keys = index.get(v);
      if (!keys) index.set(v, (keys = new Set()));
      keys.add(key);
    }
  }

  private unfile(name: string, fn: IndexFunc, key: string, obj: Resource): void {
    const index = this.indices.get(name)!;
    const stamps = this.stamps.get(name)!;
    for (const v of this.indexValues(name, fn, obj)) {
      const keys = index.get(v);
      keys?.delete(key);
      // The count only grows, so a value filed again later gets a stamp no cache has seen.
      if (keys?.size === 0) {
        index.delete(v);
        stamps.delete(v);
      } else stamps.set(v, ++this.changes);
    }
  }
}

// A unary call cannot be cancelled through ApiClient; stop() must not wait out its deadline.
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
