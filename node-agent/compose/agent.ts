// The node agent's Compose engine: keeps every ComposeStack bound to this node running on the local
// Docker engine the way `docker compose up -d` would, continuously, and reports each stack's status.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import { ItemExponentialRateLimiter } from '../../lib/queue/ratelimit.js';
import type { WorkQueue } from '../../lib/queue/workqueue.js';
import { configRefKey, referencedConfig } from '../../lib/api/references.js';
import type { Resource } from '../../lib/api/resource.js';
import { isComposeStack, type ComposeStackObject } from '../../lib/api/typed.js';
import { COMPOSE_LABELS, type ComposeProject, type ParseComposeResult } from '../../lib/compose/model.js';
import { EngineGuard } from '../../lib/docker/engine-guard.js';
import { DesiredState } from '../desired.js';
import { ContainerConfigError } from '../docker/errors.js';
import { LABEL_NAME, LABEL_NAMESPACE, LABEL_NODE } from '../docker/labels.js';
import type { DockerEvent } from '../docker/events.js';
import { containerPlan } from './container-spec.js';
import { ComposeEngine } from './engine.js';
import { AgentLoop } from '../loop.js';
import { networkLabels, ownedFilter, stackKey, volumeLabels, type StackIdentity } from './labels.js';
import { loadDefaultParse, type ParseStack } from './parse-stack.js';
import { planDelete, planStack, type ComposeAction, type ServiceState, type StackPlan } from './plan.js';
import { DockerRuntime } from '../docker/runtime.js';
import { ImagePuller } from '../images/puller.js';
import { StackFiles } from './stack-files.js';
import { StackImages } from './stack-images.js';
import { stackStatus, type ComposeStackStatus } from './status.js';
import { API_VERSION } from '../../lib/api/kinds.js';

/** Receives status objects (apiVersion, kind, metadata {namespace, name, uid}, status) that changed. */
export type ComposeStatusSink = (objects: Resource[]) => void;

export interface ComposeAgentOptions {
  node: string;
  docker: Dockerode;
  logger: Logger;
  /** Re-list the engine and reconcile every stack even without events. @default 10_000 */
  resyncIntervalMs?: number;
  /** @default lib/compose/parse.js's parseComposeProject with the stack's projectName, env and scale */
  parse?: ParseStack;
  /** @default Date.now */
  now?: () => number;
  /** The node's engine guard, shared with its Containers and swarm calls. @default one of its own */
  guard?: EngineGuard;
  /** Stacks acted on at once; one stack is never acted on concurrently. @default 4 */
  concurrency?: number;
  /** Where the files of stacks' configs and secrets are written. @default <tmpdir>/persys-agent/<node>/stacks */
  filesDir?: string;
  /** The node's image puller, shared with the Container reconciler. @default one of its own on `docker` */
  puller?: ImagePuller;
  /** The agent's DNS server (IPv4 on port 53) that stack containers send names outside the stack to. */
  dnsServer?: string;
}

export interface StackContainer {
  id: string;
  service: string;
  number: number;
}

/** Observe-plan-act rounds one turn may take for its stack before yielding its worker. */
const MAX_STEPS_PER_TURN = 8;
/** Services of one stack acted on at once (the engine's create+start gains little beyond this). */
const CONTAINER_CONCURRENCY = 8;

export class ComposeAgent {
  readonly node: string;
  private readonly engine: ComposeEngine;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly dnsServer?: string;
  private parse?: ParseStack;
  private parseLoading?: Promise<ParseStack>;
  private readonly parsed = new WeakMap<ComposeStackObject, ParseComposeResult>();
  private readonly desired = new Map<string, ComposeStackObject>();
  /** The ConfigMaps and Secrets the API server sends with the stacks (their configs, secrets and pull secrets). */
  private readonly configs = new DesiredState();
  private readonly files: StackFiles;
  private readonly images: StackImages;
  /** The engine client of a puller of its own, when none was shared (closed on stop). */
  private readonly ownRuntime?: DockerRuntime;
  private readonly ownGuard?: EngineGuard;
  /** Per stack, service → target → host path of its written config and secret files. */
  private readonly hostFiles = new Map<string, Map<string, ReadonlyMap<string, string>>>();
  private synced = false;
  /** Stacks to take down: whether their volumes go too (unknown after a restart: they stay). */
  private readonly deleting = new Map<string, boolean>();
  /** Per stack, service → message of its last failed action. */
  private readonly failures = new Map<string, Record<string, string>>();
  private readonly statuses = new Map<string, ComposeStackStatus>();
  private readonly reported = new Map<string, string>();
  private readonly loop: AgentLoop<DockerEvent>;
  private readonly queue: WorkQueue;
  private sink?: ComposeStatusSink;
  private pendingReports: Resource[] = [];
  private flushScheduled = false;
  private reconciles = 0;

