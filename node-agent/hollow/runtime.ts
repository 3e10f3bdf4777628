// A simulated container engine for hollow nodes: containers live only in memory, "start" after a
// jittered delay, and a chosen fraction fail to start or exit later; the real NodeAgent drives it.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import type { DockerEvent } from '../docker/events.js';
import type { LogChunk } from '../docker/logs.js';
import { LABEL_KIND, LABEL_NAME, LABEL_NAMESPACE, LABEL_NODE, LABEL_SPEC_HASH, LABEL_UID } from '../docker/labels.js';
import type {
  BoundPort,
  BreakerState,
  ContainerRuntime,
  ContainerSummary,
  EventsOptions,
  ExecResult,
  ExecSession,
  ExecStreamOptions,
  ImageInfo,
  ManagedContainer,
  PullImageOptions,
} from '../runtime.js';

export interface HollowRuntimeOptions {
  node: string;
  /** Mean time a start takes. @default 500 */
  startDelayMs?: number;
  /** Spread of the start delay, as a fraction of it either way. @default 0.5 */
  jitter?: number;
  /**
   * Fraction of starts that fail: half are refused by the "engine" (StartError), half run and then exit
   * with code 1 after 2–10 start delays (the restart policy takes over). @default 0
   */
  failureRate?: number;
  /** How long a pull takes; every image is present anyway, so only policy Always pulls. @default 0 */
  pullDelayMs?: number;
  /** @default Math.random */
  random?: () => number;
}

