// The agent hub: the Agents.Connect side of the API server. One session per node on this server
// (a newer stream for the same node replaces the older), and what Operations needs of them:
// the session to send a request through, and the usage figures last heartbeats carried (Top).
import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AgentMessage, ContainerUsage, NodeTop, RenewedCertificate, ServerMessage, TopResponse } from '../../lib/gen/persys/v1/agent.js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { callerIdentity, nodeNameOf } from '../api/authz.js';
import { nodeCertificateOf, revocationRefusal, type NodeCertificatesLookup } from '../api/revocation.js';
import { ApiStatusError } from '../api/status.js';
import { SYSTEM_NAMESPACE } from '../registry/bootstrap.js';
import { entriesOf, NODE_CERTIFICATES_LABEL, recordNodeCertificate } from './node-certificates.js';
import type { ResourceStore } from '../registry/store.js';
import type { WatchHub } from '../watch/hub.js';
import type { AgentHubMetrics } from './metrics.js';
import { AgentSession } from './session.js';

export interface AgentHubOptions {
  store: ResourceStore;
  watches: WatchHub;
  logger: Logger;
  metrics?: AgentHubMetrics;
  /** @default 40 */
  leaseDurationSeconds?: number;
  /** This API server's address for peers (written on each connected node's Lease). */
  streamServer?: () => string;
  /** Signs a node's renewal CSR (node-signer.ts). */
  renewCertificate?: (node: string, csrPem: string) => Promise<RenewedCertificate>;
  /** The watch cache's record of a node's certificates: revoked streams are closed, unrecorded ones recorded. */
  nodeCertificates?: NodeCertificatesLookup;
}

export class AgentHub {
  private readonly sessions = new Map<string, AgentSession>();
  /** The certificate serial each session's stream was opened with. */
  private readonly serials = new WeakMap<AgentSession, string>();
  private readonly log: Logger;
  private stopped = false;
  private readonly unsubscribe?: () => void;

  constructor(private readonly opts: AgentHubOptions) {
    this.log = opts.logger.child({ component: 'agent-hub' });
    // Every API server closes the streams it holds of a node once the node's record says revoked.
    if (opts.nodeCertificates) {
      this.unsubscribe = opts.watches.onChange((ev) => {
        const o = ev.object;
        const node = o?.kind === 'ConfigMap' && o.metadata.namespace === SYSTEM_NAMESPACE ? o.metadata.labels?.[NODE_CERTIFICATES_LABEL] : undefined;
        if (node && ev.type !== 'DELETED') this.closeIfRevoked(node);
      });
    }
  }

  /** Closes `node`'s stream here with UNAUTHENTICATED when its certificate is revoked. */
  closeIfRevoked(node: string): void {
    const session = this.session(node);
    const serial = session && this.serials.get(session);
    const lookup = this.opts.nodeCertificates;
    if (!session || !serial || !lookup) return;
    const refusal = revocationRefusal(lookup, node, serial);
    if (!refusal) return;
    this.log.warn({ node, serial }, 'node certificate revoked: closing its stream');
    session.close(Code.UNAUTHENTICATED, refusal);
  }

  /** The open stream of `node` on this API server, if any. */
  session(node: string): AgentSession | undefined {
    const s = this.sessions.get(node);
    return s && !s.isClosed ? s : undefined;
  }

  connectedNodes(): string[] {
    return [...this.sessions.keys()].sort();
  }

  /** Serves one Agents.Connect stream. The authz interceptor has already checked it is a node certificate. */
  connect(call: ServerDuplexStream<AgentMessage, ServerMessage>): void {
    const id = callerIdentity(call);
    const node = id && nodeNameOf(id);
    if (!node || this.stopped) {
      const [code, details] = node ? [Code.UNAVAILABLE, 'the API server is shutting down'] : [Code.PERMISSION_DENIED, 'node certificates may only use the agent stream'];
      call.emit('error', Object.assign(new Error(details), { code, details }));
      return;
    }
    const old = this.sessions.get(node);
    const session = new AgentSession(node, call, { ...this.opts, log: this.log, renewCertificate: this.opts.renewCertificate }, (s) => {
      if (this.sessions.get(node) === s) {
        this.sessions.delete(node);
        this.opts.metrics?.connected.set(this.sessions.size);
      }
    });
    this.sessions.set(node, session);
    this.opts.metrics?.connected.set(this.sessions.size);
    old?.close(Code.ABORTED, `a newer stream of node "${node}" replaced this one`);
    const cert = nodeCertificateOf(call as never);
    if (cert) {
      this.serials.set(session, cert.serial);
      this.recordIfUnknown(node, cert.serial, call.getAuthContext()?.sslPeerCertificate as PeerCertificate | undefined);
    }
    session.start();
  }

  /**
   * A certificate signed before records existed (or by another tool with the CA key) is recorded
   * when first seen, so that `persys node revoke` covers it too.
   */
  private recordIfUnknown(node: string, serial: string, peer: PeerCertificate | undefined): void {
    const lookup = this.opts.nodeCertificates;
    if (!lookup || entriesOf(lookup(node))[serial] || !peer?.valid_to) return;
    const notAfter = new Date(peer.valid_to);
    if (Number.isNaN(notAfter.getTime())) return;
    recordNodeCertificate(this.opts.store, node, { serial, notAfter }, { identity: `system:node:${node}` }).then(
      () => this.log.info({ node, serial }, 'recorded the certificate of a node stream'),
      (err: unknown) => this.log.warn({ err, node }, 'cannot record the certificate of a node stream; `persys node revoke` will not know it'),
    );
  }

  /** Agents.Connect for the mTLS port; Join is answered on the join port only. */
  service(): UntypedServiceImplementation {
    return {
      connect: (call: ServerDuplexStream<AgentMessage, ServerMessage>) => this.connect(call),
      join: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        callback({ code: Code.UNIMPLEMENTED, details: 'Join is served on the join port (TLS without a client certificate), not on the API port' }),
    };
  }

  /** Usage from the last heartbeat of each node connected here. */
  top(what: string, namespace = ''): TopResponse {
    if (what === 'nodes') {
      const nodes: NodeTop[] = [...this.sessions.values()]
        .filter((s) => !s.isClosed)
        .map((s) => ({ name: s.node, usage: s.lastHeartbeat?.usage, allocatable: s.allocatable, lastHeartbeatTime: s.lastHeartbeat?.at ?? '' }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      return { nodes, containers: [] };
    }
    if (what === 'containers') {
      const containers: ContainerUsage[] = [];
      for (const s of this.sessions.values()) {
        for (const c of s.lastHeartbeat?.containers ?? []) if (!namespace || c.namespace === namespace) containers.push(c);
      }
      containers.sort((a, b) => (a.namespace + '/' + a.name < b.namespace + '/' + b.name ? -1 : 1));
      return { nodes: [], containers };
    }
    throw new ApiStatusError(Code.INVALID_ARGUMENT, `what: must be "nodes" or "containers", got ${JSON.stringify(what)}`);
  }

  /** Ends every stream (agents reconnect, possibly to another API server). */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const s of [...this.sessions.values()]) s.close(Code.UNAVAILABLE, 'the API server is shutting down: reconnect');
    this.sessions.clear();
    this.opts.metrics?.connected.set(0);
  }
}