  constructor(opts: ComposeAgentOptions) {
    this.node = opts.node;
    if (!opts.guard) this.ownGuard = new EngineGuard({ node: opts.node });
    const guard = opts.guard ?? this.ownGuard!;
    this.engine = new ComposeEngine(opts.docker, guard);
    this.log = opts.logger.child({ component: 'compose-agent' });
    this.now = opts.now ?? Date.now;
    this.dnsServer = opts.dnsServer;
    this.parse = opts.parse;
    this.files = new StackFiles(opts.filesDir ?? join(tmpdir(), 'persys-agent', opts.node, 'stacks'));
    if (!opts.puller) this.ownRuntime = new DockerRuntime({ docker: opts.docker, node: opts.node, guard });
    const puller = opts.puller ?? new ImagePuller({ runtime: this.ownRuntime!, logger: this.log });
    this.images = new StackImages(puller, this.now);
    this.loop = new AgentLoop<DockerEvent>({
      name: 'compose-agent',
      concurrency: opts.concurrency ?? 4,
      resyncIntervalMs: opts.resyncIntervalMs ?? 10_000,
      // Engine trouble retries a stack 1 s doubling to 30 s.
      rateLimiter: new ItemExponentialRateLimiter(1_000, 30_000),
      log: this.log,
      handlers: {
        reconcile: (key) => this.reconcileOrRetry(key),
        resync: () => this.queueEveryStack(),
        events: (since, signal) => this.engine.events(signal, since),
        onEvent: (ev) => this.onEvent(ev),
      },
    });
    this.queue = this.loop.queue;
  }

  /** Starts the workers, the Docker event watch and the periodic resync. */
  start(): void {
    this.loop.start();
  }

  /** Stops acting and waits for the work in progress; every container keeps running. */
  async stop(): Promise<void> {
    await this.loop.stop();
    this.ownRuntime?.close();
    this.ownGuard?.close();
  }

  /** Reports go to `sink` from now on, starting with every stack's current status. */
  attach(sink: ComposeStatusSink): void {
    this.sink = sink;
    this.reported.clear();
    this.pendingReports = [];
    for (const key of this.desired.keys()) this.queue.add(key);
  }

  detach(): void {
    this.sink = undefined;
    this.reported.clear();
    this.pendingReports = [];
  }

  /**
   * The complete set of ComposeStacks bound to this node, with the ConfigMaps and Secrets they read; stacks
   * it no longer holds are taken down.
   */
  setDesired(objects: Resource[]): void {
    const stacks = objects.filter(isComposeStack);
    this.configs.replace(objects.filter((o) => o.kind !== 'ComposeStack'));
    const before = new Map(this.desired);
    this.desired.clear();
    for (const s of stacks) this.desired.set(keyOfStack(s), s);
    for (const [key, old] of before) {
      if (!this.desired.has(key)) this.deleting.set(key, !!old.spec?.removeVolumesOnDelete);
      this.queue.add(key);
    }
    for (const key of this.desired.keys()) this.deleting.delete(key);
    this.synced = true;
    // Stacks found on the engine but not desired (deleted while this agent was down) come from the resync.
    void this.resync();
  }

  applyChange(type: 'UPSERT' | 'DELETE', stack: Resource): void {
    if (!isComposeStack(stack)) return this.applyConfigChange(type, stack);
    const key = keyOfStack(stack);
    if (type === 'UPSERT') {
      this.desired.set(key, stack);
      this.deleting.delete(key);
    } else {
      const cur = this.desired.get(key);
      // A late DELETE of an older incarnation must not take down the newer one.
      if (cur?.metadata.uid && stack.metadata.uid && cur.metadata.uid !== stack.metadata.uid) return;
      this.desired.delete(key);
      this.deleting.set(key, !!(stack.spec ?? cur?.spec)?.removeVolumesOnDelete);
    }
    this.queue.add(key);
  }

