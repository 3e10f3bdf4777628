// One client's watch on a WatchCache: a bounded queue the cache fills synchronously and the client
// drains through an async iterator, plus idle bookmarks. Filling never waits for the client; a client
// is cut off only when it is stuck (no progress for stallTimeoutMs) or its backlog hits the hard cap.
import type { Resource } from '../../lib/api/resource.js';
import { SlowWatcherError, WatchError } from './errors.js';
import { eventForWatcher, type CacheEvent, type WatchEvent } from './event.js';
import { compareRevisions } from './revision.js';

/**
 * A client's watch. Iterate `events` once (single consumer). The iteration ends normally after
 * close(); when the cache ends the watch (TooOldError, SlowWatcherError, CacheUnavailableError)
 * the events already buffered are delivered first, then the iterator throws that error.
 * Breaking out of a for-await loop closes the watcher.
 */
export interface Watcher {
  readonly events: AsyncIterable<WatchEvent>;
  /**
   * Up to `max` events already buffered, taken at once by the consumer of `events` (between two
   * of its reads), so a burst can be sent as one batch. Never waits; may return none.
   */
  takeBuffered(max: number): WatchEvent[];
  close(): void;
}

export interface CacheWatcherOptions {
  filter?: (obj: Resource) => boolean;
  /** Hard cap on undelivered live events (memory bound), however fast the client reads. */
  bufferSize: number;
  /** Events waiting and none taken for this long: the client is stuck and is cut off. */
  stallTimeoutMs: number;
  /** Milliseconds clock; injectable so tests need not wait. @default Date.now */
  now?: () => number;
  /** Undefined: no bookmarks. */
  bookmarkIntervalMs?: number;
  currentRevision(): string;
  /** Set while the watcher waits for the cache to reach the revision it resumes from. */
  skipThrough?: string;
  /** Called once when the watch ends for any reason, so the cache forgets it. */
  onEnd(watcher: CacheWatcher, err?: Error): void;
}

type Pending = { resolve(r: IteratorResult<WatchEvent>): void; reject(err: unknown): void };

export class CacheWatcher implements Watcher, AsyncIterator<WatchEvent> {
  readonly events: AsyncIterable<WatchEvent> = { [Symbol.asyncIterator]: () => this };
  private queue: (WatchEvent | undefined)[] = [];
  private head = 0;
  // Initial and replayed events may exceed bufferSize: the limit is for falling behind live.
  private replayRemaining = 0;
  private pending?: Pending;
  private ended = false;
  private error?: Error;
  private skipThrough?: string;
  private readonly now: () => number;
  private lastEnqueuedAt: number;
  // When the client last took an event, or when its queue last went from empty to waiting.
  private lastProgressAt: number;
  private bookmarkTimer?: NodeJS.Timeout;

  constructor(private readonly opts: CacheWatcherOptions) {
    if (!Number.isInteger(opts.bufferSize) || opts.bufferSize < 1) {
      throw new RangeError(`bufferSize must be ≥ 1, got ${opts.bufferSize}`);
    }
    if (!(opts.stallTimeoutMs > 0)) throw new RangeError(`stallTimeoutMs must be > 0, got ${opts.stallTimeoutMs}`);
    this.now = opts.now ?? Date.now;
    this.lastEnqueuedAt = this.lastProgressAt = this.now();
    this.skipThrough = opts.skipThrough;
    if (opts.bookmarkIntervalMs !== undefined) this.scheduleBookmark(opts.bookmarkIntervalMs);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Only while pending: the revision the client resumes from. */
  get waitingFor(): string | undefined {
    return this.skipThrough;
  }

  /** Queue events the client missed (initial ADDEDs or ring replay) before any live event. */
  replay(events: readonly CacheEvent[]): void {
    for (const ev of events) {
      const out = this.visible(ev);
      if (this.ended) return;
      if (!out) continue;
      this.push(out);
      this.replayRemaining++;
    }
  }

  /** The cache reached `revision` without an event for this watcher: a pending start is over. */
  advanceTo(revision: string): void {
    if (this.skipThrough !== undefined && compareRevisions(revision, this.skipThrough) >= 0) this.skipThrough = undefined;
  }

  /** A live event from the cache. Never throws and never waits. */
  deliver(ev: CacheEvent): void {
    if (this.ended) return;
    if (this.skipThrough !== undefined) {
      if (compareRevisions(ev.revision, this.skipThrough) <= 0) return;
      this.skipThrough = undefined;
    }
    const out = this.visible(ev);
    if (!out) return;
    const behind = this.buffered() - this.replayRemaining;
    const stalledMs = behind > 0 ? this.now() - this.lastProgressAt : 0;
    if (behind >= this.opts.bufferSize || stalledMs >= this.opts.stallTimeoutMs) {
      this.dropRevision(out.revision);
      this.end(new SlowWatcherError(behind, stalledMs));
      return;
    }
    this.push(out);
  }

  /** Ends the watch from the cache's side; buffered events are still delivered, then `err`. */
  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    clearTimeout(this.bookmarkTimer);
    this.opts.onEnd(this, err);
    if (this.pending && this.buffered() === 0) this.settleEnded();
  }

