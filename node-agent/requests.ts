// Answers to the API server's on-demand requests (logs, exec, swarm operations) as StreamChunks, each cancellable by
// its request id; a followed log runs until the container stops or the server cancels it. An interactive exec
// (stdin or tty) also takes RequestInput: standard input, its end and terminal resizes, in order.
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AgentRequest, ExecInput, ExecRequest, StreamChunk, SwarmRequest, SwarmResponse } from '../lib/gen/persys/v1/agent.js';
import { redactTokens } from '../lib/swarm/redact.js';
import type { LogChunk } from './docker/logs.js';
import { mergeLabelledLogs } from './stack-logs.js';
import type { ContainerRuntime, ExecSession, ManagedContainer } from './runtime.js';

/** Sends one chunk; resolves when the transport can take more (backpressure). */
export type ChunkSender = (chunk: StreamChunk) => Promise<void>;

const chunk = (requestId: string, fields: Partial<StreamChunk>): StreamChunk => ({
  requestId,
  stream: '',
  data: Buffer.alloc(0),
  end: false,
  exitCode: 0,
  error: '',
  errorCode: 0,
  ...fields,
});

/** Largest piece of standard input one message may carry (the API server refuses larger ones first). */
export const MAX_STDIN_CHUNK = 64 * 1024;
/**
 * Standard input waiting for the command to read it. The agent stream is shared by every request of
 * the node, so one exec's slow reader cannot pause it: beyond this the exec fails (RESOURCE_EXHAUSTED).
 */
export const MAX_STDIN_BACKLOG = 8 * 1024 * 1024;

/** A request failure with the gRPC status code the caller should see. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    message: string,
    readonly code: Code,
  ) {
    super(message);
  }
}

/** An interactive exec's input: queued until the command runs, then applied to its session in order. */
class ExecInputs {
  session?: ExecSession;
  private pending: ExecInput[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly req: ExecRequest,
    private readonly fail: (err: RequestError) => void,
    private readonly log: Logger,
  ) {}

  push(input: ExecInput): void {
    const i = input.input;
    if (!i) return;
    if (i.$case === 'start') return this.fail(new RequestError('the exec has started already: only one start message', Code.INVALID_ARGUMENT));
    if (i.$case === 'stdin') {
      if (!this.req.stdin) return this.fail(new RequestError('stdin: the exec was started without standard input', Code.INVALID_ARGUMENT));
      if (i.value.length > MAX_STDIN_CHUNK) return this.fail(new RequestError(`stdin: at most ${MAX_STDIN_CHUNK} bytes per message`, Code.INVALID_ARGUMENT));
    }
    if (!this.session) {
      this.pending.push(input);
      if (i.$case === 'stdin') this.pendingBytes += i.value.length;
      if (this.pendingBytes > MAX_STDIN_BACKLOG) this.backlogged();
      return;
    }
    this.apply(this.session, input);
  }

  /** The command runs: input that came meanwhile goes to it first. */
  started(session: ExecSession): void {
    this.session = session;
    const pending = this.pending;
    this.pending = [];
    for (const input of pending) this.apply(session, input);
  }

  private apply(session: ExecSession, input: ExecInput): void {
    const i = input.input!;
    switch (i.$case) {
      case 'stdin':
        if (!session.stdin || session.stdin.writableEnded) return this.fail(new RequestError('stdin: standard input was closed already', Code.FAILED_PRECONDITION));
        session.stdin.write(i.value);
        if (session.stdin.writableLength > MAX_STDIN_BACKLOG) this.backlogged();
        return;
      case 'stdinClose':
        session.stdin?.end();
        return;
      case 'resize':
        if (!this.req.tty) return;
        session.resize({ width: i.value.width, height: i.value.height }).catch((err: unknown) => this.log.info({ err }, 'terminal resize failed'));
        return;
    }
  }

