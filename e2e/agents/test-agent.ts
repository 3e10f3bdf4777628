// A minimal node agent for tests: joins through the real join port with a real token and CSR, then
// speaks Agents.Connect over real mTLS with the generated client. It is a gRPC peer, not a mock of
// the server: tests drive what it sends and inspect what the API server sends it.
import { credentials, Metadata, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { fromWire, type Resource } from '../../lib/api/resource.js';
import {
  AgentsClient,
  type AgentMessage,
  type AgentRequest,
  type ExecInput,
  type Heartbeat,
  type NodeInfo,
  type ServerMessage,
  type StreamChunk,
} from '../../lib/gen/persys/v1/agent.js';
import { OperationsClient } from '../../lib/client/operations.js';
import { createCsr } from '../../lib/pki/index.js';
import type { TestApiServer } from '../harness/apiserver.js';

export interface NodeCredentials {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export function joinClient(api: TestApiServer, caPem: string): AgentsClient {
  return new AgentsClient(`127.0.0.1:${api.server.joinPort}`, credentials.createSsl(Buffer.from(caPem)));
}

/** Calls Join; resolves to the response or rejects with the ServiceError. */
export function callJoin(client: AgentsClient, token: string, nodeName: string, csrPem: string) {
  return new Promise<{ certificatePem: string; caCertificatePem: string }>((resolve, reject) =>
    client.join({ token, nodeName, csrPem }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

/** Creates a token as the admin and joins `node` with it: the node's own key and certificate. */
export async function joinAsNode(api: TestApiServer, caPem: string, node: string): Promise<NodeCredentials> {
  const ops = new OperationsClient(api.config);
  try {
    const { token } = await ops.createJoinToken({ ttlSeconds: 600 });
    const { csrPem, keyPem } = await createCsr(`system:node:${node}`);
    const client = joinClient(api, caPem);
    try {
      const res = await callJoin(client, token, node, csrPem);
      return { certPem: res.certificatePem, keyPem, caPem: res.caCertificatePem };
    } finally {
      client.close();
    }
  } finally {
    ops.close();
  }
}

export const nodeInfo = (labels: Record<string, string> = {}): NodeInfo => ({
  capacity: { cpu: '4', memory: '8Gi' },
  allocatable: { cpu: '3900m', memory: '7936Mi' },
  dockerVersion: '24.0.7',
  addresses: [{ type: 'InternalIP', address: '10.0.0.7' }],
  labels,
  os: 'linux',
  architecture: 'amd64',
  agentVersion: 'test',
});

export const heartbeat = (fields: Partial<Heartbeat> = {}): Heartbeat => ({
  usage: { cpuPercent: 12.5, memoryBytes: '1048576', diskReadBytesPerSecond: '0', diskWriteBytesPerSecond: '0', networkRxBytesPerSecond: '10', networkTxBytesPerSecond: '20' },
  containers: [],
  dockerHealthy: true,
  dockerMessage: '',
  conditions: [],
  ...fields,
});

/** How the test agent answers AgentRequests: by sending chunks through `send`. */
export type RequestAnswerer = (req: AgentRequest, send: (chunk: Partial<StreamChunk>) => void, cancelled: AbortSignal) => void;
/** How the test agent answers input for an interactive exec it is answering. */
export type InputAnswerer = (req: AgentRequest, input: ExecInput, send: (chunk: Partial<StreamChunk>) => void) => void;

export class TestAgent {
  readonly received: ServerMessage[] = [];
  /** Resolves when the stream ends: undefined for OK, else the error status. */
  readonly ended: Promise<ServiceError | undefined>;
  readonly cancels: string[] = [];
  private readonly client: AgentsClient;
  private readonly stream: ClientDuplexStream<AgentMessage, ServerMessage>;
  private waiters: (() => void)[] = [];
  private readonly inflight = new Map<string, AbortController>();
  answer?: RequestAnswerer;
  answerInput?: InputAnswerer;
  /** Every RequestInput received, in order. */
  readonly inputs: { requestId: string; input: ExecInput }[] = [];
  private readonly open = new Map<string, { req: AgentRequest; send: (chunk: Partial<StreamChunk>) => void }>();

  constructor(api: TestApiServer, creds: NodeCredentials) {
    this.client = new AgentsClient(
      `127.0.0.1:${api.server.port}`,
      credentials.createSsl(Buffer.from(creds.caPem), Buffer.from(creds.keyPem), Buffer.from(creds.certPem)),
    );
    this.stream = this.client.connect();
    this.stream.on('data', (m: ServerMessage) => {
      this.received.push(m);
      if (m.message?.$case === 'request') this.onRequest(m.message.value);
      if (m.message?.$case === 'input' && m.message.value.input) {
        const { requestId, input } = m.message.value;
        this.inputs.push({ requestId, input: input! });
        const open = this.open.get(requestId);
        if (open) this.answerInput?.(open.req, input!, open.send);
      }
      if (m.message?.$case === 'cancel') {
        this.cancels.push(m.message.value.requestId);
        this.inflight.get(m.message.value.requestId)?.abort();
      }
      this.wake();
    });
    this.ended = new Promise((resolve) => {
      this.stream.on('error', (e: ServiceError) => resolve(e));
      this.stream.on('end', () => resolve(undefined));
    });
    void this.ended.then(() => this.wake());
  }

  send(msg: AgentMessage['message']): void {
    this.stream.write({ message: msg });
  }

  hello(info: NodeInfo = nodeInfo(), serviceDiscovery = false): void {
    this.send({ $case: 'hello', value: { node: info, serviceDiscovery } });
  }

  heartbeat(hb: Heartbeat = heartbeat()): void {
    this.send({ $case: 'heartbeat', value: hb });
  }

  /** Waits for the first received message (from index `from`) satisfying `pick`. */
  async waitFor<T>(pick: (m: ServerMessage) => T | undefined, from = 0, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.received.length; i++) {
        const v = pick(this.received[i]!);
        if (v !== undefined) return v;
      }
      if (Date.now() > deadline) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.summary())}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The objects of the first DesiredState. */
  desired(): Promise<Resource[]> {
    return this.waitFor((m) => (m.message?.$case === 'desired' ? m.message.value.objects.map((o) => fromWire(o)!) : undefined));
  }

  /** Desired changes received so far, as "TYPE Kind/ns/name". */
  changes(): string[] {
    return this.received.flatMap((m) => {
      if (m.message?.$case !== 'change') return [];
      const o = fromWire(m.message.value.object)!;
      return [`${m.message.value.type} ${o.kind}/${o.metadata.namespace}/${o.metadata.name}`];
    });
  }

  summary(): string[] {
    return this.received.map((m) => m.message?.$case ?? 'empty');
  }

  close(): void {
    this.stream.cancel();
    this.client.close();
  }

  private onRequest(req: AgentRequest): void {
    const abort = new AbortController();
    this.inflight.set(req.requestId, abort);
    const send = (c: Partial<StreamChunk>) =>
      this.send({ $case: 'chunk', value: { requestId: req.requestId, stream: 'stdout', data: Buffer.alloc(0), end: false, exitCode: 0, error: '', errorCode: 0, ...c } });
    this.open.set(req.requestId, { req, send });
    this.answer?.(req, send, abort.signal);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
