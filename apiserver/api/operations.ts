// The gRPC Operations service: logs and exec relayed through the target node's agent stream on this
// API server (or through the peer API server holding it), top from the hub's memory, and join tokens.
import { randomUUID } from 'node:crypto';
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as Code, Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  AgentRequest,
  CreateJoinTokenRequest,
  CreateJoinTokenResponse,
  ExecRequest,
  LogsRequest,
  RevokeNodeRequest,
  RevokeNodeResponse,
  StreamChunk,
  TopRequest,
  TopResponse,
} from '../../lib/gen/persys/v1/agent.js';
import type { ApiServerMetrics } from '../../lib/observability/metrics.js';
import type { AgentHub } from '../agents/hub.js';
import { createJoinToken } from '../agents/tokens.js';
import { revokeNodeCertificates } from '../agents/node-certificates.js';
import type { ResourceStore } from '../registry/store.js';
import { callerIdentity } from './authz.js';
import { RELAYED_HEADER, type PeerApiServers } from './peers.js';
import { ApiStatusError, codeName, toServiceError } from './status.js';

export interface OperationsDeps {
  store: ResourceStore;
  hub: AgentHub;
  log: Logger;
  metrics?: ApiServerMetrics;
  /** sha256:<hex> of the cluster CA, for join commands. */
  caCertHash: string;
  /** The API address new nodes are told to dial. */
  advertiseAddress(): string;
  /** The join port's address, when it is not the API port + 1 (the agent's default). */
  joinAddress(): string | undefined;
  /** The other API servers, for nodes whose stream one of them holds. */
  peers?: PeerApiServers;
}

