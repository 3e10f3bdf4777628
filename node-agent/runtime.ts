// The container engine as the node agent sees it: the one contract that the Docker runtime and the
// hollow (simulated) runtime both fulfil, so the same agent code drives either.
import type { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { BreakerState } from '../lib/docker/engine-guard.js';
import type { RegistryAuth } from '../lib/registry/credentials.js';
import type { DockerEvent } from './docker/events.js';
import type { PullMessage } from './images/progress.js';

export type { BreakerState };

export interface ManagedContainer {
  id: string;
  /** Docker's name for it, without the leading slash. */
  containerName: string;
  uid: string;
  kind: string;
  namespace: string;
  name: string;
  /** The node label: an agent leaves containers another node's agent created on a shared engine. */
  node?: string;
  image: string;
  /** The id (sha256:…) of the image the container was created from. */
  imageId?: string;
  /** created, running, paused, restarting, removing, exited or dead. */
  state: string;
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
  /** starting, healthy or unhealthy; absent without a healthcheck. */
  health?: string;
  specHash?: string;
  /** Its address on its Docker network (the first network's when it has several); absent when stopped. */
  ipAddress?: string;
  /** Its published ports as the engine bound them (only while it runs); absent when there are none. */
  ports?: BoundPort[];
}

/** One host binding of a container port: Docker's NetworkSettings.Ports entry. */
export interface BoundPort {
  containerPort: number;
  /** TCP or UDP. */
  protocol: string;
  hostPort: number;
  /** 0.0.0.0 or :: for every address. */
  hostIp: string;
}

export interface LogsOptions {
  follow?: boolean;
  /** Lines from the end; all when absent. */
  tail?: number;
  /** Only lines after this time (a Date or unix seconds). */
  since?: Date | number;
  /** Ends a followed log. */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface TerminalSize {
  width: number;
  height: number;
}

export interface ExecStreamOptions {
  /** Attach standard input: the session's `stdin` takes the bytes, and its end() is EOF. */
  stdin: boolean;
  /** A pseudo-terminal: one raw output stream (all "stdout"). */
  tty: boolean;
  /** The terminal's size to start with (tty only). */
  size?: TerminalSize;
  /** Ends the session: the connection to the command is closed (a TTY's command gets SIGHUP). */
  signal?: AbortSignal;
}

/** A command running with attached streams (interactive exec). */
export interface ExecSession {
  /** An object-mode stream of LogChunk ({stream, data}), read with backpressure; ends with the output. */
  readonly output: Readable;
  /** The command's standard input when attached; end() closes it. */
  readonly stdin?: Writable;
  resize(size: TerminalSize): Promise<void>;
  /** The command's exit code; call after `output` ended. */
  exitCode(): Promise<number>;
}

export interface EventsOptions {
  /** Replay from this time (a Date or unix seconds), to resume after a reconnect. */
  since?: Date | number;
  /** Engine event filters. @default only containers with the dev.persys.uid label */
  filters?: Record<string, string[]>;
  /** Ends the iteration. */
  signal?: AbortSignal;
}

/** What one list call says about a managed container: enough to tell whether a cached inspect is stale. */
export interface ContainerSummary {
  id: string;
  uid: string;
  node?: string;
  state: string;
  /** starting, healthy or unhealthy; absent without a healthcheck. */
  health?: string;
  /** Only for exited containers. */
  exitCode?: number;
}

export interface PullImageOptions {
  /** Credentials for the image's registry; anonymous when absent. */
  auth?: RegistryAuth;
  /** Every message of the engine's progress stream, in order. */
  onProgress?: (msg: PullMessage) => void;
  /** Cancels the pull (an AbortError, which the breaker does not count). */
  signal?: AbortSignal;
  /** Deadline of the whole pull. @default 600_000 */
  timeoutMs?: number;
}

/** What the engine knows of a local image. */
export interface ImageInfo {
  /** sha256:… */
  id: string;
  /** repository@sha256:… for each registry the image was pulled from or pushed to. */
  repoDigests: string[];
}

/**
 * What NodeAgent, ImagePuller, RequestHandler and the usage/node-info code call. Implementations emit
 * 'open', 'halfOpen' and 'close' as their circuit breaker changes state (a runtime without one never does).
 */
export interface ContainerRuntime extends Pick<EventEmitter, 'on' | 'off'> {
  readonly node: string;
  breakerState(): BreakerState;
  /** Stops timers; containers are left as they are. */
  close(): void;
  /** Every persys container, inspected. */
  listManaged(): Promise<ManagedContainer[]>;
  /** One cheap list: enough to tell which cached inspects are stale. */
  listSummaries(): Promise<ContainerSummary[]>;
  /** undefined when gone or not a persys container. */
  inspectManaged(id: string): Promise<ManagedContainer | undefined>;
  inspect(id: string): Promise<Dockerode.ContainerInspectInfo>;
  /** Creates a container from createOptions() (the uid label is required); returns its id. */
  create(opts: Dockerode.ContainerCreateOptions): Promise<string>;
  /** Starts a persys container (checked to be one). */
  start(id: string): Promise<void>;
  /** Starts a container create() has just returned. */
  startCreated(id: string): Promise<void>;
  /** Removes the container, killing it if running; one already gone is not an error. */
  remove(id: string): Promise<void>;
  /** Container events of persys containers until `signal` aborts or the stream breaks (then list again). */
  events(opts?: EventsOptions): AsyncIterable<DockerEvent>;
  /** An object-mode stream of LogChunk ({stream, data}). */
  logs(id: string, opts?: LogsOptions): Promise<Readable>;
  exec(id: string, cmd: string[], opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<ExecResult>;
  /** Starts `cmd` in the running container with attached streams; it runs until it exits or `signal` aborts. */
  startExec(id: string, cmd: string[], opts: ExecStreamOptions): Promise<ExecSession>;
  stats(id: string, opts?: { oneShot?: boolean }): Promise<Dockerode.ContainerStats>;
  pullImage(ref: string, opts?: PullImageOptions): Promise<void>;
  /** The local image `ref` names, or undefined when there is none. */
  imageInfo(ref: string): Promise<ImageInfo | undefined>;
  /** The engine's version, for Node status. */
  version(): Promise<{ Version: string }>;
}
