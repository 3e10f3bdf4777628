// The agent's one bidirectional mTLS stream to an API server: Hello, then desired state in and
// status, heartbeats and request answers out. Reconnects with jittered back-off, failing over
// between the --server addresses; the containers keep running meanwhile.
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, status as Status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { fromWire, toWire, type Resource } from '../lib/api/resource.js';
import {
  AgentsClient,
  type AgentMessage,
  type Heartbeat,
  type NodeInfo,
  type RenewedCertificate,
  type ServerMessage,
} from '../lib/gen/persys/v1/agent.js';
import { silentLogger } from '../lib/observability/logger.js';
import type { DesiredStateConsumer } from './desired-router.js';
import type { NodeCredentials } from './join.js';
import type { AgentMetrics } from './metrics.js';
import type { RequestHandler } from './requests.js';

export interface BackoffOptions {
  /** @default 1_000 */
  initialMs?: number;
  /** @default 30_000 */
  maxMs?: number;
  /** @default Math.random */
  random?: () => number;
  /** @default an abortable setTimeout */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Exponential with "equal jitter": half the step fixed, half random, so agents do not reconnect in lockstep. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const initial = opts.initialMs ?? 1_000;
  const max = opts.maxMs ?? 30_000;
  const step = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (opts.random ?? Math.random)() * (step / 2));
}

export interface AgentConnectionOptions {
  /** API server addresses (mTLS port), tried in turn. */
  servers: string[];
  credentials: NodeCredentials;
  /** Where desired state goes and status comes from (the NodeAgent, or a router over several engines). */
  agent: DesiredStateConsumer;
  requests: RequestHandler;
  nodeInfo(): Promise<NodeInfo>;
  /**
   * The heartbeat to send now. Synchronous on purpose: it renews the node's Lease, so it must never
   * wait on the engine; it reports the latest figures some other loop gathered.
   */
  heartbeat(): Heartbeat;
  /** @default 10_000 */
  heartbeatIntervalMs?: number;
  /** A stream that brings no DesiredState within this time is abandoned. @default 30_000 */
  syncTimeoutMs?: number;
  backoff?: BackoffOptions;
  logger?: Logger;
  metrics?: AgentMetrics;
  /** Called whenever the stream becomes usable or is lost. */
  onConnectedChange?(connected: boolean, server: string): void;
  /** Ask for every Service, EndpointSlice and Node too (Hello.service_discovery), for the agent's DNS. @default false */
  serviceDiscovery?: boolean;
}

type Stream = ClientDuplexStream<AgentMessage, ServerMessage>;

// The API server pings on the same 5 s / 5 s (apiserver/server.ts): whichever end outlives the link
// notices within 10 s, the agent to fail over, the server to mark the node's stream lost.
const KEEPALIVE_TIME_MS = 5_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;
/** How long the stream's keepalive may take to declare a silent peer dead; a node grace period should exceed it. */
export const STREAM_KEEPALIVE_DETECTION_MS = KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS;

const CHANNEL_OPTIONS = {
  // FIELD-NOTES: keepalive is off by default; 5 s / 5 s finds a dead server within 10 s.
  'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_reconnect_backoff_ms': 30_000,
};

export class AgentConnection {
  private readonly log: Logger;
  private readonly clients = new Map<string, AgentsClient>();
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  private current?: Stream;
  private isConnected = false;
  /** The credentials the next channel uses (a renewal replaces them; the open stream keeps its own). */
  private credentials: NodeCredentials;
  /** Sends on the established stream; undefined while there is none. */
  private sendOnStream?: (msg: AgentMessage) => Promise<void>;
  private pendingRenewal?: { resolve(r: RenewedCertificate): void; reject(e: Error): void };
  /** The stream is being replaced on purpose: reconnect to the same server at once. */
  private planned = false;
  private readonly idleWaits = new Set<AbortController>();

  constructor(private readonly opts: AgentConnectionOptions) {
    if (!opts.servers.length) throw new Error('no API server address');
    this.log = opts.logger ?? silentLogger();
    this.credentials = opts.credentials;
  }

  /** The credentials used for the next stream. */
  useCredentials(creds: NodeCredentials): void {
    this.credentials = creds;
  }

