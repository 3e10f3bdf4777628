// A client for the Operations service over mTLS: logs and exec streamed from a node's agent through
// the API server, top, and join tokens. Errors are ApiErrors, as with ApiClient.
import { channelCredentials } from './credentials.js';
import { Metadata, status as Status, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  OperationsClient as RawOperationsClient,
  type CreateJoinTokenResponse,
  type ExecInput,
  type RevokeNodeResponse,
  type StreamChunk,
  type TerminalSize,
  type TopResponse,
} from '../gen/persys/v1/agent.js';
import { ApiError } from './errors.js';
import type { ClientConfig } from './config.js';

/** Whose output: a Container (default), or a ComposeStack's containers (one service's, when given). */
export interface TargetOptions {
  kind?: 'Container' | 'ComposeStack';
  service?: string;
}

export interface LogsOptions extends TargetOptions {
  namespace?: string;
  follow?: boolean;
  /** 0 or absent: all lines. */
  tailLines?: number;
  sinceTime?: string;
  timestamps?: boolean;
  /** Cancels the stream; the iterator then ends without an error. */
  signal?: AbortSignal;
}

export interface ExecOptions extends TargetOptions {
  namespace?: string;
  /** Called with each piece of output as it arrives. */
  onOutput?(stream: 'stdout' | 'stderr', data: Buffer): void;
  signal?: AbortSignal;
}

export interface ExecStreamOptions extends ExecOptions {
  /** Sent as the command's standard input, in pieces of at most 64 KiB; its end closes the command's input. */
  stdin?: AsyncIterable<Buffer | string>;
  /** Run on a pseudo-terminal: all output arrives as "stdout", raw. */
  tty?: boolean;
  /** The terminal's size to start with (tty only). */
  size?: TerminalSize;
  /** Called once with a function sending a resize; returns what stops the resizes (tty only). */
  onResize?(send: (size: TerminalSize) => void): () => void;
}

/** Largest stdin piece the API server takes in one ExecInput. */
export const MAX_STDIN_CHUNK = 64 * 1024;