  close(): void {
    this.queue = [];
    this.head = 0;
    this.replayRemaining = 0;
    this.error = undefined;
    if (!this.ended) this.end();
    else if (this.pending) this.settleEnded();
  }

  takeBuffered(max: number): WatchEvent[] {
    const n = Math.min(max, this.buffered());
    if (n <= 0) return [];
    const out = this.queue.slice(this.head, this.head + n) as WatchEvent[];
    this.queue.fill(undefined, this.head, this.head + n);
    this.head += n;
    this.replayRemaining = Math.max(0, this.replayRemaining - n);
    this.lastProgressAt = this.now();
    this.compact();
    return out;
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      if (this.replayRemaining > 0) this.replayRemaining--;
      this.lastProgressAt = this.now();
      this.compact();
      return Promise.resolve({ value, done: false });
    }
    if (this.pending) return Promise.reject(new WatchError('Watcher.events supports a single consumer'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      if (this.ended) this.settleEnded();
    });
  }

  return(): Promise<IteratorResult<WatchEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  private visible(ev: CacheEvent): WatchEvent | undefined {
    try {
      return eventForWatcher(ev, this.opts.filter);
    } catch (err) {
      this.end(new WatchError('watch filter threw', { cause: err }));
      return undefined;
    }
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private buffered(): number {
    return this.queue.length - this.head;
  }

  private push(ev: WatchEvent): void {
    this.lastEnqueuedAt = this.now();
    const pending = this.pending;
    if (pending) {
      this.pending = undefined;
      this.lastProgressAt = this.lastEnqueuedAt;
      pending.resolve({ value: ev, done: false });
    } else {
      // A client that was idle starts waiting now, not when it last read.
      if (this.buffered() === 0) this.lastProgressAt = this.lastEnqueuedAt;
      this.queue.push(ev);
    }
  }

  // The client resumes from the last revision it received, which claims it has every event at
  // that revision; so events sharing the dropped event's revision must not be delivered either.
  private dropRevision(revision: string): void {
    while (this.buffered() > 0 && this.queue[this.queue.length - 1]!.revision === revision) {
      this.queue.pop();
      if (this.replayRemaining > this.buffered()) this.replayRemaining = this.buffered();
    }
  }

  private settleEnded(): void {
    const pending = this.pending!;
    this.pending = undefined;
    const err = this.error;
    this.error = undefined;
    if (err) pending.reject(err);
    else pending.resolve({ value: undefined, done: true });
  }

  private scheduleBookmark(delayMs: number): void {
    this.bookmarkTimer = setTimeout(() => this.bookmarkTick(), delayMs);
    this.bookmarkTimer.unref();
  }

  private bookmarkTick(): void {
    if (this.ended) return;
    const interval = this.opts.bookmarkIntervalMs!;
    const idleMs = this.now() - this.lastEnqueuedAt;
    if (idleMs < interval) return this.scheduleBookmark(interval - idleMs);
    // A client with unread events or still waiting for its start revision gains nothing from one.
    if (this.buffered() === 0 && this.skipThrough === undefined) {
      this.push({ type: 'BOOKMARK', revision: this.opts.currentRevision() });
    }
    this.scheduleBookmark(interval);
  }
}
