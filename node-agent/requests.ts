// Answers to the API server's on-demand requests (logs, exec, swarm operations) as StreamChunks, each cancellable by
// its request id; a followed log runs until the container stops or the server cancels it.
import type { Logger } from 'pino';
import type { AgentRequest, StreamChunk, SwarmRequest, SwarmResponse } from '../lib/gen/persys/v1/agent.js';
import { redactTokens } from '../lib/swarm/redact.js';
import type { LogChunk } from './docker/logs.js';
import { mergeLabelledLogs } from './stack-logs.js';
import type { ContainerRuntime, ManagedContainer } from './runtime.js';

/** Sends one chunk; resolves when the transport can take more (backpressure). */
export type ChunkSender = (chunk: StreamChunk) => Promise<void>;

const chunk = (requestId: string, fields: Partial<StreamChunk>): StreamChunk => ({
  requestId,
  stream: '',
  data: Buffer.alloc(0),
  end: false,
  exitCode: 0,
  error: '',
  ...fields,
});

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

  constructor(
    private readonly runtime: Pick<ContainerRuntime, 'logs' | 'exec'>,
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
    this.answer(req, send, abort.signal)
      .catch(async (e: unknown) => {
        if (abort.signal.aborted) return;
        // A swarm operation's error may quote a join token.
        const message = redactTokens((e as Error)?.message ?? String(e));
        this.log.info({ requestId: id, error: message }, 'request failed');
        await send(chunk(id, { end: true, error: message })).catch(() => undefined);
      })
      .finally(() => this.inflight.delete(id));
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
