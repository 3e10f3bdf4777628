// The node agent's control loop: a work queue of uids, fed by desired-state changes, Docker events and
// a periodic re-list, keeps the local engine at the desired state and reports status to a sink.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ItemExponentialRateLimiter } from '../lib/queue/ratelimit.js';
import type { WorkQueue } from '../lib/queue/workqueue.js';
import { containerSpecReferences, type ConfigKind } from '../lib/api/references.js';
import type { Resource } from '../lib/api/resource.js';
import { isContainer, type ContainerObject } from '../lib/api/typed.js';
import { silentLogger } from '../lib/observability/logger.js';
import { DOCKER_CONFIG_JSON_KEY, type RegistryAuth } from '../lib/registry/credentials.js';
import { DesiredState } from './desired.js';
import { pullCredentials } from './images/pull-secrets.js';
import { DockerTimeoutError, DockerUnavailableError, engineStatus } from '../lib/docker/engine-guard.js';
import { ContainerConfigError, ImageNeverPullError, ImageNotFoundError, ImagePullError } from './docker/errors.js';
import type { DockerEvent } from './docker/events.js';
import { LABEL_NODE, LABEL_UID } from './docker/labels.js';
import { createOptions } from './docker/spec.js';
import { ImagePuller } from './images/puller.js';
import type { AgentMetrics } from './metrics.js';
import { AgentLoop } from './loop.js';
import { ObservedContainers } from './observed.js';
import type { ContainerRuntime, ManagedContainer } from './runtime.js';
import {
  reconcileUid,
  RESTART_BACKOFF_INITIAL_MS,
  RESTART_BACKOFF_MAX_MS,
  type Action,
  type ContainerMemory,
  type ContainerStatus,
  type ImageState,
} from './reconcile.js';
import { ConfigVolumes, mountsConfig } from './volumes/config-volumes.js';

import type { DesiredStateConsumer, StatusSink } from './desired-router.js';
import { API_VERSION } from '../lib/api/kinds.js';
export type { StatusSink };

export interface NodeAgentOptions {
  node: string;
  /** The engine: Docker, or a hollow node's simulated one. */
  runtime: ContainerRuntime;
  logger?: Logger;
  metrics?: AgentMetrics;
  /** @default Date.now */
  now?: () => number;
  /** Re-list the engine and reconcile every uid even without events. @default 10_000 */
  resyncIntervalMs?: number;
  /** Containers (uids) acted on at once; one uid is never acted on concurrently. @default 8 */
  concurrency?: number;
  /**
   * Where the files of ConfigMap and Secret volumes are written, one directory per container uid; the
   * engine must see the same path (it bind-mounts them). @default `<tmpdir>/persys-agent/<node>/volumes`
   */
  volumesDir?: string;
  /** The node's image puller, shared with the other engines of the node. @default one of its own on `runtime` */
  puller?: ImagePuller;
  /** The agent's DNS server (IPv4 on port 53) that created containers resolve through; none: the engine's default DNS. */
  dnsServer?: string;
  /**
   * Resolves when a deleted Container may be removed: once no Service sends it new connections any more
   * (node-agent/vip/drain.ts). None: deleted Containers go at once.
   */
  drained?: (namespace: string, name: string) => Promise<void>;
}

export interface DockerHealth {
  healthy: boolean;
  message: string;
}

const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;
/** Decide-and-act rounds one worker turn may take for its uid (remove a duplicate, then start, ...). */
const MAX_STEPS_PER_TURN = 3;

