// client-go's rate-limited work queue: keys (never objects), de-duplicated while waiting, never
// handed to two workers at once, with delayed and rate-limited adds for retries and requeueAfter.
import type { Registry } from 'prom-client';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { workQueueMetrics, type WorkQueueMetrics } from './metrics.js';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimit.js';

export interface WorkQueueOptions {
  /** The `name` label of the queue's metrics; by convention the controller's name. */
  name: string;
  /** @default systemClock */
  clock?: Clock;
  /** @default defaultControllerRateLimiter (5 ms → 1000 s per key, 10/s burst 100 overall) */
  rateLimiter?: RateLimiter;
  /** Where workqueue_* metrics go; none when absent. */
  registry?: Registry;
}

export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly metrics?: WorkQueueMetrics;

  private readonly queue: string[] = [];
  // Keys that need processing: queued, or added again while being processed.
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly delayed = new Map<string, { due: number; timer: TimerHandle }>();
  private readonly queuedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.name = opts.name;
    this.clock = opts.clock ?? systemClock;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter(this.clock);
    this.metrics = opts.registry ? workQueueMetrics(opts.registry) : undefined;
    this.metrics?.depth.set({ name: this.name }, 0);
  }

  /** Queues key unless it is already waiting; a key being processed is queued again once done. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.adds.inc({ name: this.name });
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds key after ms; of several pending delayed adds of one key, the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const due = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.due <= due) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { due, timer });
  }

  /** Adds key after its rate limiter's back-off: for retrying a failed key. */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.retries.inc({ name: this.name });
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** The key succeeded: its next failure backs off from the start again. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /**
   * The next key to process, waiting for one if the queue is empty; undefined once shut down.
   * The caller owns the key until it calls done(key).
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.startProcessing(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Processing of key finished (whatever the outcome); a re-add that came meanwhile is queued now. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const started = this.startedAt.get(key);
    this.startedAt.delete(key);
    if (started !== undefined) this.metrics?.workDuration.observe({ name: this.name }, (this.clock.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
  }

  /** Keys waiting to be processed (not counting delayed adds). */
  len(): number {
    return this.queue.length;
  }

  /** Delayed adds not yet due. */
  pendingDelayed(): number {
    return this.delayed.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stops handing out keys: waiting and later get() calls return undefined, queued and delayed keys
   * are dropped (whoever runs next starts from a full re-list anyway). Keys in processing may still
   * be marked done().
   */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.queue.length = 0;
    this.queuedAt.clear();
    this.metrics?.depth.set({ name: this.name }, 0);
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private enqueue(key: string): void {
    this.queue.push(key);
    this.queuedAt.set(key, this.clock.now());
    this.metrics?.depth.set({ name: this.name }, this.queue.length);
    const waiter = this.waiters.shift();
    // Waiters exist only while the queue is empty, so the head is the key just pushed.
    if (waiter) {
      const next = this.queue.shift()!;
      this.startProcessing(next);
      waiter(next);
    }
  }

  private startProcessing(key: string): void {
    this.processing.add(key);
    this.dirty.delete(key);
    const now = this.clock.now();
    const queued = this.queuedAt.get(key);
    this.queuedAt.delete(key);
    if (queued !== undefined) this.metrics?.queueDuration.observe({ name: this.name }, (now - queued) / 1000);
    this.metrics?.depth.set({ name: this.name }, this.queue.length);
    this.startedAt.set(key, now);
  }
}
