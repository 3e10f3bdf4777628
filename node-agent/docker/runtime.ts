// The node agent's view of its Docker engine: the few operations reconciliation needs, each with a
// deadline and behind one circuit breaker, and none of them on containers persys did not create.
import { EventEmitter } from 'node:events';
import type { Duplex, Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { EngineGuard, engineStatus, type CallOptions, type EngineGuardOptions } from '../../lib/docker/engine-guard.js';
import { ImageNotFoundError, ImagePullError, UnmanagedContainerError } from './errors.js';
import { decodeJsonLines, type DockerEvent } from './events.js';
import type { RegistryAuth } from '../../lib/registry/credentials.js';
import { withDefaultTag } from '../../lib/registry/reference.js';
import { engineMessage, streamError, type PullMessage } from '../images/progress.js';
import { LABEL_KIND, LABEL_NAME, LABEL_NAMESPACE, LABEL_NODE, LABEL_SPEC_HASH, LABEL_UID } from './labels.js';
import { execOutput } from './frames.js';
import { chunksStream, demuxBuffer, demuxLive } from './logs.js';
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
  LogsOptions,
  ManagedContainer,
  PullImageOptions,
  TerminalSize,
} from '../runtime.js';

// Existing importers take these from here; the contract itself lives in ../runtime.ts.
export type { BreakerState, ContainerSummary, EventsOptions, ExecResult, ImageInfo, LogsOptions, ManagedContainer, PullImageOptions };

export interface DockerRuntimeOptions extends Omit<EngineGuardOptions, 'node'> {
  docker: Dockerode;
  /** This node's name, for error messages. */
  node: string;
  /** The engine's guard, shared with the node's compose and swarm calls; made from the options when absent. */
  guard?: EngineGuard;
  /** Deadline of an exec, from create to exit code. @default 30_000 */
  execTimeoutMs?: number;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const LIST_CONCURRENCY = 8;

function seconds(t: Date | number | undefined): number | undefined {
  return t instanceof Date ? Math.floor(t.getTime() / 1000) : t;
}

export class DockerRuntime extends EventEmitter implements ContainerRuntime {
  readonly node: string;
  private readonly docker: Dockerode;
  private readonly callTimeoutMs: number;
  private readonly execTimeoutMs: number;
  private readonly guard: EngineGuard;
  private readonly ownsGuard: boolean;

  constructor(opts: DockerRuntimeOptions) {
    super();
    this.docker = opts.docker;
    this.node = opts.node;
    this.ownsGuard = !opts.guard;
    this.guard = opts.guard ?? new EngineGuard({ node: opts.node, callTimeoutMs: opts.callTimeoutMs, breaker: opts.breaker });
    this.callTimeoutMs = this.guard.callTimeoutMs;
    this.execTimeoutMs = opts.execTimeoutMs ?? 30_000;
    // Bridged so the agent's metrics can count transitions (opossum-prometheus would drag in prom-client 12).
    for (const event of ['open', 'halfOpen', 'close'] as const) this.guard.on(event, () => this.emit(event));
  }

  breakerState(): BreakerState {
    return this.guard.state();
  }

  /** Stops the breaker's statistics timers, when the guard is this runtime's own. */
  close(): void {
    if (this.ownsGuard) this.guard.close();
  }

  /** Every persys container on the engine, running or not. Containers without the uid label never appear. */
  async listManaged(): Promise<ManagedContainer[]> {
    const listed = await this.call('list', (abortSignal) =>
      this.docker.listContainers({ all: true, filters: { label: [LABEL_UID] }, abortSignal }),
    );
    const ids = listed.filter((c) => c.Labels?.[LABEL_UID]).map((c) => c.Id);
    const out: ManagedContainer[] = [];
    for (let i = 0; i < ids.length; i += LIST_CONCURRENCY) {
      const batch = await Promise.all(ids.slice(i, i + LIST_CONCURRENCY).map((id) => this.inspectIfPresent(id)));
      for (const info of batch) if (info) out.push(toManaged(info));
    }
    return out.filter((c) => c.uid);
  }

  /** One list call, no inspects: every persys container with its state, health and exit code. */
  async listSummaries(): Promise<ContainerSummary[]> {
    const listed = await this.call('list', (abortSignal) =>
      this.docker.listContainers({ all: true, filters: { label: [LABEL_UID] }, abortSignal }),
    );
    return listed.filter((c) => c.Labels?.[LABEL_UID]).map(toSummary);
  }

