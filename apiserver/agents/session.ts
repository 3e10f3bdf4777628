// One node agent's stream on this API server: Hello registers the Node, then the node's desired
// state flows out (snapshot, then changes from the watch caches) while heartbeats, status reports and
// request answers flow in. etcd is written only on change, plus the Lease renewal per heartbeat, and
// a mark on the Lease when the stream breaks from the agent's side (the node controller's fast path).
import { status as Code, Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { AGENT_STREAM_LOST_ANNOTATION, AGENT_STREAM_SERVER_ANNOTATION } from '../../lib/api/annotations.js';
import { API_VERSION, findKind } from '../../lib/api/kinds.js';
import { fromWire, toWire, type Resource } from '../../lib/api/resource.js';
import type {
  AgentMessage,
  AgentRequest,
  ContainerUsage,
  ExecInput,
  Heartbeat,
  NodeInfo,
  RenewedCertificate,
  ServerMessage,
  StreamChunk,
} from '../../lib/gen/persys/v1/agent.js';
import type { NodeUsage } from '../../lib/gen/persys/v1/cluster.js';
import type { ResourceList } from '../../lib/gen/persys/v1/meta.js';
import { ApiStatusError } from '../api/status.js';
import { NODE_LEASE_NAMESPACE } from '../registry/bootstrap.js';
import { effectiveNamespace, objectKey } from '../registry/keys.js';
import { clone, deepEqual } from '../registry/merge.js';
import type { ResourceStore } from '../registry/store.js';
import type { WatchHub } from '../watch/hub.js';
import type { Watcher } from '../watch/watcher.js';
import type { WatchEvent } from '../watch/event.js';
import { DISCOVERY_KINDS, NodeDiscoveryState, sharedWire } from './discovery.js';
import type { Object as WireObject } from '../../lib/gen/persys/v1/api.js';
import { CONFIG_KINDS, isBoundTo, NODE_BOUND_KINDS, NodeDesiredState, type DesiredChange } from './desired.js';
import type { AgentHubMetrics } from './metrics.js';
import { conditionOf } from '../../lib/api/conditions.js';
import { statusAfterAgentConditions, statusAfterDockerHealth, statusAfterHello, type NodeStatusJson } from './node-status.js';
import type { LeaseObject, NodeObject } from '../../lib/api/typed.js';

export type AgentStream = ServerDuplexStream<AgentMessage, ServerMessage>;

export interface SessionDeps {
  store: ResourceStore;
  watches: WatchHub;
  log: Logger;
  metrics?: AgentHubMetrics;
  /** Written into the node's Lease; the node controller declares the node lost after it. @default 40 */
  leaseDurationSeconds?: number;
  /** This API server's address, written on the node's Lease so peers can relay requests for the node here. */
  streamServer?: () => string;
  /** Signs a renewal CSR for the node (node-signer.ts); absent, renewals are answered with an error. */
  renewCertificate?: (node: string, csrPem: string) => Promise<RenewedCertificate>;
}

/** Where the answer to one AgentRequest goes. */
export interface RequestSink {
  chunk(c: StreamChunk): void;
  /** The request can get no more chunks (the stream closed). */
  failed(err: ApiStatusError): void;
}

export interface LastHeartbeat {
  at: string;
  usage?: NodeUsage;
  containers: ContainerUsage[];
}

/** Agent messages read ahead of the one being handled before the stream is paused. */
const MAX_PENDING = 16;
const nowRfc3339 = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const isCode = (err: unknown, ...codes: Code[]) => err instanceof ApiStatusError && codes.includes(err.code);

export class AgentSession {
  readonly log: Logger;
  /** Set after Hello: what the agent reported, for Top. */
  allocatable?: ResourceList;
  lastHeartbeat?: LastHeartbeat;
  private closed = false;
  private onClosed!: () => void;
  private readonly whenClosed = new Promise<void>((r) => (this.onClosed = r));
  private hello = false;
  private watchers: Watcher[] = [];
  private readonly requests = new Map<string, RequestSink>();
  private dockerHealthy?: boolean;
  /** The agent-owned conditions last written (JSON), so an unchanged heartbeat writes nothing. */
  private agentConditions?: string;
  private nodeUid?: string;
  private lease?: LeaseObject;
  /** Hello is handled and the desired state sent: heartbeats may now skip the line. */
  private streaming = false;
  private heartbeating = false;
  private nextHeartbeat?: Heartbeat;
  /** The heartbeats being handled (a Lease renewal may be in flight when the stream breaks). */
  private heartbeats: Promise<void> = Promise.resolve();
  private readonly identity: string;

  constructor(
    readonly node: string,
    private readonly call: AgentStream,
    private readonly deps: SessionDeps,
    private readonly onEnd: (s: AgentSession) => void,
  ) {
    this.log = deps.log.child({ node });
    this.identity = `system:node:${node}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Handles the agent's messages in order, one at a time, pausing the stream while MAX_PENDING wait (so
   * a busy server slows the agent). Heartbeats skip that line once the stream is set up: the node's
   * Lease must not wait behind a burst of status writes.
   */
  start(): void {
    const call = this.call;
    const pending: AgentMessage[] = [];
    let working = false;
    const work = async () => {
      if (working) return;
      working = true;
      try {
        for (let msg = pending.shift(); msg && !this.closed; msg = pending.shift()) {
          await this.handle(msg).catch((err: unknown) => this.failed(err));
          if (pending.length < MAX_PENDING && call.isPaused() && !this.closed) call.resume();
        }
      } finally {
        working = false;
      }
    };
    call.on('data', (msg: AgentMessage) => {
      if (this.streaming && msg.message?.$case === 'heartbeat') return this.heartbeatNow(msg.message.value);
      pending.push(msg);
      if (pending.length >= MAX_PENDING) call.pause();
      void work();
    });
    // Whatever ends the stream from the agent's side (a process or host gone, its link silent past
    // keepalive, or a stop: a crashed agent's stream also arrives as a clean end) is marked on the
    // Lease, so the node controller need not wait out the lease grace. Closes of our own are not.
    call.on('end', () => {
      if (this.closed) return;
      this.finish('agent ended the stream', { lost: true });
      call.end();
    });
    call.on('cancelled', () => this.finish('agent cancelled the stream', { lost: true }));
    call.on('error', (err) => this.finish(`stream error: ${err.message}`, { lost: true }));
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    if (err instanceof ApiStatusError && err.code === Code.INVALID_ARGUMENT) return this.close(err.code, err.message);
    this.log.error({ err }, 'cannot handle an agent message');
    this.close(Code.UNAVAILABLE, `the API server could not handle a message: ${(err as Error).message}; reconnect`);
  }

  /** One heartbeat handled at a time; of those arriving meanwhile only the latest is kept (it carries the freshest usage). */
  private heartbeatNow(hb: Heartbeat): void {
    this.deps.metrics?.messages.inc({ type: 'heartbeat' });
    if (this.heartbeating) {
      this.nextHeartbeat = hb;
      return;
    }
    this.heartbeating = true;
    this.heartbeats = (async () => {
      for (let next: Heartbeat | undefined = hb; next && !this.closed; ) {
        await this.onHeartbeat(next).catch((err: unknown) => this.failed(err));
        next = this.nextHeartbeat;
        this.nextHeartbeat = undefined;
      }
    })().finally(() => (this.heartbeating = false));
  }

  /** Ends the stream with a status the agent sees (it reconnects after UNAVAILABLE / ABORTED). */
  close(code: Code, message: string): void {
    if (this.closed) return;
    this.finish(message);
    const call = this.call as AgentStream & { cancelled?: boolean };
    if (call.destroyed || call.cancelled) return;
    call.emit('error', Object.assign(new Error(message), { code, details: message, metadata: new Metadata() }));
  }

  /** Sends one message, waiting while the agent is slow to read; resolves without sending once closed. */
  async send(msg: ServerMessage): Promise<void> {
    if (this.closed) return;
    if (this.call.write(msg)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.call.off('drain', done);
        resolve();
      };
      this.call.on('drain', done);
      void this.whenClosed.then(done);
    });
  }

  /** Sends an AgentRequest whose chunks go to `sink` until one ends it or cancelRequest is called. */
  openRequest(request: AgentRequest, sink: RequestSink): void {
    if (this.closed) return sink.failed(new ApiStatusError(Code.UNAVAILABLE, `node "${this.node}" disconnected`));
    this.requests.set(request.requestId, sink);
    void this.send({ message: { $case: 'request', value: request } });
  }

  /** Relays input for an open request (an interactive exec), waiting while the agent is slow to read. */
  async sendInput(requestId: string, input: ExecInput): Promise<void> {
    if (!this.requests.has(requestId)) return;
    await this.send({ message: { $case: 'input', value: { requestId, input } } });
  }

  cancelRequest(requestId: string): void {
    if (!this.requests.delete(requestId)) return;
    void this.send({ message: { $case: 'cancel', value: { requestId } } });
  }

  private finish(why: string, opts: { lost?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    for (const w of this.watchers) w.close();
    this.watchers = [];
    const err = new ApiStatusError(Code.UNAVAILABLE, `node "${this.node}" disconnected from this API server`);
    for (const sink of this.requests.values()) sink.failed(err);
    this.requests.clear();
    this.log.info({ why }, 'agent stream closed');
    this.onEnd(this);
    if (opts.lost) void this.markStreamLost();
  }

  /**
   * Notes on the Lease when the stream was lost. Written with the resourceVersion of this session's
   * last renewal, so a newer stream (here or on another API server) that renewed since wins.
   */
  private async markStreamLost(): Promise<void> {
    await this.heartbeats.catch(() => undefined);
    const lease = this.lease;
    if (!lease) return;
    const next = clone(lease);
    next.metadata.annotations = { ...next.metadata.annotations, [AGENT_STREAM_LOST_ANNOTATION]: new Date().toISOString() };
    try {
      await this.deps.store.update(next, { identity: this.identity });
      this.log.info('agent stream lost: marked on the node Lease');
    } catch (err) {
      if (isCode(err, Code.ABORTED, Code.NOT_FOUND)) return this.log.debug('the node Lease changed since: the agent is back or the Node is gone');
      this.log.warn({ err }, 'cannot mark the node Lease: the node controller falls back on its lease grace period');
    }
  }

  private async handle(msg: AgentMessage): Promise<void> {
    const m = msg.message;
    this.deps.metrics?.messages.inc({ type: m?.$case ?? 'empty' });
    if (!this.hello) {
      if (m?.$case !== 'hello') throw new ApiStatusError(Code.INVALID_ARGUMENT, 'the first message of the agent stream must be Hello');
      this.hello = true;
      await this.onHello(m.value.node ?? ({ labels: {}, addresses: [] } as unknown as NodeInfo));
      if (!this.closed) await this.startDesiredState(m.value.serviceDiscovery);
      this.streaming = true;
      return;
    }
    switch (m?.$case) {
      case 'hello':
        throw new ApiStatusError(Code.INVALID_ARGUMENT, 'Hello may only be the first message of the agent stream');
      case 'heartbeat':
        return this.onHeartbeat(m.value);
      case 'status':
        return this.onStatus(m.value.objects.map((o) => fromWire(o)).filter((o): o is Resource => !!o));
      case 'chunk':
        return this.onChunk(m.value);
      case 'renewal':
        return this.onRenewal(m.value.csrPem);
    }
  }

  /** A new certificate for the node's new key, answered on the stream (the agent switches to it itself). */
  private async onRenewal(csrPem: string): Promise<void> {
    const renew = this.deps.renewCertificate;
    const answer: RenewedCertificate = renew
      ? await renew(this.node, csrPem)
      : { certificatePem: '', caCertificatePem: '', error: 'UNAVAILABLE: this API server cannot renew node certificates; ask again later' };
    await this.send({ message: { $case: 'certificate', value: answer } });
  }

  private async onHello(info: NodeInfo): Promise<void> {
    const labels = info.labels ?? {};
    for (let attempt = 0; ; attempt++) {
      let node = await this.deps.store.get('Node', '', this.node).catch((err: unknown) => {
        if (isCode(err, Code.NOT_FOUND)) return undefined;
        throw err;
      });
      try {
        if (!node) {
          node = await this.deps.store.create(
            { apiVersion: API_VERSION, kind: 'Node', metadata: { name: this.node, labels: Object.keys(labels).length ? labels : undefined }, spec: {} },
            { identity: this.identity },
          );
        } else if (Object.entries(labels).some(([k, v]) => node!.metadata.labels?.[k] !== v)) {
          const next = clone(node);
          next.metadata.labels = { ...node.metadata.labels, ...labels };
          node = await this.deps.store.update(next, { identity: this.identity });
        }
      } catch (err) {
        if (attempt < 5 && isCode(err, Code.ALREADY_EXISTS, Code.ABORTED)) continue;
        throw err;
      }
      this.nodeUid = node.metadata.uid;
      break;
    }
    this.allocatable = info.allocatable;
    const now = nowRfc3339();
    const written = await this.patchNodeStatus((prev) => statusAfterHello(prev, info, now));
    const docker = conditionOf(written?.status, 'DockerReady')?.status;
    this.dockerHealthy = docker === 'True' ? true : docker === 'False' ? false : undefined;
    this.log.info({ agentVersion: info.agentVersion }, 'agent connected');
  }

  /** Read-modify-write of the Node's status; `mutate` returns undefined for "no change". */
  private async patchNodeStatus(mutate: (prev: NodeStatusJson | undefined) => NodeStatusJson | undefined): Promise<NodeObject | undefined> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.deps.store.get('Node', '', this.node);
      const status = mutate(cur.status);
      if (status === undefined || deepEqual(status, cur.status)) return cur;
      try {
        return await this.deps.store.updateStatus(
          { apiVersion: API_VERSION, kind: 'Node', metadata: { name: this.node, resourceVersion: cur.metadata.resourceVersion }, status },
          { identity: this.identity },
        );
      } catch (err) {
        if (attempt < 5 && isCode(err, Code.ABORTED)) continue;
        throw err;
      }
    }
  }

  /**
   * The snapshots and the watches are taken in one synchronous step, so no change can fall between
   * what the snapshot holds and what the watches deliver.
   */
  private async startDesiredState(serviceDiscovery: boolean): Promise<void> {
    const configCaches = new Map(CONFIG_KINDS.map((k) => [k, { cache: this.deps.watches.cache(k), info: findKind(k)! }]));
    const desired = new NodeDesiredState(this.node, ({ kind, namespace, name }) => {
      const c = configCaches.get(kind)!;
      return c.cache.get(objectKey(c.info, namespace, name));
    });
    const node = this.node;
    const objects: Resource[] = [];
    const workloadWatches: Watcher[] = [];
    const revisions: string[] = [];
    for (const kind of NODE_BOUND_KINDS) {
      const cache = this.deps.watches.cache(kind);
      const snap = cache.unorderedSnapshot();
      objects.push(...desired.initial(snap.objects));
      workloadWatches.push(cache.watch({ fromRevision: snap.revision, filter: (o) => isBoundTo(o, node) }));
      revisions.push(snap.revision);
    }
    const configWatches = [...configCaches.values()].map(({ cache }) =>
      cache.watch({ fromRevision: cache.currentRevision(), filter: (o) => desired.isReferenced(o) }),
    );
    this.watchers.push(...workloadWatches, ...configWatches);
    // Cluster-wide, for the agent's DNS: every Service, EndpointSlice and Node, trimmed and encoded once for all sessions.
    const discovery = new NodeDiscoveryState();
    const discoveryObjects: Resource[] = [];
    const discoveryWatches: Watcher[] = [];
    if (serviceDiscovery) {
      for (const kind of DISCOVERY_KINDS) {
        const cache = this.deps.watches.cache(kind);
        const snap = cache.unorderedSnapshot();
        discoveryObjects.push(...discovery.initial(snap.objects));
        discoveryWatches.push(cache.watch({ fromRevision: snap.revision }));
      }
      this.watchers.push(...discoveryWatches);
    }
    const wire = [...objects.map((o) => toWire(o)), ...discoveryObjects.map(sharedWire)];
    await this.send({ message: { $case: 'desired', value: { objects: wire } } });
    this.log.info({ objects: objects.length, discovery: discoveryObjects.length, revisions }, 'desired state sent');
    for (const w of workloadWatches) void this.pump(w, (ev) => desired.onWorkload(ev));
    for (const w of configWatches) void this.pump(w, (ev) => desired.onConfig(ev));
    for (const w of discoveryWatches) void this.pump(w, (ev) => discovery.onEvent(ev), sharedWire);
  }

  private async pump(w: Watcher, changesFor: (ev: WatchEvent) => DesiredChange[], encode: (o: Resource) => WireObject = (o) => toWire(o)): Promise<void> {
    try {
      for await (const ev of w.events) {
        if (this.closed) return;
        for (const ch of changesFor(ev)) {
          await this.send({ message: { $case: 'change', value: { type: ch.type, object: encode(ch.object) } } });
        }
      }
    } catch (err) {
      if (this.closed) return;
      this.log.warn({ err }, 'desired state watch ended; closing the stream so the agent re-syncs');
      this.close(Code.UNAVAILABLE, `desired state watch ended (${(err as Error).message}): reconnect`);
    }
  }

  private async onHeartbeat(hb: Heartbeat): Promise<void> {
    const now = new Date().toISOString();
    this.lastHeartbeat = { at: now.replace(/\.\d{3}Z$/, 'Z'), usage: hb.usage, containers: hb.containers };
    await this.renewLease(now);
    if (this.dockerHealthy !== hb.dockerHealthy) {
      const at = nowRfc3339();
      await this.patchNodeStatus((prev) => statusAfterDockerHealth(prev, hb.dockerHealthy, hb.dockerMessage, at));
      this.dockerHealthy = hb.dockerHealthy;
      this.log.info({ dockerHealthy: hb.dockerHealthy, message: hb.dockerMessage }, 'Docker condition changed');
    }
    const reported = JSON.stringify(hb.conditions.map((c) => [c.type, c.status, c.reason, c.message]));
    if (this.agentConditions !== reported) {
      const at = nowRfc3339();
      await this.patchNodeStatus((prev) => statusAfterAgentConditions(prev, hb.conditions, at));
      this.agentConditions = reported;
    }
  }

  private streamAnnotation(): Record<string, string> | undefined {
    const server = this.deps.streamServer?.();
    return server ? { [AGENT_STREAM_SERVER_ANNOTATION]: server } : undefined;
  }

  /** One write per heartbeat: the Lease is updated with the resourceVersion of the last write. */
  private async renewLease(now: string): Promise<void> {
    const duration = this.deps.leaseDurationSeconds ?? 40;
    const store = this.deps.store;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        if (!this.lease) {
          this.lease = await store.get('Lease', NODE_LEASE_NAMESPACE, this.node).catch(async (err: unknown) => {
            if (!isCode(err, Code.NOT_FOUND)) throw err;
            return store.create(
              {
                apiVersion: API_VERSION,
                kind: 'Lease',
                metadata: {
                  name: this.node,
                  namespace: NODE_LEASE_NAMESPACE,
                  annotations: this.streamAnnotation(),
                  // Deleting the Node takes its Lease with it.
                  ownerReferences: this.nodeUid ? [{ apiVersion: API_VERSION, kind: 'Node', name: this.node, uid: this.nodeUid }] : undefined,
                },
                spec: { holderIdentity: this.node, leaseDurationSeconds: duration, acquireTime: now, renewTime: now },
              },
              { identity: this.identity },
            );
          });
          if (this.lease.spec?.renewTime === now) return;
        }
        const next = clone(this.lease);
        next.spec = { ...next.spec, holderIdentity: this.node, leaseDurationSeconds: duration, renewTime: now };
        next.metadata.annotations = { ...next.metadata.annotations, ...this.streamAnnotation() };
        // A renewal proves the agent back: whatever stream loss was marked is over.
        delete next.metadata.annotations[AGENT_STREAM_LOST_ANNOTATION];
        this.lease = await store.update(next, { identity: this.identity });
        return;
      } catch (err) {
        if (!isCode(err, Code.ABORTED, Code.NOT_FOUND, Code.ALREADY_EXISTS)) throw err;
        this.lease = undefined;
      }
    }
    this.log.warn('could not renew the node Lease after several conflicts');
  }

  /** Writes each reported status that differs from the stored one, for objects bound to this node only. */
  private async onStatus(objects: Resource[]): Promise<void> {
    const metrics = this.deps.metrics?.statusWrites;
    for (const obj of objects) {
      const info = findKind(obj.kind);
      if (!info?.hasStatus) {
        this.log.warn({ kind: obj.kind }, 'status report for a kind without status ignored');
        metrics?.inc({ outcome: 'ignored' });
        continue;
      }
      const ns = effectiveNamespace(info, obj.metadata.namespace);
      const cached = this.deps.watches.cache(info.kind).get(objectKey(info, ns, obj.metadata.name ?? ''));
      const where = { kind: info.kind, namespace: ns || undefined, name: obj.metadata.name };
      if (!cached) {
        this.log.debug(where, 'status report for an object that no longer exists ignored');
        metrics?.inc({ outcome: 'ignored' });
        continue;
      }
      if (cached.spec?.nodeName !== this.node) {
        this.log.warn({ ...where, boundTo: cached.spec?.nodeName || undefined }, 'status report for an object not bound to this node ignored');
        metrics?.inc({ outcome: 'ignored' });
        continue;
      }
      if (obj.metadata.uid && obj.metadata.uid !== cached.metadata.uid) {
        this.log.debug(where, 'status report for an older object of the same name ignored');
        metrics?.inc({ outcome: 'ignored' });
        continue;
      }
      if (sameStatus(cached, obj)) {
        metrics?.inc({ outcome: 'unchanged' });
        continue;
      }
      try {
        await this.deps.store.updateStatus(
          { apiVersion: API_VERSION, kind: info.kind, metadata: { name: obj.metadata.name, namespace: ns || undefined, uid: cached.metadata.uid }, status: obj.status },
          { identity: this.identity },
        );
        metrics?.inc({ outcome: 'written' });
      } catch (err) {
        // The object went away or was replaced meanwhile: the next report settles it.
        if (!isCode(err, Code.NOT_FOUND, Code.ABORTED, Code.INVALID_ARGUMENT)) throw err;
        this.log.warn({ ...where, err }, 'status not written');
      }
    }
  }

  private onChunk(chunk: StreamChunk): void {
    const sink = this.requests.get(chunk.requestId);
    if (!sink) return; // late answer to a cancelled request
    if (chunk.end || chunk.error) this.requests.delete(chunk.requestId);
    sink.chunk(chunk);
  }
}

/** Compares statuses in their wire form, so defaults and field order do not count as changes. */
function sameStatus(stored: Resource, reported: Resource): boolean {
  const info = findKind(stored.kind)!;
  const norm = (o: Resource) => (info.codec.toJSON(info.codec.fromJSON({ ...o, metadata: {} })) as Resource).status ?? {};
  return deepEqual(norm(stored), norm({ ...stored, status: reported.status }));
}