export class NodeAgent implements DesiredStateConsumer {
  readonly node: string;
  readonly desired = new DesiredState();
  private readonly runtime: ContainerRuntime;
  private readonly dnsServer?: string;
  private readonly drained?: (namespace: string, name: string) => Promise<void>;
  private readonly log: Logger;
  private readonly metrics?: AgentMetrics;
  private readonly now: () => number;
  private readonly memory = new Map<string, ContainerMemory>();
  /** Image state per uid: a pull in flight (awaited by no worker), or an image ready for the next create. */
  private readonly images = new Map<string, ImageState & { abort?: AbortController }>();
  /** RepoDigests of local images by id, for status.imageId (an image id's content never changes). */
  private readonly repoDigests = new Map<string, readonly string[]>();
  private readonly digestLookups = new Map<string, Promise<void>>();
  private readonly pulls = new Set<Promise<void>>();
  readonly puller: ImagePuller;
  private readonly previous = new Map<string, ContainerStatus>();
  /** Status JSON last handed to the current sink, per uid. */
  private readonly reported = new Map<string, string>();
  private readonly observed = new ObservedContainers();
  // Engine trouble (not a container's own failure) retries a uid 1 s doubling to 30 s.
  private readonly loop: AgentLoop<DockerEvent>;
  private readonly queue: WorkQueue;
  /** Uids a worker is creating or starting a container for: their create/start events are its own doing. */
  private readonly starting = new Set<string>();
  private desiredIndex?: Map<string, Resource>;
  private sink?: StatusSink;
  private pendingReports: Resource[] = [];
  private flushScheduled = false;
  /** The cache holds a full list: until then a missing container may only be unseen. */
  private listed = false;
  private dockerError?: string;
  private reconciles = 0;
  private readonly volumes: ConfigVolumes;
  /** Volume directories of uids no longer desired are removed once, after the first complete desired state. */
  private volumesSwept = false;
  /** The last volume update problem logged per uid: a missing object is not logged again at every resync. */
  private readonly volumeProblems = new Map<string, string>();
  private readonly onBreakerOpen = () => {
    this.log.warn('docker circuit breaker open: engine calls fail fast until a trial call succeeds');
    this.metrics?.breakerState.set(BREAKER_STATE.open);
    this.metrics?.dockerHealthy.set(0);
  };
  private readonly onBreakerHalfOpen = () => this.metrics?.breakerState.set(BREAKER_STATE.halfOpen);
  private readonly onBreakerClose = () => {
    this.log.info('docker circuit breaker closed: engine answers again, reconciling');
    this.metrics?.breakerState.set(BREAKER_STATE.closed);
    void this.resync();
  };

  constructor(opts: NodeAgentOptions) {
    this.dnsServer = opts.dnsServer;
    this.drained = opts.drained;
    this.node = opts.node;
    this.runtime = opts.runtime;
    this.log = opts.logger ?? silentLogger();
    this.metrics = opts.metrics;
    this.now = opts.now ?? Date.now;
    this.volumes = new ConfigVolumes({
      root: opts.volumesDir ?? join(tmpdir(), 'persys-agent', opts.node, 'volumes'),
      config: (kind, ns, name) => this.desired.configData(kind, ns, name),
    });
    this.puller = opts.puller ?? new ImagePuller({ runtime: this.runtime, metrics: this.metrics, logger: this.log.child({ loop: 'pull' }) });
    this.loop = new AgentLoop<DockerEvent>({
      name: 'node-agent',
      concurrency: opts.concurrency ?? 8,
      resyncIntervalMs: opts.resyncIntervalMs ?? 10_000,
      // Engine trouble (not a container's own failure) retries a uid 1 s doubling to 30 s.
      rateLimiter: new ItemExponentialRateLimiter(1_000, 30_000),
      log: this.log,
      handlers: {
        reconcile: (uid) => this.reconcileCounted(uid),
        resync: () => this.resyncOnce(),
        events: (since, signal) => this.runtime.events({ since, signal }),
        onEvent: (ev) => this.onEvent(ev),
      },
    });
    this.queue = this.loop.queue;
  }

  /** Starts the workers, the Docker event watch and the periodic resync. */
  start(): void {
    this.runtime.on('open', this.onBreakerOpen);
    this.runtime.on('halfOpen', this.onBreakerHalfOpen);
    this.runtime.on('close', this.onBreakerClose);
    this.loop.start();
  }

  /** Stops acting and waits for the work in progress; every container keeps running. */
  async stop(): Promise<void> {
    const stopped = this.loop.stop();
    this.runtime.off('open', this.onBreakerOpen);
    this.runtime.off('halfOpen', this.onBreakerHalfOpen);
    this.runtime.off('close', this.onBreakerClose);
    await stopped;
    // Pulls wait on the loop's signal, aborted now: they end, leaving no promise behind.
    await Promise.all([...this.pulls]);
  }