  private backlogged(): void {
    this.fail(new RequestError(`standard input arrived faster than the command read it: more than ${MAX_STDIN_BACKLOG} bytes were waiting`, Code.RESOURCE_EXHAUSTED));
  }
}

export interface StackContainer {
  id: string;
  service: string;
  /** com.docker.compose.container-number */
  number: number;
}

/** The container answering for an object: the running one, else the most recently started. */
export function pickContainer(all: ManagedContainer[], kind: string, namespace: string, name: string): ManagedContainer | undefined {
  const matches = all.filter((c) => c.kind === (kind || 'Container') && c.namespace === (namespace || 'default') && c.name === name);
  return matches.sort(
    (a, b) =>
      Number(b.state === 'running') - Number(a.state === 'running') ||
      Date.parse(b.startedAt ?? '0') - Date.parse(a.startedAt ?? '0'),
  )[0];
}

export class RequestHandler {
  private readonly inflight = new Map<string, AbortController>();
  private readonly execInputs = new Map<string, ExecInputs>();

  constructor(
    private readonly runtime: Pick<ContainerRuntime, 'logs' | 'exec' | 'startExec'>,
    private readonly containers: () => Promise<ManagedContainer[]>,
    private readonly log: Logger,
    /** The containers of a ComposeStack on this node (of one service, when given), for logs and exec. */
    private readonly stackContainers?: (namespace: string, name: string, service?: string) => Promise<StackContainer[]>,
    /** Carries out a swarm operation on this node's engine. */
    private readonly swarm?: (req: SwarmRequest, signal: AbortSignal) => Promise<SwarmResponse>,
  ) {}

  handle(req: AgentRequest, send: ChunkSender): void {
    const id = req.requestId;
    const abort = new AbortController();
    this.inflight.set(id, abort);
    const r = req.request;
    if (r?.$case === 'exec' && (r.value.stdin || r.value.tty)) {
      this.execInputs.set(id, new ExecInputs(r.value, (err) => abort.abort(err), this.log.child({ requestId: id })));
    }
    this.answer(req, send, abort.signal)
      .catch(async (e: unknown) => {
        // Aborted by the server (cancel, stream lost): nobody waits for an answer. By a failure of ours: tell.
        const failure = abort.signal.reason instanceof RequestError ? abort.signal.reason : undefined;
        if (abort.signal.aborted && !failure) return;
        // A swarm operation's error may quote a join token.
        const message = redactTokens((failure ?? (e as Error))?.message ?? String(e));
        this.log.info({ requestId: id, error: message }, 'request failed');
        await send(chunk(id, { end: true, error: message, errorCode: failure?.code ?? (e instanceof RequestError ? e.code : 0) })).catch(() => undefined);
      })
      .finally(() => {
        this.inflight.delete(id);
        this.execInputs.delete(id);
      });
  }

  /** Input for an interactive exec; input for one that has ended is moot and dropped. */
  input(requestId: string, input: ExecInput): void {
    const inputs = this.execInputs.get(requestId);
    if (!inputs) return this.log.debug({ requestId, input: input.input?.$case }, 'input for an exec that is not running dropped');
    inputs.push(input);
  }

  cancel(requestId: string): void {
    this.inflight.get(requestId)?.abort();
  }

  /** Requests being answered (a followed log, a running exec): a planned reconnect waits for none. */
  get active(): number {
    return this.inflight.size;
  }

  /** On stream loss: nobody is left to read the answers. */
  cancelAll(): void {
    for (const a of this.inflight.values()) a.abort();
  }

  private async answer(req: AgentRequest, send: ChunkSender, signal: AbortSignal): Promise<void> {
    const id = req.requestId;
    const r = req.request;
    if (!r) throw new Error('empty request');
    if (r.$case === 'swarm') {
      if (!this.swarm) throw new Error('this agent does not carry out swarm operations');
      const answer = await this.swarm(r.value, signal);
      if (!signal.aborted) await send(chunk(id, { end: true, swarm: answer }));
      return;
    }
    const { kind, namespace, name } = r.value;
    if (kind === 'ComposeStack' && this.stackContainers) return this.answerForStack(req, send, signal);
    if ((kind || 'Container') !== 'Container') throw new Error(`${r.$case} of kind ${kind} is not supported by this agent`);
    const target = pickContainer(await this.containers(), kind, namespace, name);
    if (!target) throw new Error(`no container for Container ${namespace || 'default'}/${name} on this node`);
    return this.answerFor(target.id, req, send, signal);
  }