  /** The container as ManagedContainer; undefined when it is gone or not a persys container. */
  async inspectManaged(id: string): Promise<ManagedContainer | undefined> {
    const info = await this.inspectIfPresent(id);
    if (!info?.Config?.Labels?.[LABEL_UID]) return undefined;
    return toManaged(info);
  }

  /** Creates the named volume unless it exists; an existing volume keeps its labels. */
  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    // The engine answers an existing name with that volume, so create is already idempotent.
    await this.call('ensureVolume', (abortSignal) => this.docker.createVolume({ Name: name, Labels: labels, abortSignal }));
  }

  /** Creates a container from createOptions(); returns its id. */
  async create(opts: Dockerode.ContainerCreateOptions): Promise<string> {
    if (!opts.Labels?.[LABEL_UID]) throw new Error(`refusing to create container ${opts.name ?? ''} without a ${LABEL_UID} label`);
    const { name, ...body } = opts;
    return this.call('create', async (abortSignal) => {
      try {
        // Body and query apart: dockerode would otherwise copy every field, env (and secrets) included,
        // into the URL, where engine debug logs and proxies record it.
        const created = await this.docker.createContainer({ _query: name ? { name } : {}, _body: body, abortSignal } as never);
        return created.id;
      } catch (e) {
        if (engineStatus(e) === 404 && /no such image/i.test(String((e as Error).message))) {
          throw new ImageNotFoundError(opts.Image ?? '', this.node, { cause: e });
        }
        throw e;
      }
    });
  }

  async start(id: string): Promise<void> {
    await this.assertManaged(id);
    await this.call('start', (abortSignal) => this.docker.getContainer(id).start({ abortSignal }).catch(alreadyDone));
  }

  /**
   * Starts a container that create() has just returned. create() refuses options without the uid
   * label, so the managed check start() makes would be one more engine call proving nothing.
   */
  async startCreated(id: string): Promise<void> {
    await this.call('start', (abortSignal) => this.docker.getContainer(id).start({ abortSignal }).catch(alreadyDone));
  }

  /** SIGTERM, then SIGKILL after timeoutS. */
  async stop(id: string, timeoutS = 10): Promise<void> {
    await this.assertManaged(id);
    await this.call('stop', (abortSignal) => this.docker.getContainer(id).stop({ t: timeoutS, abortSignal }).catch(alreadyDone), {
      timeoutMs: timeoutS * 1000 + this.callTimeoutMs,
    });
  }

  /** Removes the container (killing it if running); a container already gone is not an error. */
  async remove(id: string): Promise<void> {
    try {
      await this.assertManaged(id);
      await this.call('remove', (abortSignal) => this.docker.getContainer(id).remove({ force: true, abortSignal }));
    } catch (e) {
      if (engineStatus(e) !== 404) throw e;
    }
  }

  inspect(id: string): Promise<Dockerode.ContainerInspectInfo> {
    return this.call('inspect', (abortSignal) => this.docker.getContainer(id).inspect({ abortSignal }));
  }

