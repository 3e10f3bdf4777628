// Leader election on a Lease object through the API (client-go's leaderelection): take the lease
// when it is free or expired, renew it by compare-and-swap, stop acting when renewal fails.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Resource } from '../../lib/api/resource.js';
import type { LeaseObject } from '../../lib/api/typed.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { leaderElectionMetrics } from './metrics.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../lib/client/errors.js';
import { API_VERSION } from '../../lib/api/kinds.js';

/** The part of ApiClient leader election needs. */
export interface LeaseClient {
  get(kind: string, name: string, namespace?: string): Promise<Resource>;
  create(obj: Resource): Promise<Resource>;
  update(obj: Resource): Promise<Resource>;
}

export interface LeaderElectorOptions {
  client: LeaseClient;
  /** The Lease's name: one per controller (e.g. "docker-controller"). */
  name: string;
  /** The Lease's namespace, which must exist (e.g. "persys-system"). */
  namespace: string;
  /** Unique per process, e.g. hostname + pid + random suffix. */
  identity: string;
  /** How long a lease holds without renewal; stored in whole seconds (rounded up). @default 15000 */
  leaseDurationMs?: number;
  /** The leader gives up when it could not renew for this long; must be < leaseDurationMs. @default 10000 */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. @default 2000 */
  retryPeriodMs?: number;
  /** On a clean stop, clear holderIdentity so a successor need not wait for expiry. @default true */
  releaseOnCancel?: boolean;
  logger?: Logger;
  registry?: Registry;
}

export interface LeaderCallbacks {
  /**
   * Called on becoming leader; `signal` aborts when leadership ends. If it returns a promise, a clean
   * stop waits (up to renewDeadlineMs) for it before releasing the lease, so no work overlaps a successor.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once leadership ends, whether lost or released. */
  onStoppedLeading?(): void;
  /** Called when the observed holder changes (including to this process). */
  onNewLeader?(identity: string): void;
}

type Attempt = 'acquired' | 'held-by-other' | 'conflict';

const JITTER = 1.2;
const FAILED_RENEW_RETRY_MS = 1_000;

export class LeaderElector {
  private readonly opts: Required<Omit<LeaderElectorOptions, 'logger' | 'registry'>>;
  private readonly log: Logger;
  private readonly leading;
  private leader = false;
  private observedHolder = '';
  private running = false;

