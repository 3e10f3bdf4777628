// The node agent's control loop: keeps the local Docker engine at the desired state it is given and
// reports container status to a sink. The API server stream is one adapter of its inputs and sink.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Resource } from '../lib/api/resource.js';
import { silentLogger } from '../lib/observability/logger.js';
import { DesiredState } from './desired.js';
import {
  DockerTimeoutError,
  DockerUnavailableError,
  ImageNotFoundError,
  MissingSecretError,
  engineStatus,
} from './docker/errors.js';
import type { DockerRuntime, ManagedContainer } from './docker/runtime.js';
import { createOptions } from './docker/spec.js';
import type { AgentMetrics } from './metrics.js';
import {
  reconcile,
  RESTART_BACKOFF_INITIAL_MS,
  RESTART_BACKOFF_MAX_MS,
  type Action,
  type ContainerMemory,
  type ContainerStatus,
} from './reconcile.js';

/** Receives status objects (apiVersion, kind, metadata {namespace, name, uid}, status) that changed. */
export type StatusSink = (objects: Resource[]) => void;

export interface NodeAgentOptions {
  node: string;
  runtime: DockerRuntime;
  logger?: Logger;
  metrics?: AgentMetrics;
  /** @default Date.now */
  now?: () => number;
  /** Full re-list and reconcile even without events. @default 10_000 */
  resyncIntervalMs?: number;
  /** Containers (uids) acted on at once; one uid is never acted on concurrently. @default 8 */
  concurrency?: number;
}

export interface DockerHealth {
  healthy: boolean;
  message: string;
}

const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

export class NodeAgent {
  readonly node: string;
  readonly desired = new DesiredState();
  private readonly runtime: DockerRuntime;
  private readonly log: Logger;
  private readonly metrics?: AgentMetrics;
  private readonly now: () => number;
  private readonly resyncIntervalMs: number;
  private readonly concurrency: number;
  private readonly memory = new Map<string, ContainerMemory>();
  private readonly previous = new Map<string, ContainerStatus>();
  /** Status JSON last handed to the current sink, per uid. */
  private readonly reported = new Map<string, string>();
  private sink?: StatusSink;
  private dirty = false;
  private loop?: Promise<void>;
  private dockerError?: string;
  private resyncTimer?: NodeJS.Timeout;
  private requeueTimer?: NodeJS.Timeout;
  private readonly stopping = new AbortController();
  private events?: Promise<void>;
  private passes = 0;
  private readonly onBreakerOpen = () => {
    this.log.warn('docker circuit breaker open: engine calls fail fast until a trial call succeeds');
    this.metrics?.breakerState.set(BREAKER_STATE.open);
    this.metrics?.dockerHealthy.set(0);
  };
  private readonly onBreakerHalfOpen = () => this.metrics?.breakerState.set(BREAKER_STATE.halfOpen);
  private readonly onBreakerClose = () => {
    this.log.info('docker circuit breaker closed: engine answers again, reconciling');
    this.metrics?.breakerState.set(BREAKER_STATE.closed);
    this.trigger();
  };

  constructor(opts: NodeAgentOptions) {
    this.node = opts.node;
    this.runtime = opts.runtime;
    this.log = opts.logger ?? silentLogger();
    this.metrics = opts.metrics;
    this.now = opts.now ?? Date.now;
    this.resyncIntervalMs = opts.resyncIntervalMs ?? 10_000;
    this.concurrency = opts.concurrency ?? 8;
  }

  /** Starts watching Docker events and the periodic resync. */
  start(): void {
    this.runtime.on('open', this.onBreakerOpen);
    this.runtime.on('halfOpen', this.onBreakerHalfOpen);
    this.runtime.on('close', this.onBreakerClose);
    this.resyncTimer = setInterval(() => this.trigger(), this.resyncIntervalMs);
    this.resyncTimer.unref();
    this.events = this.watchEvents();
    this.trigger();
  }