  /**
   * The container's output as an object-mode stream of LogChunk ({stream, data}). A followed log
   * ends when the container stops or `signal` aborts.
   */
  async logs(id: string, opts: LogsOptions = {}): Promise<Readable> {
    const query = { stdout: true, stderr: true, tail: opts.tail, since: seconds(opts.since) };
    const container = this.docker.getContainer(id);
    if (!opts.follow) {
      const buf = await this.call('logs', (abortSignal) => container.logs({ ...query, follow: false, abortSignal }), {
        signal: opts.signal,
      });
      return chunksStream(demuxBuffer(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf))));
    }
    const live = await this.call('logs', (abortSignal) => container.logs({ ...query, follow: true, abortSignal }), {
      signal: opts.signal,
      stream: true,
    });
    return demuxLive(live as Readable, this.docker.modem.demuxStream.bind(this.docker.modem), () => !!opts.signal?.aborted);
  }

  /** Runs `cmd` in the running container and waits for it to exit. */
  async exec(id: string, cmd: string[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ExecResult> {
    // Exec changes nothing persys owns: a ComposeStack's container of this node may be reached too.
    await this.assertManaged(id, { composeStacks: true });
    return this.call(
      'exec',
      async (abortSignal) => {
        const exec = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, abortSignal });
        const stream = (await exec.start({ hijack: true, stdin: false, abortSignal })) as Readable;
        const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
        await new Promise<void>((resolve, reject) => {
          // After the upgrade the socket is no longer the request's: end it ourselves on abort.
          const onAbort = () => stream.destroy(abortSignal.reason);
          abortSignal.addEventListener('abort', onAbort, { once: true });
          const sink = (into: Buffer[]) => ({ write: (b: Buffer) => into.push(Buffer.from(b)) }) as unknown as NodeJS.WritableStream;
          this.docker.modem.demuxStream(stream, sink(out.stdout), sink(out.stderr));
          stream.once('error', reject);
          stream.once('close', () => {
            abortSignal.removeEventListener('abort', onAbort);
            resolve();
          });
        });
        const info = await exec.inspect({ abortSignal });
        return {
          exitCode: info.ExitCode ?? -1,
          stdout: Buffer.concat(out.stdout).toString('utf8'),
          stderr: Buffer.concat(out.stderr).toString('utf8'),
        };
      },
      { timeoutMs: opts.timeoutMs ?? this.execTimeoutMs, signal: opts.signal },
    );
  }

  /**
   * Starts `cmd` in the running container with its streams attached over one hijacked connection:
   * output framed as stdout/stderr (raw with a TTY), standard input written to the same socket, whose
   * write half closing is the command's EOF. Each engine call (create, start, resize, inspect) has its
   * own deadline; the session itself has none: it lasts until the command exits or `signal` aborts.
   */
  async startExec(id: string, cmd: string[], opts: ExecStreamOptions): Promise<ExecSession> {
    await this.assertManaged(id, { composeStacks: true });
    const { signal, tty } = opts;
    const exec = await this.call(
      'exec',
      (abortSignal) =>
        this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdin: opts.stdin, AttachStdout: true, AttachStderr: true, Tty: tty, abortSignal }),
      { signal },
    );
    const socket = (await this.call('exec', (abortSignal) => exec.start({ hijack: true, stdin: opts.stdin, Tty: tty, abortSignal }), {
      signal,
      stream: true,
    })) as Duplex;
    // After the upgrade the socket is no longer the request's: end it ourselves on abort.
    const onAbort = () => socket.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal?.removeEventListener('abort', onAbort));
    const output = socket.pipe(execOutput({ tty }));
    socket.once('error', (e) => output.destroy(e));
    // A socket torn down before its end (abort, engine gone) must not look like a finished command.
    socket.once('close', () => {
      if (!output.writableEnded) output.destroy(signal?.aborted ? undefined : new Error('the exec connection closed before the output ended'));
    });
    const resize = (size: TerminalSize) =>
      this.call('execResize', (abortSignal) => exec.resize({ h: size.height, w: size.width, abortSignal }), { signal }).then(() => undefined);
    if (tty && opts.size?.width && opts.size.height) {
      // The engine (API < 1.42) takes a size only once the process runs, which may trail the upgrade.
      // Waited for before the session is handed out, so the first input already meets the right size.
      const size = opts.size;
      for (let attempt = 0; attempt < 10 && !signal?.aborted && !socket.destroyed; attempt++) {
        try {
          await resize(size);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
        }
      }
    }
    return {
      output,
      stdin: opts.stdin ? socket : undefined,
      resize,
      exitCode: async () => {
        // The output can end a moment before the engine records the exit.
        for (let attempt = 0; ; attempt++) {
          const info = await this.call('execInspect', (abortSignal) => exec.inspect({ abortSignal }), { signal });
          if (!info.Running || attempt >= 20) return info.ExitCode ?? -1;
          await new Promise((r) => setTimeout(r, 50));
        }
      },
    };
  }

  /**
   * Engine events, parsed, until `signal` aborts or the engine closes the stream. After an error or
   * end, list again and resume with `since` (events in between are replayed by the engine).
   */
  async *events(opts: EventsOptions = {}): AsyncGenerator<DockerEvent> {
    const filters = opts.filters ?? { type: ['container'], label: [LABEL_UID] };
    const stream = (await this.call(
      'events',
      (abortSignal) => this.docker.getEvents({ since: seconds(opts.since), filters, abortSignal }),
      { signal: opts.signal, stream: true },
    )) as Readable;
    try {
      for await (const event of decodeJsonLines(stream)) yield event;
    } catch (e) {
      if (opts.signal?.aborted) return;
      throw e;
    } finally {
      stream.destroy();
    }
  }

  /**
   * One resource-usage sample of a running container. By default the engine waits ~1 s to fill
   * precpu_stats; `oneShot` answers at once with precpu_stats empty (API 1.41+), for callers that
   * keep the previous sample themselves.
   */
  stats(id: string, opts: { oneShot?: boolean } = {}): Promise<Dockerode.ContainerStats> {
    const query = opts.oneShot ? { 'one-shot': true } : {};
    // The typings omit abortSignal and one-shot; dockerode passes both on to the request.
    const request = (abortSignal: AbortSignal) => ({ stream: false, ...query, abortSignal }) as unknown as { stream: false };
    return this.call('stats', (abortSignal) => this.docker.getContainer(id).stats(request(abortSignal)));
  }

  /**
   * Pulls `ref` (the latest tag when it names none) and follows the engine's progress stream to its end.
   * Whatever the engine answers about the pull (a refusal, or a stream ending in an error) is an
   * ImagePullError with the registry's message: the engine is alive, so the breaker does not count it; a
   * broken connection or the deadline does. Credentials travel only in the X-Registry-Auth header.
   */
  async pullImage(ref: string, opts: PullImageOptions = {}): Promise<void> {
    const image = withDefaultTag(ref);
    const auth = opts.auth;
    await this.call(
      'pull',
      async (abortSignal) => {
        let stream: Readable;
        try {
          stream = await new Promise<Readable>((resolve, reject) => {
            this.docker.modem.dial(
              {
                path: '/images/create?',
                method: 'POST',
                // Only the reference goes into the URL.
                options: { fromImage: image },
                authconfig: auth ? { ...auth } : undefined,
                abortSignal,
                isStream: true,
                statusCodes: { 200: true, 404: 'not found', 500: 'server error' },
              } as never,
              (err: unknown, data: unknown) => (err ? reject(err) : resolve(data as Readable)),
            );
          });
        } catch (e) {
          const status = engineStatus(e);
          if (status !== undefined) throw new ImagePullError(ref, redactCredentials(engineMessage(e), auth), status);
          throw e;
        }
        try {
          for await (const msg of decodeJsonLines<PullMessage>(stream)) {
            const failed = streamError(msg);
            if (failed) throw new ImagePullError(ref, redactCredentials(failed, auth));
            opts.onProgress?.(msg);
          }
        } finally {
          stream.destroy();
        }
      },
      { timeoutMs: opts.timeoutMs ?? 600_000, signal: opts.signal },
    );
  }

  /** The local image `ref` names (a reference or an image id), or undefined when the engine has none. */
  async imageInfo(ref: string): Promise<ImageInfo | undefined> {
    try {
      const info = (await this.call('inspectImage', (abortSignal) =>
        this.dial(`/images/${ref}/json`, abortSignal, { 404: 'no such image' }),
      )) as { Id?: string; RepoDigests?: string[] | null };
      return { id: info.Id ?? '', repoDigests: info.RepoDigests ?? [] };
    } catch (e) {
      if (engineStatus(e) === 404) return undefined;
      throw e;
    }
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.imageInfo(ref)) !== undefined;
  }

  version(): Promise<Dockerode.DockerVersion> {
    return this.call('version', (abortSignal) => this.dial('/version', abortSignal) as Promise<Dockerode.DockerVersion>);
  }

  /** Engine facts for Node status: NCPU, MemTotal, ServerVersion, and the rest of `docker info`. */
  info(): Promise<{ NCPU: number; MemTotal: number; ServerVersion: string; [field: string]: unknown }> {
    return this.call('info', (abortSignal) => this.dial('/info', abortSignal) as Promise<never>);
  }

  /** Checks the label before a mutation: the agent shares the engine with whatever else runs there. */
  private async assertManaged(id: string, also: { composeStacks?: boolean } = {}): Promise<Dockerode.ContainerInspectInfo> {
    const info = await this.inspect(id);
    const labels = info.Config?.Labels ?? {};
    const ofStack = !!also.composeStacks && labels[LABEL_KIND] === 'ComposeStack' && labels[LABEL_NODE] === this.node;
    if (!labels[LABEL_UID] && !ofStack) throw new UnmanagedContainerError(id);
    return info;
  }

  private async inspectIfPresent(id: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      return await this.inspect(id);
    } catch (e) {
      if (engineStatus(e) === 404) return undefined; // removed between list and inspect
      throw e;
    }
  }

  /** A GET through the engine client, for endpoints whose dockerode method ignores abortSignal. */
  private dial(path: string, abortSignal: AbortSignal, statusCodes: Record<number, string> = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        { path, method: 'GET', abortSignal, statusCodes: { 200: true, 500: 'server error', ...statusCodes } } as never,
        (err: unknown, data: unknown) => (err ? reject(err) : resolve(data)),
      );
    });
  }

  private call<T>(operation: string, attempt: (signal: AbortSignal) => Promise<T>, opts: CallOptions = {}): Promise<T> {
    return this.guard.call(operation, attempt, opts);
  }
}

