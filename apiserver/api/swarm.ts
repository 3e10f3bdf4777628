// The gRPC SwarmOperations service: one swarm operation relayed to the named node's agent over its
// stream on this API server (or, when another API server holds that stream, to that peer), answered
// once. Join tokens and registry credentials (registryAuth) pass through unchanged but are never logged.
import { randomUUID } from 'node:crypto';
import type { sendUnaryData, ServerUnaryCall, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as Code, Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SwarmRequest, SwarmResponse } from '../../lib/gen/persys/v1/agent.js';
import type { ApiServerMetrics } from '../../lib/observability/metrics.js';
import { redactTokens } from '../../lib/swarm/redact.js';
import type { AgentHub } from '../agents/hub.js';
import { RELAYED_HEADER, type PeerApiServers } from './peers.js';
import { ApiStatusError, codeName, toServiceError } from './status.js';

export interface SwarmOperationsDeps {
  hub: AgentHub;
  log: Logger;
  metrics?: ApiServerMetrics;
  /** How long an agent may take to answer (a join waits for the swarm's raft). @default 90 s */
  answerTimeoutMs?: number;
  /** The other API servers, for nodes whose stream one of them holds. */
  peers?: PeerApiServers;
}

/** Sends `req` to its node's agent and resolves with the agent's one answer; `signal` (the caller gone) cancels it on the node. */
export function relaySwarmRequest(hub: AgentHub, req: SwarmRequest, timeoutMs: number, signal?: AbortSignal): Promise<SwarmResponse> {
  if (!req.node) return Promise.reject(new ApiStatusError(Code.INVALID_ARGUMENT, 'node: required'));
  if (!req.operation) return Promise.reject(new ApiStatusError(Code.INVALID_ARGUMENT, 'operation: one of inspect, init, join, leave, updateNode, removeNode, applyService, pruneServices is required'));
  const session = hub.session(req.node);
  if (!session) return Promise.reject(new ApiStatusError(Code.UNAVAILABLE, `node "${req.node}" is not connected to this API server`));
  const requestId = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.cancelRequest(requestId);
      reject(new ApiStatusError(Code.DEADLINE_EXCEEDED, `node "${req.node}" did not answer swarm ${req.operation!.$case} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const onAbort = () => {
      session.cancelRequest(requestId);
      settle(() => reject(new ApiStatusError(Code.CANCELLED, 'the caller cancelled the swarm operation')));
    };
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    session.openRequest(
      { requestId, request: { $case: 'swarm', value: req } },
      {
        chunk(c) {
          if (c.error) return settle(() => reject(new ApiStatusError(Code.FAILED_PRECONDITION, `node "${req.node}": ${redactTokens(c.error)}`)));
          if (c.end) settle(() => resolve(c.swarm ?? { removedServices: [] }));
        },
        failed: (err) => settle(() => reject(err)),
      },
    );
  });
}

export function swarmOperationsService(deps: SwarmOperationsDeps): UntypedServiceImplementation {
  const { hub, log, metrics } = deps;
  const timeoutMs = deps.answerTimeoutMs ?? 90_000;
  return {
    call: (call: ServerUnaryCall<SwarmRequest, SwarmResponse>, callback: sendUnaryData<SwarmResponse>) => {
      const req = call.request;
      const op = req.operation?.$case ?? '';
      const gone = new AbortController();
      call.on('cancelled', () => gone.abort());
      const relayed = call.metadata.get(RELAYED_HEADER).length > 0;
      const answer = async (): Promise<SwarmResponse> => {
        const peer = !hub.session(req.node) && !relayed && deps.peers ? await deps.peers.holderOf(req.node) : undefined;
        if (!peer) return relaySwarmRequest(hub, req, timeoutMs, gone.signal);
        log.info({ node: req.node, op, peer }, 'swarm operation relayed to the API server holding the node');
        return relayToPeer(deps.peers!, peer, req, call.getDeadline(), gone.signal);
      };
      answer()
        .then((res) => {
          metrics?.requests.inc({ verb: `swarm.${op}`, kind: '', code: 'OK' });
          callback(null, res);
        })
        .catch((err: unknown) => {
          const se = toServiceError(err);
          metrics?.requests.inc({ verb: `swarm.${op}`, kind: '', code: codeName(se.code) });
          // The request is logged by operation and node only: it may carry a join token or registry credentials.
          const message = redactTokens(se.details);
          if (se.code === Code.INTERNAL) log.error({ node: req.node, op, message }, 'swarm operation failed');
          else log.info({ node: req.node, op, code: codeName(se.code), message }, 'swarm operation refused or failed');
          callback(se);
        });
    },
  };
}

/** Sends `req` to the peer API server `address`, which answers it through its own stream to the node. */
function relayToPeer(peers: PeerApiServers, address: string, req: SwarmRequest, deadline: Date | number, signal: AbortSignal): Promise<SwarmResponse> {
  const md = new Metadata();
  md.set(RELAYED_HEADER, peers.self());
  return new Promise((resolve, reject) => {
    const call = peers.swarm(address).call(req, md, { deadline }, (err: ServiceError | null, res: SwarmResponse) => {
      if (!err) return resolve(res);
      // The peer's own answer (e.g. the node's error) keeps its code; a peer we cannot reach is UNAVAILABLE.
      reject(new ApiStatusError(err.code, err.code === Code.UNAVAILABLE ? `API server ${address} holding the node's stream: ${err.details}` : err.details));
    });
    signal.addEventListener('abort', () => call.cancel(), { once: true });
  });
}