/** What the engine would answer with an HTTP status (404 no such container, 409 name in use, 500 start failed). */
export class HollowEngineError extends Error {
  override readonly name = 'HollowEngineError';
  constructor(
    message: string,
    /** Read by engineStatus(), as for dockerode's errors. */
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/** Logs, exec and the like: a hollow container has no process to ask. */
export class HollowUnsupportedError extends Error {
  override readonly name = 'HollowUnsupportedError';
}

type Subscriber = (ev: DockerEvent) => void;

export class HollowRuntime extends EventEmitter implements ContainerRuntime {
  readonly node: string;
  private readonly startDelayMs: number;
  private readonly jitter: number;
  private readonly failureRate: number;
  private readonly pullDelayMs: number;
  private readonly random: () => number;
  /** The whole engine state: one small record per container (ManagedContainer is what inspect answers). */
  private readonly containers = new Map<string, ManagedContainer>();
  private readonly names = new Map<string, string>();
  private addressesGiven = 0;
  /** Pending simulated exits, only for containers chosen to fail. */
  private readonly exitTimers = new Map<string, NodeJS.Timeout>();
  private readonly subscribers = new Set<Subscriber>();
  /** One id string per image reference, shared by its containers. */
  private readonly imageIds = new Map<string, string>();
  /** Where "Docker picks" starts: Linux's first ephemeral port. */
  private nextHostPort = 32768;
  private closed = false;

  constructor(opts: HollowRuntimeOptions) {
    super();
    this.node = opts.node;
    this.startDelayMs = opts.startDelayMs ?? 500;
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
    this.failureRate = opts.failureRate ?? 0;
    this.pullDelayMs = opts.pullDelayMs ?? 0;
    this.random = opts.random ?? Math.random;
  }

  /** Containers held, and how many of them run (for the fleet's metrics). */
  counts(): { total: number; running: number } {
    let running = 0;
    for (const c of this.containers.values()) if (c.state === 'running') running++;
    return { total: this.containers.size, running };
  }

  breakerState(): BreakerState {
    return 'closed';
  }

  close(): void {
    this.closed = true;
    for (const t of this.exitTimers.values()) clearTimeout(t);
    this.exitTimers.clear();
    // Ends every open event stream.
    for (const s of this.subscribers) s(undefined as never);
  }

  /** A bridge-like address per start (172.17.0.2 onwards), as Docker gives a started container. */
  private nextAddress(): string {
    const n = 2 + this.addressesGiven++;
    return `172.17.${(n >> 8) & 255}.${n & 255}`;
  }

  async listManaged(): Promise<ManagedContainer[]> {
    return [...this.containers.values()].map((c) => ({ ...c }));
  }

  async listSummaries(): Promise<ContainerSummary[]> {
    return [...this.containers.values()].map((c) => ({
      id: c.id,
      uid: c.uid,
      node: c.node,
      state: c.state,
      exitCode: c.state === 'exited' ? c.exitCode : undefined,
    }));
  }

  async inspectManaged(id: string): Promise<ManagedContainer | undefined> {
    const c = this.containers.get(id);
    return c && { ...c };
  }

  async inspect(id: string): Promise<Dockerode.ContainerInspectInfo> {
    const c = this.must(id);
    // Only the fields persys reads from an inspect.
    return {
      Id: c.id,
      Name: `/${c.containerName}`,
      Image: c.imageId,
      State: { Status: c.state, ExitCode: c.exitCode, StartedAt: c.startedAt, FinishedAt: c.finishedAt },
      NetworkSettings: { Networks: c.ipAddress ? { bridge: { IPAddress: c.ipAddress } } : {} },
      Config: { Image: c.image, Labels: this.labelsOf(c) },
    } as unknown as Dockerode.ContainerInspectInfo;
  }

  async create(opts: Dockerode.ContainerCreateOptions): Promise<string> {
    const labels = opts.Labels ?? {};
    const uid = labels[LABEL_UID];
    if (!uid) throw new Error(`refusing to create container ${opts.name ?? ''} without a ${LABEL_UID} label`);
    const id = randomBytes(32).toString('hex');
    const containerName = opts.name ?? id.slice(0, 12);
    if (this.names.has(containerName)) {
      throw new HollowEngineError(`Conflict. The container name "/${containerName}" is already in use`, 409);
    }
    const image = opts.Image ?? '';
    this.containers.set(id, {
      id,
      containerName,
      uid,
      kind: labels[LABEL_KIND] ?? '',
      namespace: labels[LABEL_NAMESPACE] ?? '',
      name: labels[LABEL_NAME] ?? '',
      node: labels[LABEL_NODE] || undefined,
      image,
      imageId: this.imageIdOf(image),
      state: 'created',
      exitCode: 0,
      specHash: labels[LABEL_SPEC_HASH],
      ...this.bindPorts(opts),
    });
    this.names.set(containerName, id);
    this.emitEvent(id, 'create');
    return id;
  }

  start(id: string): Promise<void> {
    return this.startCreated(id);
  }

  /** Publishes as Docker would, from create on: fixed host ports as asked, an empty HostPort on the next free one. */
  private bindPorts(opts: Dockerode.ContainerCreateOptions): { ports?: BoundPort[] } {
    const ports: BoundPort[] = [];
    for (const [key, bindings] of Object.entries(opts.HostConfig?.PortBindings ?? {}) as [string, { HostPort?: string; HostIp?: string }[]][]) {
      const [port, protocol] = key.split('/');
      for (const b of bindings ?? []) {
        const hostPort = Number(b.HostPort) || this.nextHostPort++;
        ports.push({ containerPort: Number(port), protocol: (protocol || 'tcp').toUpperCase(), hostPort, hostIp: b.HostIp || '0.0.0.0' });
      }
    }
    return ports.length ? { ports } : {};
  }

  /** Resolves once the container runs, after the start delay; a failure chosen by failureRate rejects or exits later. */
  async startCreated(id: string): Promise<void> {
    if (this.must(id).state === 'running') return;
    const spread = this.startDelayMs * this.jitter;
    await sleep(Math.max(0, this.startDelayMs - spread + 2 * spread * this.random()));
    const c = this.must(id);
    if (c.state === 'running') return;
    const roll = this.random();
    if (roll < this.failureRate / 2) {
      c.exitCode = 128;
      throw new HollowEngineError(`hollow node ${this.node}: simulated start failure of ${c.containerName}`, 500);
    }
    c.state = 'running';
    c.exitCode = 0;
    c.startedAt = new Date().toISOString();
    c.ipAddress = this.nextAddress();
    c.finishedAt = undefined;
    this.emitEvent(id, 'start');
    if (roll < this.failureRate) this.exitLater(c);
  }

  async remove(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    clearTimeout(this.exitTimers.get(id));
    this.exitTimers.delete(id);
    this.containers.delete(id);
    this.names.delete(c.containerName);
    this.emitEvent(id, 'destroy', c);
  }

  /** Live events until `signal` aborts or the runtime closes; nothing is replayed (the stream never breaks). */
  async *events(opts: EventsOptions = {}): AsyncGenerator<DockerEvent> {
    const signal = opts.signal;
    const queue: (DockerEvent | undefined)[] = [];
    let wake: (() => void) | undefined;
    const subscriber: Subscriber = (ev) => {
      queue.push(ev);
      wake?.();
    };
    const onAbort = () => wake?.();
    this.subscribers.add(subscriber);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal?.aborted && !this.closed) {
        if (!queue.length) {
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        const ev = queue.shift();
        if (!ev) return;
        yield ev;
      }
    } finally {
      this.subscribers.delete(subscriber);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async logs(): Promise<Readable> {
    throw new HollowUnsupportedError(`logs are not supported on a hollow node (${this.node})`);
  }

  async exec(): Promise<ExecResult> {
    throw new HollowUnsupportedError(`exec is not supported on a hollow node (${this.node})`);
  }

  /**
   * A stand-in process for interactive exec: whatever arrives on standard input comes back on stdout,
   * and closing the input exits 0. With a TTY, `stty size` answers the latest size, as a shell would.
   */
  async startExec(id: string, _cmd: string[], opts: ExecStreamOptions): Promise<ExecSession> {
    this.must(id);
    let size = opts.size;
    const output = new PassThrough({ objectMode: true });
    const stdin = new PassThrough();
    stdin.on('data', (data: Buffer) => {
      const answer = opts.tty && data.toString().trim() === 'stty size' && size ? Buffer.from(`${size.height} ${size.width}\r\n`) : data;
      output.write({ stream: 'stdout', data: answer } satisfies LogChunk);
    });
    stdin.on('end', () => output.end());
    if (!opts.stdin) output.end();
    opts.signal?.addEventListener('abort', () => output.destroy(), { once: true });
    return {
      output,
      stdin: opts.stdin ? stdin : undefined,
      resize: async (s) => void (size = s),
      exitCode: async () => 0,
    };
  }

  /** A constant small usage: 4 MiB, no CPU, no traffic. */
  async stats(id: string): Promise<Dockerode.ContainerStats> {
    this.must(id);
    return {
      cpu_stats: { cpu_usage: { total_usage: 0 }, system_cpu_usage: 0, online_cpus: 1 },
      memory_stats: { usage: 4 * 1024 * 1024, limit: 0 },
      networks: {},
    } as unknown as Dockerode.ContainerStats;
  }

  async pullImage(_ref: string, opts: PullImageOptions = {}): Promise<void> {
    if (this.pullDelayMs > 0) await sleep(this.pullDelayMs, undefined, { signal: opts.signal });
    else opts.signal?.throwIfAborted();
  }

  /** Every image is present. */
  async imageInfo(ref: string): Promise<ImageInfo | undefined> {
    return { id: ref.startsWith('sha256:') ? ref : this.imageIdOf(ref), repoDigests: [] };
  }

  async version(): Promise<{ Version: string }> {
    return { Version: 'hollow' };
  }

  private imageIdOf(ref: string): string {
    let id = this.imageIds.get(ref);
    if (!id) this.imageIds.set(ref, (id = imageIdOf(ref)));
    return id;
  }

  private must(id: string): ManagedContainer {
    const c = this.containers.get(id);
    if (!c) throw new HollowEngineError(`No such container: ${id}`, 404);
    return c;
  }

  private exitLater(c: ManagedContainer): void {
    const after = this.startDelayMs * (2 + 8 * this.random());
    const timer = setTimeout(() => {
      this.exitTimers.delete(c.id);
      if (this.containers.get(c.id) !== c || c.state !== 'running') return;
      c.state = 'exited';
      c.exitCode = 1;
      c.finishedAt = new Date().toISOString();
      this.emitEvent(c.id, 'die');
    }, after);
    this.exitTimers.set(c.id, timer);
  }

  private labelsOf(c: ManagedContainer): Record<string, string> {
    return {
      [LABEL_UID]: c.uid,
      [LABEL_KIND]: c.kind,
      [LABEL_NAMESPACE]: c.namespace,
      [LABEL_NAME]: c.name,
      ...(c.node ? { [LABEL_NODE]: c.node } : {}),
      ...(c.specHash ? { [LABEL_SPEC_HASH]: c.specHash } : {}),
    };
  }

  /** The event Docker would send: the container's labels as the actor's attributes. */
  private emitEvent(id: string, action: string, c = this.containers.get(id)): void {
    if (!c || !this.subscribers.size) return;
    const nowMs = Date.now();
    const ev: DockerEvent = {
      Type: 'container',
      Action: action,
      Actor: { ID: id, Attributes: { ...this.labelsOf(c), name: c.containerName, image: c.image } },
      time: Math.floor(nowMs / 1000),
      timeNano: nowMs * 1e6,
    };
    for (const s of this.subscribers) s(ev);
  }
}

/** A stable fake image id per reference, as the engine would give one image one id. */
function imageIdOf(ref: string): string {
  return `sha256:${createHash('sha256').update(ref).digest('hex')}`;
}
