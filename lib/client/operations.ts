// A client for the Operations service over mTLS: logs and exec streamed from a node's agent through
// the API server, top, and join tokens. Errors are ApiErrors, as with ApiClient.
import { readFileSync } from 'node:fs';
import { credentials, Metadata, status as Status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  OperationsClient as RawOperationsClient,
  type CreateJoinTokenResponse,
  type RevokeNodeResponse,
  type StreamChunk,
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

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export class OperationsClient {
  readonly raw: RawOperationsClient;
  private readonly deadlineMs: number;

  constructor(readonly config: ClientConfig, options: { deadlineMs?: number } = {}) {
    const creds = credentials.createSsl(readFileSync(config.caCert), readFileSync(config.clientKey), readFileSync(config.clientCert));
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
    const stream = this.raw.exec({ kind: opts.kind ?? 'Container', namespace: opts.namespace ?? '', name, command, service: opts.service ?? '' });
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

async function* chunks(stream: ClientReadableStream<StreamChunk>, signal?: AbortSignal): AsyncGenerator<StreamChunk> {
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