  /**
   * Sends a CertificateRenewal on the established stream and resolves with the server's answer;
   * rejects when there is no stream, it ends first, or no answer comes within `timeoutMs`.
   */
  requestCertificate(csrPem: string, timeoutMs = 30_000): Promise<RenewedCertificate> {
    const send = this.sendOnStream;
    if (!send) return Promise.reject(new Error('not connected to an API server'));
    if (this.pendingRenewal) return Promise.reject(new Error('a certificate renewal is already in flight'));
    return new Promise<RenewedCertificate>((resolve, reject) => {
      const timer = setTimeout(() => done(undefined, new Error(`no answer to the certificate renewal within ${timeoutMs} ms`)), timeoutMs);
      const done = (r?: RenewedCertificate, e?: Error) => {
        clearTimeout(timer);
        this.pendingRenewal = undefined;
        if (e) reject(e);
        else resolve(r!);
      };
      this.pendingRenewal = { resolve: (r) => done(r), reject: (e) => done(undefined, e) };
      send({ message: { $case: 'renewal', value: { csrPem } } }).catch((e: unknown) => done(undefined, e as Error));
    });
  }

  /**
   * Replaces the stream with a new one (new credentials take effect) once no request is being
   * answered, or after `maxWaitMs` at the latest; the reconnect skips the back-off.
   */
  async reconnectWhenIdle(maxWaitMs = 300_000, pollMs = 1_000): Promise<void> {
    const abort = new AbortController();
    this.idleWaits.add(abort);
    try {
      const deadline = Date.now() + maxWaitMs;
      while (this.opts.requests.active > 0 && Date.now() < deadline && !this.stopping.signal.aborted) {
        await sleep(pollMs, undefined, { signal: AbortSignal.any([abort.signal, this.stopping.signal]) }).catch(() => undefined);
        if (abort.signal.aborted) return;
      }
    } finally {
      this.idleWaits.delete(abort);
    }
    const call = this.current;
    if (!call || this.stopping.signal.aborted) return;
    this.log.info('reconnecting to use the renewed certificate; containers keep running');
    this.planned = true;
    call.cancel();
  }