  /** The node's complete desired state (on every stream (re)connect). */
  setDesired(objects: Resource[]): void {
    const before = this.desiredUids();
    this.desired.replace(objects);
    this.desiredIndex = undefined;
    if (!this.listed) {
      void this.resync();
      return;
    }
    if (!this.volumesSwept) void this.resync();
    for (const uid of before) this.queue.add(uid);
    this.enqueueAll();
  }

  applyChange(type: 'UPSERT' | 'DELETE', obj: Resource): void {
    // A new incarnation under the same name replaces the old one, whose containers become orphans.
    const replaced = this.desired.get(obj.kind, obj.metadata.namespace ?? '', obj.metadata.name ?? '')?.metadata.uid;
    if (type === 'DELETE') this.desired.delete(obj);
    else this.desired.upsert(obj);
    // Marked Unknown while this node was out of touch: report the real status again, changed or not.
    if (type === 'UPSERT' && (obj.status as { phase?: string } | undefined)?.phase === 'Unknown') this.reported.delete(obj.metadata.uid ?? '');
    this.desiredIndex = undefined;
    for (const uid of [replaced, obj.metadata.uid]) if (uid) this.queue.add(uid);
    if (obj.kind === 'ConfigMap' || obj.kind === 'Secret') this.configChanged(obj.kind, obj.metadata.namespace || 'default', obj.metadata.name ?? '');
  }

  /**
   * A ConfigMap or Secret changed: the Containers reading it get a turn, which re-projects their volume
   * files; one waiting for it (CreateContainerConfigError) tries again now rather than after its back-off.
   */
  private configChanged(kind: ConfigKind, namespace: string, name: string): void {
    for (const [uid, o] of this.desiredByUid()) {
      if (o.kind !== 'Container' || (o.metadata.namespace || 'default') !== namespace) continue;
      if (!containerSpecReferences(o.spec, namespace).some((r) => r.kind === kind && r.name === name)) continue;
      if (this.memory.get(uid)?.failure?.reason === 'CreateContainerConfigError') this.clearFailure(uid);
      this.queue.add(uid);
    }
  }

  /** Reports go to `sink` from now on, starting with every container's current status. */
  attach(sink: StatusSink): void {
    this.sink = sink;
    this.reported.clear();
    this.pendingReports = [];
    for (const uid of this.desiredUids()) this.queue.add(uid);
  }

  detach(): void {
    this.sink = undefined;
    this.reported.clear();
    this.pendingReports = [];
  }

  dockerHealth(): DockerHealth {
    if (this.runtime.breakerState() === 'open') {
      return { healthy: false, message: `docker engine unavailable (circuit open): ${this.dockerError ?? 'repeated failures'}` };
    }
    if (this.dockerError) return { healthy: false, message: this.dockerError };
    return { healthy: true, message: '' };
  }

  /** Managed containers of this node (for logs, exec and usage), from the cache once it is filled. */
  async managedContainers(): Promise<ManagedContainer[]> {
    const all = this.listed ? this.observed.all() : await this.runtime.listManaged();
    return all.filter((c) => !c.node || c.node === this.node);
  }

  /** Re-lists the engine, reconciles every uid, and resolves once no uid is queued or being worked on. */
  async reconcileNow(): Promise<void> {
    await this.resync();
    await this.loop.idle();
  }

  /** Lists the engine into the cache and queues every uid; requests during one coalesce into the next. */
  resync(): Promise<void> {
    return this.loop.resync();
  }

  private async resyncOnce(): Promise<void> {
    const mark = this.observed.mark();
    let listed;
    try {
      listed = await this.runtime.listSummaries();
      this.setDockerOk();
    } catch (e) {
      this.setDockerError(e);
      this.log.warn({ err: e }, 'cannot list containers; retrying at the next resync');
      return;
    }
    const seen = new Set<string>();
    for (const s of listed) {
      // Another node's agent may share this engine: its containers are never inspected or touched.
      if (s.node && s.node !== this.node) continue;
      seen.add(s.id);
      const c = this.observed.get(s.id);
      const changed =
        !c || c.state !== s.state || c.health !== s.health || (s.exitCode !== undefined && c.exitCode !== s.exitCode);
      if (changed) this.observed.markStale(s.uid, s.id);
    }
    // Gone from the engine, unless written after the list began (a container a worker just created).
    for (const c of this.observed.all()) {
      if (!seen.has(c.id) && this.observed.writtenBefore(c.id, mark)) this.observed.markStale(c.uid, c.id);
    }
    this.listed = true;
    this.metrics?.managedContainers.set(seen.size);
    await this.sweepVolumesOnce();
    this.enqueueAll();
  }