  /** Logs of every container of the stack (or of one service), merged like `docker compose logs`; exec in a service's first replica. */
  private async answerForStack(req: AgentRequest, send: ChunkSender, signal: AbortSignal): Promise<void> {
    const r = req.request as Extract<AgentRequest['request'], { $case: 'logs' | 'exec' }>;
    const { namespace, name } = r.value;
    const service = r.value.service;
    const targets = (await this.stackContainers!(namespace || 'default', name, service || undefined)).sort(
      (a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.number - b.number),
    );
    const what = `ComposeStack ${namespace || 'default'}/${name}${service ? ` service ${service}` : ''}`;
    if (!targets.length) throw new Error(`no containers for ${what} on this node`);
    if (r.$case === 'exec') {
      if (!service) throw new Error(`exec in a ComposeStack needs a service`);
      return this.answerFor(targets[0]!.id, req, send, signal);
    }
    const q = r.value;
    const sources = await Promise.all(
      targets.map(async (t) => ({
        label: `${t.service}-${t.number}`,
        chunks: (await this.runtime.logs(t.id, {
          follow: q.follow,
          tail: q.tailLines > 0 ? q.tailLines : undefined,
          since: q.sinceTime ? new Date(q.sinceTime) : undefined,
          signal,
        })) as AsyncIterable<LogChunk>,
      })),
    );
    for await (const c of mergeLabelledLogs(sources, signal)) {
      await send(chunk(req.requestId, { stream: c.stream, data: c.data }));
    }
    if (!signal.aborted) await send(chunk(req.requestId, { end: true }));
  }

  private async answerFor(containerId: string, req: AgentRequest, send: ChunkSender, signal: AbortSignal): Promise<void> {
    const id = req.requestId;
    const r = req.request as Extract<AgentRequest['request'], { $case: 'logs' | 'exec' }>;
    const target = { id: containerId };

    const inputs = this.execInputs.get(id);
    if (r.$case === 'exec' && inputs) {
      const { stdin, tty, terminalSize } = r.value;
      const size = terminalSize?.width && terminalSize.height ? { width: terminalSize.width, height: terminalSize.height } : undefined;
      const session = await this.runtime.startExec(target.id, r.value.command, { stdin, tty, size, signal });
      inputs.started(session);
      for await (const c of session.output as AsyncIterable<LogChunk>) {
        await send(chunk(id, { stream: c.stream, data: c.data }));
      }
      signal.throwIfAborted();
      await send(chunk(id, { end: true, exitCode: await session.exitCode() }));
      return;
    }
    if (r.$case === 'exec') {
      const res = await this.runtime.exec(target.id, r.value.command, { signal });
      if (res.stdout) await send(chunk(id, { stream: 'stdout', data: Buffer.from(res.stdout) }));
      if (res.stderr) await send(chunk(id, { stream: 'stderr', data: Buffer.from(res.stderr) }));
      await send(chunk(id, { end: true, exitCode: res.exitCode }));
      return;
    }
    const q = r.value;
    const logs = await this.runtime.logs(target.id, {
      follow: q.follow,
      tail: q.tailLines > 0 ? q.tailLines : undefined,
      since: q.sinceTime ? new Date(q.sinceTime) : undefined,
      signal,
    });
    for await (const c of logs as AsyncIterable<LogChunk>) {
      if (signal.aborted) break;
      await send(chunk(id, { stream: c.stream, data: c.data }));
    }
    if (!signal.aborted) await send(chunk(id, { end: true }));
  }
}