/** Standard input read as it comes, cut into ExecInputs the API server accepts. */
export function stdinInputs(data: Buffer | string, max = MAX_STDIN_CHUNK): ExecInput[] {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const out: ExecInput[] = [];
  for (let at = 0; at < buf.length; at += max) out.push({ input: { $case: 'stdin', value: buf.subarray(at, at + max) } });
  return out;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export class OperationsClient {
  readonly raw: RawOperationsClient;
  private readonly deadlineMs: number;

  constructor(readonly config: ClientConfig, options: { deadlineMs?: number } = {}) {
    const creds = channelCredentials(config);
    this.raw = new RawOperationsClient(config.server, creds, { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 });
    this.deadlineMs = options.deadlineMs ?? 30_000;
  }

  /** Log chunks of a Container as the node's agent sends them; ends when the log does (or on abort). */
  async *logs(name: string, opts: LogsOptions = {}): AsyncGenerator<StreamChunk> {
    const stream = this.raw.logs({
      kind: opts.kind ?? 'Container',
      namespace: opts.namespace ?? '',
      name,
      follow: !!opts.follow,
      tailLines: opts.tailLines ?? 0,
      sinceTime: opts.sinceTime ?? '',
      timestamps: !!opts.timestamps,
      service: opts.service ?? '',
    });
    yield* chunks(stream, opts.signal);
  }

  /** Runs `command` in a Container; resolves with its exit code and output once it has finished. */
  async exec(name: string, command: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const stream = this.raw.exec({ kind: opts.kind ?? 'Container', namespace: opts.namespace ?? '', name, command, service: opts.service ?? '', stdin: false, tty: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let exitCode: number | undefined;
    for await (const c of chunks(stream, opts.signal)) {
      if (c.data.length) {
        const which = c.stream === 'stderr' ? 'stderr' : 'stdout';
        (which === 'stderr' ? err : out).push(c.data);
        opts.onOutput?.(which, c.data);
      }
      if (c.end) exitCode = c.exitCode;
    }
    if (exitCode === undefined) {
      if (opts.signal?.aborted) throw new ApiError(Status.CANCELLED, 'CANCELLED', 'exec cancelled');
      throw new ApiError(Status.UNKNOWN, 'UNKNOWN', 'the exec stream ended without an exit code');
    }
    return { exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  /**
   * Runs `command` interactively (ExecStream): `stdin` is sent as it is read, with backpressure, and its
   * end closes the command's input; resizes follow as they happen. Output goes to onOutput as it arrives.
   * Resolves with the command's exit code.
   */
  async execStream(name: string, command: string[], opts: ExecStreamOptions = {}): Promise<{ exitCode: number }> {
    const call = this.raw.execStream();
    const tty = !!opts.tty;
    let finished = false;
    const send = async (input: ExecInput) => {
      if (finished) return;
      if (!call.write(input)) await new Promise<void>((r) => call.once('drain', r).once('close', r));
    };
    void send({
      input: {
        $case: 'start',
        value: {
          kind: opts.kind ?? 'Container',
          namespace: opts.namespace ?? '',
          name,
          command,
          service: opts.service ?? '',
          stdin: !!opts.stdin,
          tty,
          terminalSize: tty ? opts.size : undefined,
        },
      },
    });
    const stopResizes = tty ? opts.onResize?.((size) => void send({ input: { $case: 'resize', value: size } })) : undefined;
    const pump = opts.stdin
      ? (async () => {
          for await (const data of opts.stdin!) {
            if (finished) return;
            for (const input of stdinInputs(data)) await send(input);
          }
          await send({ input: { $case: 'stdinClose', value: true } });
        })()
      : Promise.resolve();
    let inputError: unknown;
    pump.catch((err: unknown) => {
      inputError = err;
      call.cancel();
    });
    let exitCode: number | undefined;
    try {
      for await (const c of chunks(call, opts.signal)) {
        if (c.data.length) opts.onOutput?.(c.stream === 'stderr' ? 'stderr' : 'stdout', c.data);
        if (c.end) exitCode = c.exitCode;
      }
    } catch (err) {
      if (inputError) throw new Error(`cannot read standard input: ${(inputError as Error).message ?? String(inputError)}`, { cause: inputError });
      throw err;
    } finally {
      finished = true;
      stopResizes?.();
      call.end();
    }
    if (exitCode === undefined) {
      if (opts.signal?.aborted) throw new ApiError(Status.CANCELLED, 'CANCELLED', 'exec cancelled');
      throw new ApiError(Status.UNKNOWN, 'UNKNOWN', 'the exec stream ended without an exit code');
    }
    return { exitCode };
  }

  /** Usage of the nodes (what = 'nodes') or containers connected to this API server. */
  top(what: 'nodes' | 'containers', namespace = ''): Promise<TopResponse> {
    return this.unary<TopResponse>((md, o, cb) => this.raw.top({ what, namespace }, md, o, cb));
  }

  createJoinToken(opts: { ttlSeconds?: number; description?: string } = {}): Promise<CreateJoinTokenResponse> {
    return this.unary<CreateJoinTokenResponse>((md, o, cb) =>
      this.raw.createJoinToken({ ttlSeconds: opts.ttlSeconds ?? 0, description: opts.description ?? '' }, md, o, cb),
    );
  }

  /** Denies the node's certificates until they expire and closes its stream (Operations.RevokeNode). */
  revokeNode(nodeName: string): Promise<RevokeNodeResponse> {
    return this.unary<RevokeNodeResponse>((md, o, cb) => this.raw.revokeNode({ nodeName }, md, o, cb));
  }

  close(): void {
    this.raw.close();
  }

  private unary<T>(fn: (md: Metadata, o: { deadline: Date }, cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      fn(new Metadata(), { deadline: new Date(Date.now() + this.deadlineMs) }, (err, res) => (err ? reject(ApiError.from(err)) : resolve(res)));
    });
  }
}

async function* chunks(stream: ClientReadableStream<StreamChunk> | ClientDuplexStream<ExecInput, StreamChunk>, signal?: AbortSignal): AsyncGenerator<StreamChunk> {
  const cancel = () => stream.cancel();
  if (signal?.aborted) cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for await (const c of stream as AsyncIterable<StreamChunk>) yield c;
  } catch (err) {
    const e = err as ServiceError;
    if (e.code === Status.CANCELLED && signal?.aborted) return;
    throw typeof e.code === 'number' ? ApiError.from(e) : err;
  } finally {
    signal?.removeEventListener('abort', cancel);
    stream.cancel();
  }
}