  /** Removes the volume files of containers that went while the agent was away (only with a complete desired state). */
  private async sweepVolumesOnce(): Promise<void> {
    if (this.volumesSwept || !this.desired.synced) return;
    try {
      const removed = await this.volumes.sweep((uid) => this.desiredByUid().has(uid) || this.observed.ofUid(uid).length > 0);
      this.volumesSwept = true;
      if (removed.length) this.log.info({ uids: removed }, 'removed the volume files of containers no longer desired');
    } catch (e) {
      this.log.warn({ err: e, dir: this.volumes.root }, 'cannot sweep the volume directory; retrying at the next resync');
    }
  }

  private enqueueAll(): void {
    for (const uid of new Set([...this.desiredUids(), ...this.observed.uids()])) this.queue.add(uid);
  }

  private desiredUids(): string[] {
    return [...this.desiredByUid().keys()];
  }

  private desiredByUid(): Map<string, Resource> {
    this.desiredIndex ??= new Map(this.desired.all().flatMap((o) => (o.metadata.uid ? [[o.metadata.uid, o] as const] : [])));
    return this.desiredIndex;
  }

  /** Resolves once nothing is listing, queued (delayed adds aside) or being worked on. */
  private async reconcileCounted(uid: string): Promise<void> {
    const started = performance.now();
    try {
      await this.reconcileOne(uid);
      this.metrics?.reconciles.inc({ result: 'success' });
    } catch (e) {
      this.metrics?.reconciles.inc({ result: 'error' });
      this.log.error({ err: e, uid }, 'reconcile failed');
    } finally {
      this.metrics?.reconcileDuration.observe((performance.now() - started) / 1000);
    }
  }

  /**
   * One turn for one uid: refresh its stale containers, decide, report, act, and decide again from
   * what the actions left in the cache (so Running is reported without going to the queue's back).
   */
  private async reconcileOne(uid: string): Promise<void> {
    // Before the first complete desired state everything would look orphaned; before the first
    // list, a container that exists could look missing and be created twice.
    if (!this.desired.synced || !this.listed) return;
    const log = this.log.child({ uid, reconcile: ++this.reconciles });
    for (let step = 0; !this.loop.signal.aborted; step++) {
      for (const id of this.observed.takeStale(uid)) {
        try {
          await this.refresh(uid, id);
        } catch (e) {
          this.observed.markStale(uid, id);
          this.engineTrouble(uid, e, log, 'inspect');
          return;
        }
      }
      const desired = this.desiredByUid().get(uid);
      const result = reconcileUid({
        node: this.node,
        uid,
        desired,
        observed: this.observed.ofUid(uid),
        memory: this.memory.get(uid),
        previous: this.previous.get(uid),
        image: this.images.get(uid),
        repoDigests: this.repoDigests,
        now: this.now(),
      });
      if (!desired) {
        this.memory.delete(uid);
        this.previous.delete(uid);
        this.reported.delete(uid);
        this.dropImageState(uid);
      }
      if (desired && result.status) this.report(desired, result.status);
      if (result.requeueAfterMs !== undefined) this.queue.addAfter(uid, result.requeueAfterMs + 50);
      if (!result.actions.length) {
        if (await this.syncVolumes(uid, desired, log)) this.queue.forget(uid);
        return;
      }
      // A uid that keeps needing steps yields its worker to the others.
      if (step === MAX_STEPS_PER_TURN) {
        this.queue.add(uid);
        return;
      }
      for (const a of result.actions) {
        if (this.loop.signal.aborted) return;
        const outcome = await this.applyOne(a, log);
        // Engine trouble has queued the uid with its back-off already.
        if (outcome === 'engine') return;
        if (outcome === 'failed') break;
      }
    }
  }

  /** One inspect of one container into the cache. */
  private async refresh(uid: string, id: string): Promise<void> {
    this.observed.unmarkStale(uid, id);
    const c = await this.runtime.inspectManaged(id);
    if (c && (!c.node || c.node === this.node)) {
      this.observed.set(c);
      if (c.imageId) await this.lookUpDigests(c.imageId);
    } else this.observed.delete(id);
  }

