// The node agent's reconcile loop, one for everything the agent converges (Containers, compose stacks):
// a work queue of keys drained by a few workers, a coalesced resync that re-lists the engine on a timer
// and after missed events, and the engine's event stream feeding the queue. What a key means, how the
// engine is listed and how an event maps to keys is the caller's (AgentLoopHandlers).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RateLimiter } from '../lib/queue/ratelimit.js';
import { WorkQueue } from '../lib/queue/workqueue.js';

export interface AgentLoopHandlers<Event extends { time?: number }> {
  /** One turn for one key. Errors are the handler's to record and requeue; a throw is only logged. */
  reconcile(key: string): Promise<void>;
  /** Lists the engine and queues the keys it finds; runs coalesced (requests during one make one more). */
  resync(): Promise<void>;
  /** The engine's events from `since` (seconds) until `signal` aborts or the stream breaks. */
  events(since: number | undefined, signal: AbortSignal): AsyncIterable<Event>;
  /** Queues the keys an event touches. */
  onEvent(event: Event): void;
}

export interface AgentLoopOptions<Event extends { time?: number }> {
  /** The queue's name in metrics and logs. */
  name: string;
  /** Keys reconciled at once; one key is never reconciled concurrently. */
  concurrency: number;
  /** How often the engine is listed again. */
  resyncIntervalMs: number;
  rateLimiter: RateLimiter;
  log: Logger;
  handlers: AgentLoopHandlers<Event>;
}

const FIRST_EVENT_RETRY_MS = 1_000;
const MAX_EVENT_RETRY_MS = 30_000;

export class AgentLoop<Event extends { time?: number }> {
  readonly queue: WorkQueue;
  private readonly stopping = new AbortController();
  private readonly opts: AgentLoopOptions<Event>;
  private started = false;
  private active = 0;
  private resyncing?: Promise<void>;
  private resyncWanted = false;
  private idleWaiters: (() => void)[] = [];
  private workers: Promise<void>[] = [];
  private resyncTimer?: NodeJS.Timeout;
  private events?: Promise<void>;

  constructor(opts: AgentLoopOptions<Event>) {
    this.opts = opts;
    this.queue = new WorkQueue({ name: opts.name, rateLimiter: opts.rateLimiter });
  }

  /** Aborted once stop() begins: long work (pulls, multi-step turns) ends early on it. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Starts the workers, the event watch and the periodic resync. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.workers = Array.from({ length: this.opts.concurrency }, () => this.worker());
    this.resyncTimer = setInterval(() => void this.resync(), this.opts.resyncIntervalMs);
    this.resyncTimer.unref();
    this.events = this.watchEvents();
    void this.resync();
  }

  /** Stops taking work and waits for the turns in progress, the resync and the event watch. */
  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.workers);
    await this.resyncing;
    await this.events;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Lists the engine and queues its keys; requests during one coalesce into one more. */
  resync(): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    this.resyncWanted = true;
    this.resyncing ??= (async () => {
      while (this.resyncWanted && !this.stopping.signal.aborted) {
        this.resyncWanted = false;
        await this.opts.handlers.resync();
      }
    })().finally(() => {
      this.resyncing = undefined;
      this.checkIdle();
    });
    return this.resyncing;
  }

  /** Resolves once no resync runs, no key is queued and no turn is in progress. */
  idle(): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  private checkIdle(): void {
    // After the current microtasks: a key handed to a waiting worker is only counted once it resumes.
    setImmediate(() => {
      if (this.resyncing || this.queue.len() > 0 || this.active > 0) return;
      for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private async worker(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      this.active++;
      try {
        await this.opts.handlers.reconcile(key);
      } catch (e) {
        this.opts.log.error({ err: e, key }, 'reconcile failed');
      } finally {
        this.active--;
        this.queue.done(key);
        this.checkIdle();
      }
    }
  }

  /** Events feed the queue; after a broken stream, resume from the last event seen and re-list. */
  private async watchEvents(): Promise<void> {
    const signal = this.stopping.signal;
    let since: number | undefined;
    let delay = FIRST_EVENT_RETRY_MS;
    while (!signal.aborted) {
      try {
        for await (const ev of this.opts.handlers.events(since, signal)) {
          since = ev.time ?? since;
          delay = FIRST_EVENT_RETRY_MS;
          this.opts.handlers.onEvent(ev);
        }
      } catch (e) {
        if (signal.aborted) return;
        this.opts.log.debug({ err: e }, 'docker event stream broke; resuming');
      }
      if (signal.aborted) return;
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      delay = Math.min(delay * 2, MAX_EVENT_RETRY_MS);
      // Events may have been missed in between.
      void this.resync();
    }
  }
}