  /** A ConfigMap or Secret changed: the stacks that read it write their files again (and may pull now). */
  private applyConfigChange(type: 'UPSERT' | 'DELETE', obj: Resource): void {
    if (type === 'UPSERT') this.configs.upsert(obj);
    else this.configs.delete(obj);
    const changed = configRefKey({ kind: obj.kind as 'Secret' | 'ConfigMap', namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' });
    for (const [key, stack] of this.desired) {
      if (referencedConfig(stack).some((r) => configRefKey(r) === changed)) this.queue.add(key);
    }
  }

  /** The stack's containers on this node (optionally one service's), by service and number. */
  async containersOf(namespace: string, name: string, service?: string): Promise<StackContainer[]> {
    const filter = ownedFilter(this.node, { namespace, name });
    if (service) filter.push(`${COMPOSE_LABELS.service}=${service}`);
    const cs = await this.engine.containers(filter);
    return cs
      .map((c) => ({ id: c.id, service: c.service, number: c.number }))
      .sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number);
  }

  /**
   * Converges every stack once: after start(), through the workers (resolving when nothing is queued
   * or in progress; delayed re-checks such as a pending healthcheck are not waited for); before it, inline.
   */
  async reconcileNow(): Promise<void> {
    if (!this.loop.isStarted) {
      const keys = new Set([...this.desired.keys(), ...this.deleting.keys(), ...(await this.engine.ownedStacks())]);
      for (const key of keys) await this.reconcileKey(key);
      return;
    }
    await this.resync();
    await this.loop.idle();
  }

  private resync(): Promise<void> {
    return this.loop.isStarted ? this.loop.resync() : Promise.resolve();
  }

  /** Lists which stacks have objects here and queues them with every desired one. */
  private async queueEveryStack(): Promise<void> {
    try {
      for (const key of await this.engine.ownedStacks()) this.queue.add(key);
    } catch (e) {
      this.log.warn({ err: e }, 'cannot list compose objects; retrying at the next resync');
    }
    for (const key of new Set([...this.desired.keys(), ...this.deleting.keys()])) this.queue.add(key);
  }

  private async reconcileOrRetry(key: string): Promise<void> {
    try {
      await this.reconcileKey(key);
    } catch (e) {
      this.log.warn({ err: e, stack: key }, 'compose reconcile failed; retrying with back-off');
      this.queue.addRateLimited(key);
    }
  }

  private async parser(): Promise<ParseStack> {
    this.parseLoading ??= loadDefaultParse();
    this.parse ??= await this.parseLoading;
    return this.parse;
  }

  /** One turn for one stack: observe, plan, act, until nothing is left to do now. */
  private async reconcileKey(key: string): Promise<void> {
    // Before the first complete desired state every stack here would look deleted.
    if (!this.synced) return;
    const log = this.log.child({ stack: key, reconcile: ++this.reconciles });
    const stack = this.desired.get(key);
    if (!stack) return this.tearDown(key, log);
    const parse = await this.parser();
    let result = this.parsed.get(stack);
    if (!result) {
      try {
        result = parse(stack);
      } catch (e) {
        result = { errors: [`cannot parse the compose file: ${(e as Error).message}`] };
      }
      this.parsed.set(stack, result);
    }
    if (!result.project) {
      this.report(stack, stackStatus({ node: this.node, generation: generationOf(stack), parseErrors: result.errors, previous: this.statuses.get(key), now: this.now() }));
      return;
    }
    const project = result.project;
    const [namespace, name] = splitKey(key);
    const id: StackIdentity = { namespace, name, uid: stack.metadata.uid ?? '', node: this.node };
    const blocked = await this.prepareServices(key, stack, project, log);
    for (let step = 0; ; step++) {
      const observed = await this.engine.observe({ namespace, name }, project);
      const plan = planStack({ key, uid: id.uid, node: this.node, project, observed, failures: this.failures.get(key), blocked, now: this.now() });
      const stop = this.loop.signal.aborted || !plan.actions.length || step === MAX_STEPS_PER_TURN;
      if (stop) {
        this.finishTurn(stack, plan);
        this.queue.forget(key);
        // A stack that keeps needing steps yields its worker to the others.
        if (plan.actions.length && !this.loop.signal.aborted) this.queue.add(key);
        return;
      }
      if (!(await this.actAll(plan.actions, project, id, key, log))) {
        const replanned = planStack({ key, uid: id.uid, node: this.node, project, observed: await this.engine.observe({ namespace, name }, project), failures: this.failures.get(key), blocked, now: this.now() });
        this.finishTurn(stack, { ...replanned, requeueAfterMs: undefined });
        this.queue.addRateLimited(key);
        return;
      }
    }
  }

  /**
   * What each service needs before its containers can be created: its image present (pulled by its
   * pull_policy) and its config and secret files written. Returns service → why it cannot act yet.
   */
  private async prepareServices(key: string, stack: ComposeStackObject, project: ComposeProject, log: Logger): Promise<Record<string, string>> {
    const [namespace, name] = splitKey(key);
    const lookup = (kind: 'Secret' | 'ConfigMap', ns: string, n: string) => this.configs.configData(kind, ns, n);
    const images = await this.images.ensure(key, stack, project.services, lookup, this.loop.signal, (image, bytes) =>
      this.reportPulling(stack, project, image, bytes),
    );
    for (const secret of images.missingSecrets) log.warn({ secret }, 'image pull secret not found or without .dockerconfigjson; pulling without it');
    if (images.retryAfterMs !== undefined) this.queue.addAfter(key, images.retryAfterMs + 50);
    const blocked: Record<string, string> = { ...images.blocked };
    const written = this.hostFiles.get(key) ?? new Map<string, ReadonlyMap<string, string>>();
    for (const svc of project.services) {
      if (!svc.fileMounts.length) continue;
      try {
        written.set(svc.name, await this.files.sync(namespace, name, svc, lookup));
      } catch (e) {
        if (!(e instanceof ContainerConfigError)) throw e;
        blocked[svc.name] = `CreateContainerConfigError: ${e.message}`;
        log.warn({ service: svc.name, problem: e.message }, 'service files not ready');
      }
    }
    this.hostFiles.set(key, written);
    return blocked;
  }

  /** While the stack waits for an image, its services of that image say so, with the bytes moved. */
  private reportPulling(stack: ComposeStackObject, project: ComposeProject, image: string, bytes: { downloadedBytes: number; totalBytes: number }): void {
    const key = keyOfStack(stack);
    const previous = this.statuses.get(key);
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    const progress = bytes.totalBytes ? ` (${mib(bytes.downloadedBytes)} of ${mib(bytes.totalBytes)} MiB)` : '';
    const services = project.services.map((svc): ServiceState => {
      const before = previous?.services.find((x) => x.name === svc.name);
      const counts = { name: svc.name, desired: svc.replicas, running: before?.running ?? 0, healthy: before?.healthy ?? 0, trouble: false };
      if (svc.image === image) return { ...counts, reason: `Pulling image "${image}"${progress}`, ready: false };
      return { ...counts, reason: before?.reason ?? `waiting for ${svc.name}`, ready: before?.reason === '' };
    });
    this.report(stack, stackStatus({ node: this.node, generation: generationOf(stack), services, previous, now: this.now() }));
  }

  /**
   * Runs one plan's actions; false when one failed (recorded per service). Network and volume actions
   * are barriers, in plan order; between them each service's container actions run in order while
   * different services run at once, as Compose starts independent services in parallel. The planner
   * only lets a service act once its dependencies are observed up, so one plan's services never wait on each other.
   */
  private async actAll(actions: ComposeAction[], project: ComposeProject, id: StackIdentity, key: string, log: Logger): Promise<boolean> {
    let ok = true;
    const attempt = async (a: ComposeAction): Promise<boolean> => {
      try {
        await this.act(a, project, id, log);
        this.clearFailure(key, a);
        return true;
      } catch (e) {
        log.warn({ err: e, action: a.type }, `${a.type} failed`);
        this.recordFailure(key, a, project, e);
        return false;
      }
    };
    let batch = new Map<string, ComposeAction[]>();
    const flush = async () => {
      const groups = [...batch.values()];
      batch = new Map();
      await pool(groups, CONTAINER_CONCURRENCY, async (group) => {
        for (const a of group) if (!(await attempt(a))) return void (ok = false);
      });
    };
    for (const a of actions) {
      if ('service' in a) {
        batch.set(a.service, [...(batch.get(a.service) ?? []), a]);
        continue;
      }
      await flush();
      if (!ok || !(await attempt(a))) return false;
    }
    await flush();
    return ok;
  }

  private finishTurn(stack: ComposeStackObject, plan: StackPlan): void {
    const key = keyOfStack(stack);
    this.report(
      stack,
      stackStatus({ node: this.node, generation: generationOf(stack), services: plan.services, previous: this.statuses.get(key), now: this.now() }),
    );
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs + 50);
  }