/** A caller that reads slower than the node answers is cut off beyond this much buffered output. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export function operationsService(deps: OperationsDeps): UntypedServiceImplementation {
  const { store, hub, log, metrics } = deps;
  const count = (verb: string, err?: unknown, kind = '') =>
    metrics?.requests.inc({ verb, kind, code: err ? codeName(toServiceError(err).code) : 'OK' });

  const fail = (call: ServerWritableStream<unknown, unknown>, err: unknown) => {
    const se = toServiceError(err);
    if (se.code === Code.INTERNAL) log.error({ err }, 'operation failed');
    call.emit('error', Object.assign(new Error(se.details), se));
  };

  /** Finds the node running the object and streams the agent's answer to the caller until it ends. */
  async function relay(verb: 'logs' | 'exec', call: ServerWritableStream<LogsRequest | ExecRequest, StreamChunk>): Promise<void> {
    const req = call.request;
    const kind = req.kind || 'Container';
    if (kind !== 'Container' && kind !== 'ComposeStack') {
      throw new ApiStatusError(Code.INVALID_ARGUMENT, `kind: ${verb} supports Container and ComposeStack, got ${JSON.stringify(req.kind)}`);
    }
    if (!req.name) throw new ApiStatusError(Code.INVALID_ARGUMENT, 'name: required');
    if (verb === 'exec' && kind === 'ComposeStack' && !req.service) {
      throw new ApiStatusError(Code.INVALID_ARGUMENT, 'service: required to exec in a ComposeStack (the command runs in its first replica)');
    }
    const namespace = req.namespace || 'default';
    const obj = await store.get(kind, namespace, req.name);
    const node = obj.spec?.nodeName as string | undefined;
    if (!node) throw new ApiStatusError(Code.FAILED_PRECONDITION, `${kind} ${namespace}/${req.name} is not scheduled to a node yet`);
    const session = hub.session(node);
    if (!session) {
      const relayed = call.metadata.get(RELAYED_HEADER).length > 0;
      const peer = !relayed && deps.peers ? await deps.peers.holderOf(node) : undefined;
      if (peer) return relayToPeer(verb, peer, call, kind, node);
      throw new ApiStatusError(Code.UNAVAILABLE, `node "${node}" is not connected to this API server`);
    }

    const requestId = randomUUID();
    const request: AgentRequest = {
      requestId,
      request: verb === 'logs' ? { $case: 'logs', value: { ...(req as LogsRequest), kind, namespace } } : { $case: 'exec', value: { ...(req as ExecRequest), kind, namespace } },
    };
    const end = endOnce(call, verb, kind, () => session.cancelRequest(requestId));
    log.info({ verb, namespace, name: req.name, node, requestId, user: callerIdentity(call)?.user }, `${verb} relayed to node`);
    session.openRequest(request, {
      chunk(c) {
        if (end.done) return;
        if (c.error) return end.finish(new ApiStatusError(Code.UNKNOWN, `node "${node}": ${c.error}`));
        if (c.data.length || c.end) call.write(c);
        if (c.end) return end.finish();
        if (call.writableLength > MAX_BUFFERED_BYTES) {
          session.cancelRequest(requestId);
          end.finish(new ApiStatusError(Code.RESOURCE_EXHAUSTED, `the client read ${verb} output too slowly; more than ${MAX_BUFFERED_BYTES} bytes were waiting`));
        }
      },
      failed: (err) => end.finish(err),
    });
  }

  /** Streams the answer of the peer API server holding the node's stream to the caller, with backpressure. */
  function relayToPeer(verb: 'logs' | 'exec', peer: string, call: ServerWritableStream<LogsRequest | ExecRequest, StreamChunk>, kind: string, node: string): void {
    const md = new Metadata();
    md.set(RELAYED_HEADER, deps.peers!.self());
    const client = deps.peers!.operations(peer);
    const upstream = verb === 'logs' ? client.logs(call.request as LogsRequest, md) : client.exec(call.request as ExecRequest, md);
    log.info({ verb, name: call.request.name, node, peer, user: callerIdentity(call)?.user }, `${verb} relayed to the API server holding the node`);
    const end = endOnce(call, verb, kind, () => upstream.cancel());
    upstream.on('data', (c: StreamChunk) => {
      if (end.done) return;
      if (!call.write(c)) {
        upstream.pause();
        call.once('drain', () => upstream.resume());
      }
    });
    upstream.on('end', () => end.finish());
    upstream.on('error', (e: ServiceError) =>
      end.finish(new ApiStatusError(e.code, e.code === Code.UNAVAILABLE ? `API server ${peer} holding the node's stream: ${e.details}` : e.details)),
    );
  }

  /** Ends `call` once, with an error or normally, counting how; a caller that goes away first runs `onCancel` instead. */
  function endOnce(call: ServerWritableStream<unknown, unknown>, verb: 'logs' | 'exec', kind: string, onCancel: () => void) {
    let done = false;
    call.on('cancelled', () => {
      if (done) return;
      done = true;
      count(verb, new ApiStatusError(Code.CANCELLED, 'cancelled'), kind);
      onCancel();
    });
    return {
      get done() {
        return done;
      },
      finish(err?: unknown) {
        if (done) return;
        done = true;
        count(verb, err, kind);
        if (err) fail(call, err);
        else call.end();
      },
    };
  }

  const streaming = (verb: 'logs' | 'exec') => (call: ServerWritableStream<LogsRequest | ExecRequest, StreamChunk>) => {
    relay(verb, call).catch((err: unknown) => {
      count(verb, err, call.request.kind || 'Container');
      fail(call, err);
    });
  };

  return {
    logs: streaming('logs'),
    exec: streaming('exec'),
    top: (call: ServerUnaryCall<TopRequest, TopResponse>, callback: sendUnaryData<TopResponse>) => {
      try {
        const res = hub.top(call.request.what, call.request.namespace);
        count('top');
        callback(null, res);
      } catch (err) {
        count('top', err);
        callback(toServiceError(err));
      }
    },
    createJoinToken: (call: ServerUnaryCall<CreateJoinTokenRequest, CreateJoinTokenResponse>, callback: sendUnaryData<CreateJoinTokenResponse>) => {
      const user = callerIdentity(call)?.user;
      createJoinToken(store, { ttlSeconds: call.request.ttlSeconds, description: call.request.description, identity: user })
        .then(({ token, expiresAt }) => {
          const join = deps.joinAddress();
          const joinCommand = [
            'persys agent',
            `--server ${deps.advertiseAddress()}`,
            ...(join ? [`--join-server ${join}`] : []),
            `--token ${token}`,
            `--ca-cert-hash ${deps.caCertHash}`,
          ].join(' ');
          log.info({ user, expiresAt }, 'join token created');
          count('createJoinToken');
          callback(null, { token, expiresAt, caCertHash: deps.caCertHash, joinCommand });
        })
        .catch((err: unknown) => {
          count('createJoinToken', err);
          const se = toServiceError(err);
          if (se.code === Code.INTERNAL) log.error({ err }, 'join token not created');
          callback({ ...se, metadata: new Metadata() });
        });
    },
    revokeNode: (call: ServerUnaryCall<RevokeNodeRequest, RevokeNodeResponse>, callback: sendUnaryData<RevokeNodeResponse>) => {
      const user = callerIdentity(call)?.user ?? '';
      const node = call.request.nodeName;
      (async () => {
        if (!node) throw new ApiStatusError(Code.INVALID_ARGUMENT, 'node_name: required');
        const res = await revokeNodeCertificates(store, node, { identity: user });
        // This server's stream of the node closes at once; the others' on their watch of the record.
        hub.closeIfRevoked(node);
        return res;
      })().then(
        (res) => {
          log.warn({ user, node, serials: res.serials, revokedAt: res.revokedAt }, 'node certificates revoked');
          count('revokeNode');
          callback(null, res);
        },
        (err: unknown) => {
          count('revokeNode', err);
          const se = toServiceError(err);
          if (se.code === Code.INTERNAL) log.error({ err, node }, 'node not revoked');
          callback({ ...se, metadata: new Metadata() });
        },
      );
    },
  };
}
