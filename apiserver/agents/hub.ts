// The agent hub: the Agents.Connect side of the API server. One session per node on this server
// (a newer stream for the same node replaces the older), and what Operations needs of them:
// the session to send a request through, and the usage figures last heartbeats carried (Top).
import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AgentMessage, ContainerUsage, NodeTop, ServerMessage, TopResponse } from '../../lib/gen/persys/v1/agent.js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { callerIdentity, nodeNameOf } from '../api/authz.js';
import { ApiStatusError } from '../api/status.js';
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
}

export class AgentHub {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: AgentHubOptions) {
    this.log = opts.logger.child({ component: 'agent-hub' });
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
    const session = new AgentSession(node, call, { ...this.opts, log: this.log }, (s) => {
      if (this.sessions.get(node) === s) {
        this.sessions.delete(node);
        this.opts.metrics?.connected.set(this.sessions.size);
      }
    });
    this.sessions.set(node, session);
    this.opts.metrics?.connected.set(this.sessions.size);
    old?.close(Code.ABORTED, `a newer stream of node "${node}" replaced this one`);
    session.start();
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
    for (const s of [...this.sessions.values()]) s.close(Code.UNAVAILABLE, 'the API server is shutting down: reconnect');
    this.sessions.clear();
    this.opts.metrics?.connected.set(0);
  }
}