  /** Takes down what a stack no longer desired has on this node. */
  private async tearDown(key: string, log: Logger): Promise<void> {
    const [namespace, name] = splitKey(key);
    const observed = await this.engine.observe({ namespace, name });
    const actions = planDelete(observed, key, this.deleting.get(key) ?? false);
    for (const a of actions) {
      await this.act(a, undefined, undefined, log);
    }
    await this.files.remove(namespace, name);
    this.hostFiles.delete(key);
    this.images.forget(key);
    this.deleting.delete(key);
    this.failures.delete(key);
    this.statuses.delete(key);
    this.reported.delete(key);
    this.queue.forget(key);
  }

  private async act(a: ComposeAction, project: ComposeProject | undefined, id: StackIdentity | undefined, log: Logger): Promise<void> {
    switch (a.type) {
      case 'removeContainer':
        await this.engine.removeContainer(a.id);
        log.info({ container: a.name, reason: a.reason }, 'removed container');
        return;
      case 'removeNetwork':
        await this.engine.removeNetwork(a.id);
        log.info({ network: a.name, reason: a.reason }, 'removed network');
        return;
      case 'removeVolume':
        await this.engine.removeVolume(a.name);
        log.info({ volume: a.name, reason: a.reason }, 'removed volume');
        return;
      case 'createNetwork':
        await this.engine.createNetwork(a.network.name, a.network.driver, networkLabels(project!, a.network, id!));
        log.info({ network: a.network.name }, 'created network');
        return;
      case 'createVolume':
        await this.engine.createVolume(a.volume.name, a.volume.driver, volumeLabels(project!, a.volume, id!));
        log.info({ volume: a.volume.name }, 'created volume');
        return;
      case 'createContainer': {
        const service = project!.services.find((s) => s.name === a.service)!;
        const files = this.hostFiles.get(stackKey(id!.namespace, id!.name))?.get(a.service);
        const plan = containerPlan(project!, service, a.number, id!, a.imageId, files, this.dnsServer);
        await this.engine.createAndStart(plan);
        log.info({ container: plan.name }, 'created and started container');
        return;
      }
      case 'startContainer':
        await this.engine.start(a.id);
        log.info({ container: a.name }, 'started container');
        return;
    }
  }