  constructor(opts: LeaderElectorOptions) {
    this.opts = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnCancel: true,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    } as LeaderElector['opts'];
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = this.opts;
    if (leaseDurationMs <= renewDeadlineMs) throw new RangeError('leaseDurationMs must be greater than renewDeadlineMs');
    if (renewDeadlineMs <= JITTER * retryPeriodMs) throw new RangeError('renewDeadlineMs must be greater than 1.2 × retryPeriodMs');
    this.log = (opts.logger ?? silentLogger()).child({ component: 'leader-election', lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.leading = opts.registry ? leaderElectionMetrics(opts.registry).leading : undefined;
    this.leading?.set({ name: opts.name }, 0);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** The holder this process last saw on the lease ('' when free). */
  get observedLeader(): string {
    return this.observedHolder;
  }

  /**
   * Campaigns until leader, leads until the lease is lost or signal aborts, then returns. A process
   * that lost leadership must stop acting (its callbacks' signal has aborted); it may call run again.
   */
  async run(callbacks: LeaderCallbacks, signal: AbortSignal = new AbortController().signal): Promise<void> {
    if (this.running) throw new Error('leader election is already running');
    this.running = true;
    try {
      if (!(await this.acquire(callbacks, signal))) return;
      this.leader = true;
      this.leading?.set({ name: this.opts.name }, 1);
      this.log.info('became leader');
      const leadership = new AbortController();
      const work = Promise.resolve()
        .then(() => callbacks.onStartedLeading(leadership.signal))
        .catch((err) => this.log.error({ err }, 'onStartedLeading failed'));
      const lost = await this.renewUntilLostOrStopped(callbacks, signal);
      leadership.abort();
      this.leader = false;
      this.leading?.set({ name: this.opts.name }, 0);
      if (lost) {
        this.log.error('lost leadership: could not renew the lease');
      } else if (this.opts.releaseOnCancel) {
        await this.releaseAfter(work);
      }
      this.safely(() => callbacks.onStoppedLeading?.());
    } finally {
      this.running = false;
    }
  }

  private async acquire(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      const attempt = await this.tryAcquireOrRenew(callbacks).catch((err) => {
        this.log.warn({ err }, 'could not acquire the lease');
        return 'conflict' as const;
      });
      if (attempt === 'acquired') return true;
      await this.wait(this.opts.retryPeriodMs * (1 + Math.random() * (JITTER - 1)), signal);
    }
    return false;
  }

  /** Renews every retryPeriod; returns true when leadership was lost, false when signal aborted. */
  private async renewUntilLostOrStopped(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<boolean> {
    let lastRenew = Date.now();
    let failed = false;
    while (!signal.aborted) {
      // A failed renewal is retried sooner: with a long retry period, the renew deadline would
      // otherwise leave room for a single retry, and one slow write would cost the leadership.
      await this.wait(failed ? Math.min(this.opts.retryPeriodMs, FAILED_RENEW_RETRY_MS) : this.opts.retryPeriodMs, signal);
      if (signal.aborted) return false;
      const deadline = lastRenew + this.opts.renewDeadlineMs;
      let attempt: Attempt | 'failed';
      try {
        attempt = await withTimeout(this.tryAcquireOrRenew(callbacks), deadline - Date.now());
      } catch (err) {
        this.log.warn({ err }, 'lease renewal failed');
        attempt = 'failed';
      }
      failed = attempt !== 'acquired';
      if (attempt === 'acquired') lastRenew = Date.now();
      // Someone else holds an unexpired lease: we are not leader whatever our deadline says.
      else if (attempt === 'held-by-other') return true;
      else if (Date.now() >= deadline) return true;
    }
    return false;
  }

  private async tryAcquireOrRenew(callbacks: LeaderCallbacks): Promise<Attempt> {
    const { client, name, namespace, identity } = this.opts;
    const now = Date.now();
    const durationSeconds = Math.ceil(this.opts.leaseDurationMs / 1000);
    let current: LeaseObject | undefined;
    try {
      current = await client.get('Lease', name, namespace);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!current) {
      try {
        await client.create({
          apiVersion: API_VERSION,
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: iso(now), renewTime: iso(now), leaseTransitions: 0 },
        });
        this.observe(identity, callbacks);
        return 'acquired';
      } catch (err) {
        if (isAlreadyExists(err)) return 'conflict';
        throw err;
      }
    }
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    this.observe(holder, callbacks);
    if (holder && holder !== identity && !leaseExpired(spec, now)) return 'held-by-other';
    const mine = holder === identity;
    try {
      await client.update({
        ...current,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: mine ? spec.acquireTime : iso(now),
          renewTime: iso(now),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
        },
      });
    } catch (err) {
      // ABORTED: someone wrote the lease since we read it, and they won.
      if (isConflict(err) || isNotFound(err)) return 'conflict';
      throw err;
    }
    this.observe(identity, callbacks);
    return 'acquired';
  }

  // Releasing while our workers still act would let a successor overlap them: wait for them first.
  private async releaseAfter(work: Promise<unknown>): Promise<void> {
    const finished = await withTimeout(work.then(() => true), this.opts.renewDeadlineMs).catch(() => false);
    if (!finished) {
      this.log.warn('workers did not stop in time; leaving the lease to expire instead of releasing it');
      return;
    }
    const { client, name, namespace, identity } = this.opts;
    try {
      const current = await client.get('Lease', name, namespace);
      if ((current.spec?.holderIdentity ?? '') !== identity) return;
      const now = iso(Date.now());
      await client.update({
        ...current,
        spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      });
      this.log.info('released the lease');
    } catch (err) {
      this.log.warn({ err }, 'could not release the lease; it will expire');
    }
  }

  private observe(holder: string, callbacks: LeaderCallbacks): void {
    if (holder === this.observedHolder) return;
    this.observedHolder = holder;
    if (holder) {
      this.log.info({ leader: holder }, 'new leader observed');
      this.safely(() => callbacks.onNewLeader?.(holder));
    }
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'leader election callback threw');
    }
  }

  private wait(ms: number, signal: AbortSignal): Promise<void> {
    return sleep(ms, undefined, { signal }).catch(() => undefined);
  }
}

/** Kubernetes semantics: a lease is free once renewTime + leaseDurationSeconds has passed. */
export function leaseExpired(spec: { renewTime?: string; leaseDurationSeconds?: number }, now: number): boolean {
  const renewed = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
  if (Number.isNaN(renewed)) return true;
  return renewed + (spec.leaseDurationSeconds ?? 0) * 1000 < now;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}


function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  // The loser of the race may still reject later; that must not become an unhandled rejection.
  p.catch(() => undefined);
  if (ms <= 0) return Promise.reject(new Error('renew deadline passed'));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${Math.round(ms)} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
