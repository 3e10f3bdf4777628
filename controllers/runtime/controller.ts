// A controller (controller-runtime's): a reconcile function for keys, fed by informer events through a
// rate-limited work queue and run by a pool of workers; one key is never reconciled concurrently.
import { randomUUID } from 'node:crypto';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Resource } from '../../lib/api/resource.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { TerminalError } from './errors.js';
import type { Informer } from './informer.js';
import { objectKey } from './keys.js';
import { controllerMetrics, type ControllerMetrics } from './metrics.js';
import type { RateLimiter } from '../../lib/queue/ratelimit.js';
import { WorkQueue } from '../../lib/queue/workqueue.js';

/** What to do with the key after a successful reconcile; nothing means done until the next event. */
export type Result = { requeue?: boolean; requeueAfterMs?: number } | void;

export interface ReconcileContext {
  /** A child of the controller's logger with controller, key and reconcileID. */
  log: Logger;
  reconcileId: string;
  /** Aborted when the controller stops (shutdown or lost leadership): stop acting. */
  signal: AbortSignal;
}

export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<Result>;

/** Maps an object to the keys to reconcile (e.g. a Container to its owner); nothing skips it. */
export type MapFunc = (obj: Resource) => string | string[] | undefined | null;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Keys reconciled in parallel (never the same key twice). @default 1 */
  workers?: number;
  logger: Logger;
  registry?: Registry;
  /** @default defaultControllerRateLimiter */
  rateLimiter?: RateLimiter;
  /** @default systemClock */
  clock?: Clock;
}

interface Source {
  informer: Informer;
  map: MapFunc;
}

export class Controller {
  readonly name: string;
  private readonly opts: ControllerOptions;
  private readonly log: Logger;
  private readonly metrics?: ControllerMetrics;
  private readonly sources: Source[] = [];
  private queue?: WorkQueue;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.log = opts.logger.child({ controller: opts.name });
    this.metrics = opts.registry ? controllerMetrics(opts.registry) : undefined;
    this.metrics?.maxConcurrent.set({ controller: this.name }, this.workers);
  }

  private get workers(): number {
    return Math.max(1, this.opts.workers ?? 1);
  }

  /**
   * Enqueues keys for the informer's events while the controller runs, and every cached object when
   * it starts. The default key is the object's own namespace/name; on update both the old and the
   * new object are mapped, so a changed owner reference reaches the old owner too.
   */
  watch(informer: Informer, map: MapFunc = objectKey): this {
    const source = { informer, map };
    this.sources.push(source);
    informer.addEventHandler({
      onAdd: (obj) => this.enqueueMapped(source, obj),
      onUpdate: (old, obj) => {
        this.enqueueMapped(source, old);
        this.enqueueMapped(source, obj);
      },
      onDelete: (obj) => this.enqueueMapped(source, obj),
    });
    return this;
  }

  /** Queues key now (ignored while the controller is not running). */
  enqueue(key: string): void {
    this.queue?.add(key);
  }

  enqueueAfter(key: string, ms: number): void {
    this.queue?.addAfter(key, ms);
  }

  get running(): boolean {
    return this.queue !== undefined;
  }

  /**
   * Runs the workers until signal aborts, then waits for in-flight reconciles to return. Each run
   * starts from a fresh queue holding every key the watched caches map to, so it can run again
   * after losing and regaining leadership.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.queue) throw new Error(`controller ${this.name} is already running`);
    if (signal.aborted) return;
    const queue = new WorkQueue({
      name: this.name,
      clock: this.opts.clock ?? systemClock,
      rateLimiter: this.opts.rateLimiter,
      registry: this.opts.registry,
    });
    this.queue = queue;
    for (const source of this.sources) for (const obj of source.informer.list()) this.enqueueMapped(source, obj);
    const stop = () => queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    this.log.info({ workers: this.workers }, 'starting workers');
    try {
      await Promise.all(Array.from({ length: this.workers }, () => this.worker(queue, signal)));
    } finally {
      signal.removeEventListener('abort', stop);
      this.queue = undefined;
      this.log.info('workers stopped');
    }
  }

  private enqueueMapped(source: Source, obj: Resource): void {
    const queue = this.queue;
    if (!queue) return;
    let keys: string | string[] | undefined | null;
    try {
      keys = source.map(obj);
    } catch (err) {
      this.log.error({ err, kind: source.informer.kind, object: objectKey(obj) }, 'map function threw; event dropped');
      return;
    }
    for (const key of [keys ?? []].flat()) if (key) queue.add(key);
  }

  private async worker(queue: WorkQueue, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileOne(queue, key, signal);
      } finally {
        queue.done(key);
      }
    }
  }

  private async reconcileOne(queue: WorkQueue, key: string, signal: AbortSignal): Promise<void> {
    const reconcileId = randomUUID();
    const log = this.log.child({ key, reconcileID: reconcileId });
    const labels = { controller: this.name };
    this.metrics?.activeWorkers.inc(labels);
    const endTimer = this.metrics?.duration.startTimer(labels);
    try {
      const result = await this.opts.reconcile(key, { log, reconcileId, signal });
      if (result && result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        queue.forget(key);
        queue.addAfter(key, result.requeueAfterMs);
        this.count('requeue_after');
      } else if (result?.requeue) {
        queue.addRateLimited(key);
        this.count('requeue');
      } else {
        queue.forget(key);
        this.count('success');
      }
    } catch (err) {
      if (isConflict(err)) {
        // Someone wrote the object since the informer showed it: the normal lot of optimistic
        // concurrency, not a failure. Retry on the newer version, as Kubernetes' controllers do.
        queue.addRateLimited(key);
        this.count('conflict');
        log.debug({ err: (err as Error).message }, 'conflict; retrying on the newer version');
        return;
      }
      this.count('error');
      this.metrics?.errors.inc(labels);
      if (err instanceof TerminalError) {
        this.metrics?.terminalErrors.inc(labels);
        queue.forget(key);
        log.error({ err }, 'reconcile failed with a terminal error; not retrying');
      } else {
        queue.addRateLimited(key);
        log.error({ err, retries: queue.numRequeues(key) }, 'reconcile failed; retrying with back-off');
      }
    } finally {
      endTimer?.();
      this.metrics?.activeWorkers.dec(labels);
    }
  }

  private count(result: 'success' | 'error' | 'conflict' | 'requeue' | 'requeue_after'): void {
    this.metrics?.reconciles.inc({ controller: this.name, result });
  }
}

/** gRPC ABORTED: a compare-and-swap lost to a newer version of the object. */
function isConflict(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === Code.ABORTED;
}