  get connected(): boolean {
    return this.isConnected;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const w of this.idleWaits) w.abort();
    this.current?.cancel();
    await this.loop;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    const pause = this.opts.backoff?.sleep ?? ((ms, s) => sleep(ms, undefined, { signal: s }).catch(() => undefined));
    let attempt = 0;
    for (let i = 0; !signal.aborted; i++) {
      const server = this.opts.servers[i % this.opts.servers.length]!;
      const { synced, error } = await this.session(server);
      // A fresh channel next time: the old one would fail calls fast during its own reconnect back-off.
      this.clients.get(server)?.close();
      this.clients.delete(server);
      if (signal.aborted) break;
      if (this.planned) {
        // Our own reconnect (a renewed certificate): the same server again, at once.
        this.planned = false;
        attempt = 0;
        i--;
        continue;
      }
      if (synced) attempt = 0;
      const delay = backoffDelay(attempt++, this.opts.backoff);
      if ((error as { code?: number } | undefined)?.code === Status.UNAUTHENTICATED) {
        // Revoked or otherwise refused: retrying will not help until the node joins again.
        this.log.error(
          { server, reason: (error as { details?: string }).details, retryInMs: delay },
          "the API server refused this node's certificate: delete node.crt and node.key from the agent's data dir and start it with a new --token",
        );
        await pause(delay, signal);
        continue;
      }
      this.log.warn(
        { server, err: error, retryInMs: delay, next: this.opts.servers[(i + 1) % this.opts.servers.length] },
        synced ? 'stream to the API server lost; containers keep running' : 'cannot open the stream to the API server',
      );
      await pause(delay, signal);
    }
  }

  private client(server: string): AgentsClient {
    let c = this.clients.get(server);
    if (!c) {
      const { caPem, keyPem, certPem } = this.credentials;
      c = new AgentsClient(server, credentials.createSsl(Buffer.from(caPem), Buffer.from(keyPem), Buffer.from(certPem)), CHANNEL_OPTIONS);
      this.clients.set(server, c);
    }
    return c;
  }

  /** One stream's life; resolves when it ends, saying whether it got as far as a desired state. */
  private session(server: string): Promise<{ synced: boolean; error?: unknown }> {
    const { agent, requests } = this.opts;
    const log = this.log.child({ server });
    return new Promise((resolve) => {
      const call = this.client(server).connect();
      this.current = call;
      let synced = false;
      let ended = false;
      let heartbeatTimer: NodeJS.Timeout | undefined;
      let closed!: () => void;
      const whenClosed = new Promise<void>((r) => (closed = r));

      const send = async (msg: AgentMessage): Promise<void> => {
        if (ended) return;
        // Honour backpressure, or a followed log to a slow server would grow memory without bound.
        if (!call.write(msg)) await Promise.race([new Promise((r) => call.once('drain', r)), whenClosed]);
      };
      const syncTimer = setTimeout(() => {
        log.warn({ timeoutMs: this.opts.syncTimeoutMs ?? 30_000 }, 'no desired state from the API server; reconnecting');
        call.cancel();
      }, this.opts.syncTimeoutMs ?? 30_000);

      const finish = (error?: unknown) => {
        if (ended) return;
        ended = true;
        closed();
        clearTimeout(syncTimer);
        clearInterval(heartbeatTimer);
        if (this.current === call || !this.current) this.sendOnStream = undefined;
        this.pendingRenewal?.reject(new Error('the stream ended before the certificate renewal was answered'));
        agent.detach();
        requests.cancelAll();
        if (this.isConnected) {
          this.isConnected = false;
          this.opts.metrics?.streamConnected.set(0);
          this.opts.onConnectedChange?.(false, server);
        }
        if (!synced) this.opts.metrics?.streamConnects.inc({ result: 'failed' });
        call.removeAllListeners('data');
        call.on('error', () => undefined); // late errors after cancel
        call.cancel();
        if (this.current === call) this.current = undefined;
        resolve({ synced, error });
      };

      // On its own timer, written at once: a slow engine or a pending drain never holds the next one back.
      const beat = () => {
        if (ended) return;
        try {
          send({ message: { $case: 'heartbeat', value: this.opts.heartbeat() } }).catch((e: unknown) => log.warn({ err: e }, 'cannot send a heartbeat'));
        } catch (e) {
          log.warn({ err: e }, 'heartbeat failed');
        }
      };

      const onSynced = () => {
        synced = true;
        clearTimeout(syncTimer);
        this.isConnected = true;
        this.opts.metrics?.streamConnected.set(1);
        this.opts.metrics?.streamConnects.inc({ result: 'connected' });
        this.opts.onConnectedChange?.(true, server);
        log.info('stream to the API server established; desired state received');
        this.sendOnStream = send;
        // A new stream starts with every status, then only changes.
        agent.attach((objects: Resource[]) => {
          send({ message: { $case: 'status', value: { objects: objects.map((o) => toWire(o)) } } }).catch((e: unknown) =>
            log.warn({ err: e }, 'cannot send status'),
          );
        });
        beat();
        heartbeatTimer = setInterval(beat, this.opts.heartbeatIntervalMs ?? 10_000);
      };

      call.on('data', (msg: ServerMessage) => {
        const m = msg.message;
        try {
          switch (m?.$case) {
            case 'desired':
              agent.setDesired(m.value.objects.map((o) => fromWire(o)).filter((o): o is Resource => !!o));
              if (!synced) onSynced();
              break;
            case 'change': {
              const obj = fromWire(m.value.object);
              const type = m.value.type === 'DELETE' ? 'DELETE' : m.value.type === 'UPSERT' ? 'UPSERT' : undefined;
              if (obj && type) agent.applyChange(type, obj);
              else log.warn({ type: m.value.type }, 'ignoring a malformed desired change');
              break;
            }
            case 'request':
              requests.handle(m.value, (chunk) => send({ message: { $case: 'chunk', value: chunk } }));
              break;
            case 'cancel':
              requests.cancel(m.value.requestId);
              break;
            case 'input':
              if (m.value.input) requests.input(m.value.requestId, m.value.input);
                break;
            case 'certificate':
              if (this.pendingRenewal) this.pendingRenewal.resolve(m.value);
              else log.warn('ignoring a certificate nobody asked for');
              break;
          }
        } catch (e) {
          log.error({ err: e }, 'cannot handle a server message');
        }
      });
      call.on('error', (e) => finish(e));
      call.on('end', () => finish(new Error('the API server ended the stream')));

      this.opts
        .nodeInfo()
        .then((node) => send({ message: { $case: 'hello', value: { node, serviceDiscovery: !!this.opts.serviceDiscovery } } }))
        .catch((e: unknown) => {
          log.error({ err: e }, 'cannot send Hello');
          finish(e);
        });
    });
  }
}
