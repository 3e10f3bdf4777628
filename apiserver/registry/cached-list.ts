// Lists served from the watch cache (Kubernetes' consistent list from cache): a first page waits until
// the cache is current to etcd's revision, then pages out of an immutable snapshot that is kept for the
// list's continue tokens. Whatever the cache cannot serve consistently is left to etcd (undefined).
import type { Resource } from '../../lib/api/resource.js';
import { encodeContinue, parseContinue } from '../storage/continue.js';
import type { Storage } from '../storage/interface.js';
import type { WatchCache } from '../watch/cache.js';
import { CacheUnavailableError, TooLargeRevisionError } from '../watch/errors.js';
import { compareRevisions } from '../watch/revision.js';

/** Objects in key order, as a watch cache holds them at one revision. */
export type SortedEntries = readonly (readonly [string, Resource])[];

export interface Snapshot {
  revision: string;
  entries: SortedEntries;
}

export interface CachedPage {
  items: Resource[];
  revision: string;
  continue?: string;
  /** Objects under the prefix after this page, before selectors (as etcd counts them). */
  remaining: number;
}

export interface CachedListerOptions {
  /** How long a snapshot stays servable after its last page was read. @default 30000 */
  retainMs?: number;
  /** Snapshots kept at most, over every kind (each is an array of references). @default 8 */
  maxSnapshots?: number;
  /** How long a first page waits for the cache to catch up before etcd serves it. @default 3000 */
  waitMs?: number;
  now?: () => number;
}

export class CachedLister {
  private readonly retainMs: number;
  private readonly maxSnapshots: number;
  private readonly waitMs: number;
  private readonly now: () => number;
  // `${cache prefix} ${revision}` → snapshot; Map order is least recently used first.
  private readonly snapshots = new Map<string, { snapshot: Snapshot; usedAt: number }>();

  constructor(
    private readonly storage: Storage,
    private readonly cacheOf: (kind: string) => WatchCache | undefined,
    opts: CachedListerOptions = {},
  ) {
    this.retainMs = opts.retainMs ?? 30_000;
    this.maxSnapshots = opts.maxSnapshots ?? 8;
    this.waitMs = opts.waitMs ?? 3_000;
    this.now = opts.now ?? Date.now;
  }

  /** One page of `kind` under `prefix`, or undefined when etcd must serve it. */
  async list(
    kind: string,
    prefix: string,
    query: { limit: number; continue?: string; matches: (o: Resource) => boolean },
  ): Promise<CachedPage | undefined> {
    const cache = this.cacheOf(kind);
    if (!cache) return undefined;
    if (query.continue) {
      const token = parseContinue(query.continue, prefix);
      const snapshot = this.retained(cache.prefix, token.rev);
      return snapshot && pageOf(snapshot, prefix, token.start, query.limit, query.matches);
    }
    let snapshot: Snapshot;
    try {
      snapshot = await this.consistentSnapshot(cache);
    } catch (err) {
      if (err instanceof CacheUnavailableError || err instanceof TooLargeRevisionError) return undefined;
      throw err;
    }
    const page = pageOf(snapshot, prefix, prefix, query.limit, query.matches);
    if (page.continue) this.retain(cache.prefix, snapshot);
    return page;
  }

  /**
   * The cache's state once it holds every change etcd had made under its prefix when the list
   * began, so a list never misses a write acknowledged before it. The cache's revision only moves
   * with changes under its own prefix, so "behind etcd's revision" often just means "nothing here
   * changed since": etcd answers that (changedBetween) without sending objects. Otherwise the
   * changes are on their way: wait for the cache to apply some, then ask again.
   */
  private async consistentSnapshot(cache: WatchCache): Promise<Snapshot> {
    const at = await this.storage.currentRevision();
    const deadline = this.now() + this.waitMs;
    for (;;) {
      const snapshot = cache.sortedEntries();
      if (compareRevisions(snapshot.revision, at) >= 0) return snapshot;
      if (!(await this.storage.changedBetween(cache.prefix, snapshot.revision, at))) return snapshot;
      const left = deadline - this.now();
      if (left <= 0) throw new TooLargeRevisionError(at, snapshot.revision);
      await cache.waitForRevision((BigInt(snapshot.revision) + 1n).toString(), left).catch((err: unknown) => {
        if (!(err instanceof TooLargeRevisionError)) throw err;
      });
    }
  }

  private retained(cachePrefix: string, revision: string): Snapshot | undefined {
    this.expire();
    const id = `${cachePrefix} ${revision}`;
    const kept = this.snapshots.get(id);
    if (!kept) return undefined;
    this.snapshots.delete(id);
    this.snapshots.set(id, { snapshot: kept.snapshot, usedAt: this.now() });
    return kept.snapshot;
  }

  private retain(cachePrefix: string, snapshot: Snapshot): void {
    this.expire();
    const id = `${cachePrefix} ${snapshot.revision}`;
    this.snapshots.delete(id);
    this.snapshots.set(id, { snapshot, usedAt: this.now() });
    while (this.snapshots.size > this.maxSnapshots) this.snapshots.delete(this.snapshots.keys().next().value!);
  }

  private expire(): void {
    const cutoff = this.now() - this.retainMs;
    for (const [id, kept] of this.snapshots) {
      if (kept.usedAt >= cutoff) break;
      this.snapshots.delete(id);
    }
  }
}

/**
 * The page of objects under `prefix` from key `start` on that match, at most `limit` (0: all),
 * with the continue token for the rest. Pure: the snapshot is never changed.
 */
export function pageOf(
  snapshot: Snapshot,
  prefix: string,
  start: string,
  limit: number,
  matches: (o: Resource) => boolean,
): CachedPage {
  const { entries, revision } = snapshot;
  const end = lowerBound(entries, prefixEnd(prefix));
  const items: Resource[] = [];
  let i = lowerBound(entries, start < prefix ? prefix : start);
  for (; i < end; i++) {
    const obj = entries[i]![1];
    if (!matches(obj)) continue;
    items.push(obj);
    if (limit > 0 && items.length === limit) {
      i++;
      break;
    }
  }
  const remaining = Math.max(0, end - i);
  return remaining > 0
    ? { items, revision, remaining, continue: encodeContinue(revision, entries[i - 1]![0]) }
    : { items, revision, remaining: 0 };
}

/** The first index whose key is ≥ key. */
function lowerBound(entries: SortedEntries, key: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]![0] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The smallest string greater than every string starting with `prefix`. */
function prefixEnd(prefix: string): string {
  if (!prefix) return '\uffff';
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