  /** Stops acting and waits for the pass in progress; every container keeps running. */
  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.resyncTimer);
    clearTimeout(this.requeueTimer);
    this.runtime.off('open', this.onBreakerOpen);
    this.runtime.off('halfOpen', this.onBreakerHalfOpen);
    this.runtime.off('close', this.onBreakerClose);
    await this.loop;
    await this.events;
  }

  /** The node's complete desired state (on every stream (re)connect). */
  setDesired(objects: Resource[]): void {
    this.desired.replace(objects);
    this.trigger();
  }

  applyChange(type: 'UPSERT' | 'DELETE', obj: Resource): void {
    if (type === 'DELETE') this.desired.delete(obj);
    else this.desired.upsert(obj);
    this.trigger();
  }

  /** Reports go to `sink` from now on, starting with every container's current status. */
  attach(sink: StatusSink): void {
    this.sink = sink;
    this.reported.clear();
    this.trigger();
  }

  detach(): void {
    this.sink = undefined;
    this.reported.clear();
  }

  dockerHealth(): DockerHealth {
    if (this.runtime.breakerState() === 'open') {
      return { healthy: false, message: `docker engine unavailable (circuit open): ${this.dockerError ?? 'repeated failures'}` };
    }
    if (this.dockerError) return { healthy: false, message: this.dockerError };
    return { healthy: true, message: '' };
  }

  /** Managed containers of this node (for logs, exec and usage). */
  async managedContainers(): Promise<ManagedContainer[]> {
    return (await this.runtime.listManaged()).filter((c) => !c.node || c.node === this.node);
  }

  /** Runs passes until one finds nothing left to do right now; resolves when that pass ends. */
  async reconcileNow(): Promise<void> {
    this.trigger();
    await this.loop;
  }

  /** Asks for a pass; passes never overlap, and requests during one coalesce into the next. */
  trigger(): void {
    if (this.stopping.signal.aborted) return;
    this.dirty = true;
    this.loop ??= this.runPasses().finally(() => (this.loop = undefined));
  }

  private async runPasses(): Promise<void> {
    while (this.dirty && !this.stopping.signal.aborted) {
      this.dirty = false;
      const started = performance.now();
      try {
        await this.pass();
        this.metrics?.reconciles.inc({ result: 'success' });
      } catch (e) {
        this.metrics?.reconciles.inc({ result: 'error' });
        this.log.error({ err: e }, 'reconcile pass failed');
      } finally {
        this.metrics?.reconcileDuration.observe((performance.now() - started) / 1000);
      }
    }
  }

  private async pass(): Promise<void> {
    // Before the first complete desired state everything would look orphaned.
    if (!this.desired.synced) return;
    const log = this.log.child({ pass: ++this.passes });
    let observed: ManagedContainer[];
    try {
      observed = await this.runtime.listManaged();
      this.setDockerOk();
    } catch (e) {
      this.setDockerError(e);
      log.warn({ err: e }, 'cannot list containers; retrying at the next resync');
      return;
    }
    this.metrics?.managedContainers.set(observed.filter((c) => !c.node || c.node === this.node).length);
    const desired = this.desired.all();
    const now = this.now();
    const result = reconcile({ node: this.node, desired, observed, memory: this.memory, previous: this.previous, now });

    const desiredUids = new Set(desired.map((o) => o.metadata.uid));
    for (const uid of [...this.memory.keys()]) if (!desiredUids.has(uid)) this.memory.delete(uid);
    for (const uid of [...this.previous.keys()]) if (!desiredUids.has(uid)) this.previous.delete(uid);
    for (const uid of [...this.reported.keys()]) if (!desiredUids.has(uid)) this.reported.delete(uid);
    this.report(result.statuses, desired);

    clearTimeout(this.requeueTimer);
    if (result.requeueAfterMs !== undefined) {
      this.requeueTimer = setTimeout(() => this.trigger(), result.requeueAfterMs + 50);
      this.requeueTimer.unref();
    }
    if (!result.actions.length) return;
    await this.applyAll(result.actions, log);
    // Level-triggered: look again rather than trust that each step did what it should.
    this.dirty = true;
  }

  private report(statuses: Map<string, ContainerStatus>, desired: Resource[]): void {
    const changed: Resource[] = [];
    for (const obj of desired) {
      const uid = obj.metadata.uid;
      const status = uid ? statuses.get(uid) : undefined;
      if (!uid || !status) continue;
      this.previous.set(uid, status);
      const json = JSON.stringify(status);
      if (!this.sink || this.reported.get(uid) === json) continue;
      this.reported.set(uid, json);
      changed.push({
        apiVersion: obj.apiVersion || 'persys.dev/v1',
        kind: obj.kind,
        metadata: { namespace: obj.metadata.namespace, name: obj.metadata.name, uid },
        status,
      });
    }
    if (changed.length && this.sink) this.sink(changed);
  }

  /** Serially per uid, up to `concurrency` uids at once. */
  private async applyAll(actions: Action[], log: Logger): Promise<void> {
    const byUid = new Map<string, Action[]>();
    for (const a of actions) byUid.set(a.uid, [...(byUid.get(a.uid) ?? []), a]);
    const queue = [...byUid.values()];
    const worker = async () => {
      for (let steps = queue.shift(); steps; steps = queue.shift()) {
        for (const a of steps) {
          if (this.stopping.signal.aborted) return;
          if (!(await this.applyOne(a, log))) break;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, queue.length) }, worker));
  }

  /** One action; false when it failed (the uid's later steps wait for the next pass). */
  private async applyOne(a: Action, log: Logger): Promise<boolean> {
    const alog = log.child({ uid: a.uid, action: a.type, ...('id' in a ? { containerId: a.id.slice(0, 12) } : {}) });
    try {
      switch (a.type) {
        case 'create':
          await this.createAndStart(a.container);
          break;
        case 'recreate':
          await this.runtime.remove(a.id);
          await this.createAndStart(a.container);
          break;
        case 'start':
          await this.runtime.start(a.id);
          this.clearFailure(a.uid);
          break;
        case 'restart':
          await this.runtime.start(a.id);
          this.memory.set(a.uid, { restartCount: a.restartCount, backoffMs: a.backoffMs });
          break;
        case 'remove':
          await this.runtime.remove(a.id);
          break;
      }
      alog.info(a.type === 'remove' ? { reason: a.reason } : {}, `${a.type} done`);
      this.metrics?.actions.inc({ action: a.type, result: 'success' });
      return true;
    } catch (e) {
      this.metrics?.actions.inc({ action: a.type, result: 'error' });
      if (e instanceof DockerUnavailableError || e instanceof DockerTimeoutError) {
        // The engine's trouble, not this container's: reported as the node's Docker condition.
        this.setDockerError(e);
        alog.warn({ err: e }, `${a.type} failed: docker engine unavailable`);
        return false;
      }
      this.recordFailure(a, e);
      alog.warn({ err: e }, `${a.type} failed`);
      return false;
    }
  }

  private async createAndStart(container: Resource): Promise<void> {
    const uid = container.metadata.uid!;
    const opts = createOptions(container, {
      node: this.node,
      resolveSecret: (ns, name, key) => this.desired.resolveSecret(ns, name, key),
    });
    const id = await this.runtime.create(opts);
    this.memory.set(uid, { restartCount: 0, backoffMs: RESTART_BACKOFF_INITIAL_MS });
    await this.runtime.start(id);
  }

  private recordFailure(a: Action, e: unknown): void {
    const before = this.memory.get(a.uid);
    const reason =
      e instanceof ImageNotFoundError
        ? 'ImageNotPresent'
        : e instanceof MissingSecretError
          ? 'CreateContainerConfigError'
          : engineStatus(e) === 409
            ? 'NameConflict'
            : a.type === 'create' || a.type === 'recreate'
              ? 'CreateContainerError'
              : a.type === 'remove'
                ? 'RemoveError'
                : 'StartError';
    const retryAfterMs = before?.failure
      ? Math.min(before.failure.retryAfterMs * 2, RESTART_BACKOFF_MAX_MS)
      : RESTART_BACKOFF_INITIAL_MS;
    this.memory.set(a.uid, {
      restartCount: before?.restartCount ?? 0,
      backoffMs: before?.backoffMs ?? RESTART_BACKOFF_INITIAL_MS,
      failure: { reason, message: (e as Error)?.message ?? String(e), at: this.now(), retryAfterMs },
    });
  }

  private clearFailure(uid: string): void {
    const m = this.memory.get(uid);
    if (m?.failure) this.memory.set(uid, { restartCount: m.restartCount, backoffMs: m.backoffMs });
  }

  private setDockerOk(): void {
    if (this.dockerError) this.log.info('docker engine answers again');
    this.dockerError = undefined;
    this.metrics?.dockerHealthy.set(1);
  }

  private setDockerError(e: unknown): void {
    this.dockerError = (e as Error)?.message ?? String(e);
    this.metrics?.dockerHealthy.set(0);
  }

  /** Engine events trigger a pass; after a broken event stream, resume from the last event seen. */
  private async watchEvents(): Promise<void> {
    const signal = this.stopping.signal;
    let since: number | undefined;
    let delay = 1_000;
    while (!signal.aborted) {
      try {
        for await (const ev of this.runtime.events({ since, signal })) {
          since = ev.time;
          delay = 1_000;
          // Healthcheck probes are execs: they say nothing new (health_status events do).
          if (!ev.Action.startsWith('exec_')) this.trigger();
        }
      } catch (e) {
        if (signal.aborted) return;
        this.log.debug({ err: e }, 'docker event stream broke; resuming');
      }
      if (signal.aborted) return;
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      delay = Math.min(delay * 2, 30_000);
      // Events may have been missed in between.
      this.trigger();
    }
  }
}