  private recordFailure(key: string, a: ComposeAction, project: ComposeProject, e: unknown): void {
    const message = `${describe(a)} failed: ${(e as Error)?.message ?? String(e)}`;
    const services =
      a.type === 'createNetwork'
        ? project.services.filter((s) => s.networks.some((n) => n.key === a.network.key)).map((s) => s.name)
        : a.type === 'createVolume'
          ? project.services.filter((s) => s.volumes.some((m) => m.type === 'volume' && m.source === a.volume.key)).map((s) => s.name)
          : 'service' in a
            ? [a.service]
            : project.services.map((s) => s.name);
    const f = { ...this.failures.get(key) };
    for (const s of services) f[s] = message;
    this.failures.set(key, f);
  }

  private clearFailure(key: string, a: ComposeAction): void {
    const f = this.failures.get(key);
    if (!f) return;
    if ('service' in a) delete f[a.service];
    else if (a.type === 'createNetwork' || a.type === 'createVolume') this.failures.delete(key);
  }

  private report(stack: ComposeStackObject, status: ComposeStackStatus): void {
    const key = keyOfStack(stack);
    this.statuses.set(key, status);
    const json = JSON.stringify(status);
    if (!this.sink || this.reported.get(key) === json) return;
    this.reported.set(key, json);
    this.pendingReports.push({
      apiVersion: API_VERSION,
      kind: 'ComposeStack',
      metadata: { namespace: stack.metadata.namespace, name: stack.metadata.name, uid: stack.metadata.uid },
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

  /** A container event of a stack on this node queues that stack; the worker re-reads the engine. */
  private onEvent(ev: DockerEvent): void {
    // Healthcheck probes are execs: they say nothing new (health_status events do).
    if (ev.Type !== 'container' || ev.Action.startsWith('exec_')) return;
    const a = ev.Actor?.Attributes ?? {};
    if (a[LABEL_NODE] !== this.node || a[LABEL_NAMESPACE] === undefined || a[LABEL_NAME] === undefined) return;
    this.queue.add(stackKey(a[LABEL_NAMESPACE], a[LABEL_NAME]));
  }
}

function keyOfStack(stack: ComposeStackObject): string {
  return stackKey(stack.metadata.namespace ?? '', stack.metadata.name ?? '');
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function generationOf(stack: ComposeStackObject): number {
  return Number(stack.metadata.generation ?? 0);
}

function describe(a: ComposeAction): string {
  switch (a.type) {
    case 'createContainer':
      return `create ${a.service} number ${a.number}`;
    case 'createNetwork':
      return `create network ${a.network.name}`;
    case 'createVolume':
      return `create volume ${a.volume.name}`;
    case 'removeVolume':
      return `remove volume ${a.name}`;
    default:
      return `${a.type === 'startContainer' ? 'start' : 'remove'} ${a.name}`;
  }
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
}