  /** The image's RepoDigests into the cache, once per image id; status.imageId goes without them on failure. */
  private async lookUpDigests(imageId: string): Promise<void> {
    if (this.repoDigests.has(imageId)) return;
    let lookup = this.digestLookups.get(imageId);
    if (!lookup) {
      lookup = this.runtime
        .imageInfo(imageId)
        .then(
          (info) => void (info && this.repoDigests.set(imageId, info.repoDigests)),
          (e: unknown) => this.log.debug({ err: e, imageId }, 'cannot inspect image for its digests'),
        )
        .finally(() => this.digestLookups.delete(imageId));
      this.digestLookups.set(imageId, lookup);
    }
    await lookup;
  }

  private report(obj: Resource, status: ContainerStatus): void {
    const uid = obj.metadata.uid!;
    this.previous.set(uid, status);
    const json = JSON.stringify(status);
    if (!this.sink || this.reported.get(uid) === json) return;
    this.reported.set(uid, json);
    this.pendingReports.push({
      apiVersion: obj.apiVersion || API_VERSION,
      kind: obj.kind,
      metadata: { namespace: obj.metadata.namespace, name: obj.metadata.name, uid },
      status,
    });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Statuses decided in the same turn of the event loop travel in one message.
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = this.pendingReports;
      this.pendingReports = [];
      if (batch.length && this.sink) this.sink(batch);
    });
  }

  /** One action; after a failure the uid's later steps wait for its next turn. */
  private async applyOne(a: Action, log: Logger): Promise<'done' | 'failed' | 'engine'> {
    const alog = log.child({ action: a.type, ...('id' in a ? { containerId: a.id.slice(0, 12) } : {}) });
    const starts = a.type !== 'remove' && a.type !== 'ensureImage';
    if (starts) this.starting.add(a.uid);
    try {
      switch (a.type) {
        case 'ensureImage':
          await this.ensureImage(a, alog);
          break;
        case 'create':
          await this.createAndStart(a.container);
          break;
        case 'recreate':
          await this.remove(a.uid, a.id);
          await this.createAndStart(a.container);
          break;
        case 'start':
          await this.runtime.start(a.id);
          this.clearFailure(a.uid);
          await this.refresh(a.uid, a.id);
          break;
        case 'restart':
          await this.runtime.start(a.id);
          this.memory.set(a.uid, { restartCount: a.restartCount, backoffMs: a.backoffMs });
          await this.refresh(a.uid, a.id);
          break;
        case 'remove': {
          // A deleted Container that backs a Service keeps serving until no VIP picks it any more.
          const c = a.reason === 'orphan' && this.drained ? this.observed.get(a.id) : undefined;
          if (c?.state === 'running' && c.kind === 'Container') await this.drained!(c.namespace, c.name);
          await this.remove(a.uid, a.id);
          break;
        }
      }
      alog.info(a.type === 'remove' ? { reason: a.reason } : {}, `${a.type} done`);
      this.metrics?.actions.inc({ action: a.type, result: 'success' });
      this.queue.forget(a.uid);
      return 'done';
    } catch (e) {
      this.metrics?.actions.inc({ action: a.type, result: 'error' });
      const createdNothing = e instanceof ImageNotFoundError || e instanceof ContainerConfigError || a.type === 'ensureImage';
      // A failed create may still have made the container (a timeout, a name taken): list again.
      if ((a.type === 'create' || a.type === 'recreate') && !createdNothing) void this.resync();
      if (this.engineTrouble(a.uid, e, alog, a.type)) return 'engine';
      this.recordFailure(a, e);
      alog.warn({ err: e }, `${a.type} failed`);
      return 'failed';
    } finally {
      if (starts) this.starting.delete(a.uid);
    }
  }

  /** The engine's trouble, not this container's: the node's Docker condition says so and the uid retries. */
  private engineTrouble(uid: string, e: unknown, log: Logger, what: string): boolean {
    if (!(e instanceof DockerUnavailableError || e instanceof DockerTimeoutError)) {
      if (what !== 'inspect') return false;
      log.warn({ err: e }, 'inspect failed');
    } else {
      this.setDockerError(e);
      log.warn({ err: e }, `${what} failed: docker engine unavailable`);
    }
    this.queue.addRateLimited(uid);
    return true;
  }

  private async remove(uid: string, id: string): Promise<void> {
    await this.runtime.remove(id);
    this.observed.unmarkStale(uid, id);
    this.observed.delete(id);
  }

  /** create + start + one inspect: the status can say Running without waiting for a resync. */
  private async createAndStart(container: ContainerObject): Promise<void> {
    const uid = container.metadata.uid!;
    // The files of ConfigMap/Secret volumes are on disk before the container that mounts them exists.
    const projectedVolumes = mountsConfig(container) ? await this.volumes.prepare(container) : undefined;
    const opts = createOptions(container, {
      node: this.node,
      config: (kind, ns, name) => this.desired.configData(kind, ns, name),
      projectedVolumes,
      dnsServer: this.dnsServer,
    });
    const id = await this.runtime.create(opts);
    // The ready image is used up: under Always the next container pulls again.
    this.images.delete(uid);
    this.memory.set(uid, { restartCount: 0, backoffMs: RESTART_BACKOFF_INITIAL_MS });
    // Should the start fail, the next turn inspects the created container rather than create another.
    this.observed.markStale(uid, id);
    await this.runtime.startCreated(id);
    await this.refresh(uid, id);
  }

  /**
   * After a uid's turn: the files of its ConfigMap/Secret volumes follow their objects while its container
   * exists (hash-compared, so an unchanged object costs no write), and go once the uid is not desired.
   * False when the files could not be written: the uid retries with the queue's back-off.
   */
  private async syncVolumes(uid: string, desired: Resource | undefined, log: Logger): Promise<boolean> {
    try {
      if (!desired) {
        this.volumeProblems.delete(uid);
        await this.volumes.remove(uid);
      } else if (isContainer(desired) && mountsConfig(desired) && this.observed.ofUid(uid).length) {
        const rewritten = await this.volumes.refresh(desired);
        this.volumeProblems.delete(uid);
        if (rewritten) log.info({ volumes: rewritten }, 'updated the files of ConfigMap/Secret volumes in place');
      }
      return true;
    } catch (e) {
      // A missing object keeps the last files; its return (an UPSERT) brings a new turn.
      if (e instanceof ContainerConfigError) {
        if (this.volumeProblems.get(uid) !== e.message) {
          log.warn({ err: e }, 'cannot update the files of a ConfigMap/Secret volume; keeping the last ones');
        }
        this.volumeProblems.set(uid, e.message);
        return true;
      }
      log.warn({ err: e }, 'writing the files of a ConfigMap/Secret volume failed; retrying');
      this.queue.addRateLimited(uid);
      return false;
    }
  }

  private recordFailure(a: Action, e: unknown): void {
    const before = this.memory.get(a.uid);
    const reason = failureReason(a, e);
    const retryAfterMs = before?.failure
      ? Math.min(before.failure.retryAfterMs * 2, RESTART_BACKOFF_MAX_MS)
      : RESTART_BACKOFF_INITIAL_MS;
    this.memory.set(a.uid, {
      restartCount: before?.restartCount ?? 0,
      backoffMs: before?.backoffMs ?? RESTART_BACKOFF_INITIAL_MS,
      failure: {
        reason,
        message: (e as Error)?.message ?? String(e),
        at: this.now(),
        retryAfterMs,
        ...(a.type === 'ensureImage' ? { image: a.image } : {}),
        ...(e instanceof ImagePullError ? { image: e.image, detail: e.registryMessage } : {}),
      },
    });
  }

  /**
   * The ensureImage step: an image the policy lets the node use as it is becomes ready at once (the
   * create follows in this turn); a pull starts in the background and requeues the uid on progress and
   * at its end, so no worker waits on a registry and 20 Containers of one image share one pull.
   */
  private async ensureImage(a: Extract<Action, { type: 'ensureImage' }>, log: Logger): Promise<void> {
    this.dropImageState(a.uid);
    if (await this.puller.presentImage(a.image, a.policy)) {
      this.images.set(a.uid, { image: a.image, ready: true });
      return;
    }
    const abort = new AbortController();
    const state: ImageState & { abort?: AbortController } = { image: a.image, pulling: { downloadedBytes: 0, totalBytes: 0 }, abort };
    this.images.set(a.uid, state);
    const current = () => this.images.get(a.uid) === state;
    const credentials = this.pullCredentials(a.container, log);
    const pull = this.puller
      .pull(a.image, {
        credentials,
        signal: AbortSignal.any([abort.signal, this.loop.signal]),
        onProgress: (p) => {
          if (!current()) return;
          state.pulling = { downloadedBytes: p.downloadedBytes, totalBytes: p.totalBytes };
          this.queue.add(a.uid);
        },
      })
      .then(
        () => {
          if (!current()) return;
          this.images.set(a.uid, { image: a.image, ready: true });
          this.clearFailure(a.uid);
          this.metrics?.actions.inc({ action: 'pull', result: 'success' });
        },
        (e: unknown) => {
          if (!current()) return;
          this.images.delete(a.uid);
          if ((e as Error)?.name === 'AbortError') return;
          this.metrics?.actions.inc({ action: 'pull', result: 'error' });
          if (e instanceof DockerUnavailableError || e instanceof DockerTimeoutError) {
            this.engineTrouble(a.uid, e, log, 'pull');
            return;
          }
          this.recordFailure(a, e);
          log.warn({ image: a.image, error: (e as Error)?.message }, 'image pull failed');
        },
      )
      .finally(() => {
        this.pulls.delete(pull);
        if (!this.loop.signal.aborted) this.queue.add(a.uid);
      });
    this.pulls.add(pull);
  }

  /** Ends this uid's wait on a pull (the shared pull goes on while others wait) and forgets a ready image. */
  private dropImageState(uid: string): void {
    this.images.get(uid)?.abort?.abort();
    this.images.delete(uid);
  }

  /**
   * Registry credentials from the Container's imagePullSecrets, in order. A missing Secret is not fatal:
   * kubelet warns and tries the others, or anonymously. Only names are logged, never values.
   */
  private pullCredentials(container: ContainerObject, log: Logger): RegistryAuth[] {
    const ns = container.metadata.namespace ?? 'default';
    const found = pullCredentials(container.spec?.image ?? '', ns, container.spec?.imagePullSecrets, (kind, n, name) =>
      this.desired.configData(kind, n, name),
    );
    for (const secret of found.missing) {
      log.warn({ secret }, `image pull secret not found or without ${DOCKER_CONFIG_JSON_KEY}; pulling without it`);
    }
    return found.credentials;
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
    // A call the open breaker refused says less than the failure that opened it.
    if (e instanceof DockerUnavailableError && this.dockerError) return;
    this.dockerError = (e as Error)?.message ?? String(e);
    this.metrics?.dockerHealthy.set(0);
  }

  /** An engine event marks its container stale and queues its uid (the worker re-reads, never trusts the payload). */
  private onEvent(ev: DockerEvent): void {
    // Healthcheck probes are execs: they say nothing new (health_status events do).
    if (ev.Type !== 'container' || ev.Action.startsWith('exec_')) return;
    const uid = ev.Actor?.Attributes?.[LABEL_UID];
    const node = ev.Actor?.Attributes?.[LABEL_NODE];
    if (!uid || (node && node !== this.node)) return;
    // The worker holding the uid inspects what its own create and start made.
    if ((ev.Action === 'create' || ev.Action === 'start') && this.starting.has(uid)) return;
    if (ev.Action === 'start' && this.observed.get(ev.Actor.ID)?.state === 'running') return;
    this.observed.markStale(uid, ev.Actor.ID);
    this.queue.add(uid);
  }
}

/** kubelet's waiting reasons where there is one (ErrImagePull, ErrImageNeverPull, CreateContainerConfigError). */
function failureReason(a: Action, e: unknown): string {
  if (e instanceof ImagePullError) return 'ErrImagePull';
  if (e instanceof ImageNeverPullError) return 'ErrImageNeverPull';
  if (e instanceof ImageNotFoundError) return 'ImageNotPresent';
  if (e instanceof ContainerConfigError) return 'CreateContainerConfigError';
  if (engineStatus(e) === 409) return 'NameConflict';
  if (a.type === 'create' || a.type === 'recreate') return 'CreateContainerError';
  if (a.type === 'ensureImage') return 'ErrImagePull';
  return a.type === 'remove' ? 'RemoveError' : 'StartError';
}