/** An engine or registry message with any credential of `auth` blanked out, should one ever echo it. */
function redactCredentials(text: string, auth: RegistryAuth | undefined): string {
  if (!auth) return text;
  let out = text;
  const secrets = [auth.password, auth.identitytoken, auth.username && auth.password ? Buffer.from(`${auth.username}:${auth.password}`).toString('base64') : undefined];
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('***');
  return out;
}

/** 304: the container was already started / stopped, which is what was asked. */
function alreadyDone(e: unknown): void {
  if (engineStatus(e) !== 304) throw e;
}

function toSummary(c: Dockerode.ContainerInfo): ContainerSummary {
  const labels = c.Labels ?? {};
  // Status is Docker's human text: "Up 2 minutes (healthy)", "Exited (137) 5 seconds ago".
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status ?? '')?.[1]?.replace('health: ', '');
  const exit = /^Exited \((-?\d+)\)/.exec(c.Status ?? '')?.[1];
  return {
    id: c.Id,
    uid: labels[LABEL_UID] ?? '',
    node: labels[LABEL_NODE] || undefined,
    state: c.State,
    health,
    exitCode: exit === undefined ? undefined : Number(exit),
  };
}

function toManaged(info: Dockerode.ContainerInspectInfo): ManagedContainer {
  const labels = info.Config?.Labels ?? {};
  const time = (t: string | undefined) => (t && t !== ZERO_TIME ? t : undefined);
  return {
    id: info.Id,
    containerName: info.Name.replace(/^\//, ''),
    uid: labels[LABEL_UID] ?? '',
    kind: labels[LABEL_KIND] ?? '',
    namespace: labels[LABEL_NAMESPACE] ?? '',
    name: labels[LABEL_NAME] ?? '',
    node: labels[LABEL_NODE] || undefined,
    image: info.Config?.Image ?? '',
    imageId: info.Image || undefined,
    state: info.State.Status,
    exitCode: info.State.ExitCode,
    startedAt: time(info.State.StartedAt),
    finishedAt: time(info.State.FinishedAt),
    health: info.State.Health?.Status || undefined,
    specHash: labels[LABEL_SPEC_HASH],
    ipAddress: ipAddressOf(info),
    ...boundPortsOf(info),
  };
}

/** NetworkSettings.Ports ({"80/tcp": [{HostIp, HostPort}] or null when only exposed}) as BoundPorts. */
function boundPortsOf(info: Dockerode.ContainerInspectInfo): { ports?: BoundPort[] } {
  const ports: BoundPort[] = [];
  for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    const [port, protocol] = key.split('/');
    for (const b of bindings ?? []) {
      const hostPort = Number(b.HostPort);
      if (hostPort > 0) ports.push({ containerPort: Number(port), protocol: (protocol || 'tcp').toUpperCase(), hostPort, hostIp: b.HostIp || '0.0.0.0' });
    }
  }
  return ports.length ? { ports } : {};
}

/** The first network's address (the default bridge's for a container on it alone). */
function ipAddressOf(info: Dockerode.ContainerInspectInfo): string | undefined {
  return Object.values(info.NetworkSettings?.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress || undefined;
}
