// The gRPC Operations service: logs and exec (interactive exec too) relayed through the target node's
// agent stream on this API server (or through the peer API server holding it), top from the hub's
// memory, and join tokens.
import { randomUUID } from 'node:crypto';
import type {
  ClientDuplexStream,
  ClientReadableStream,
  sendUnaryData,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceError,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { status as Code, Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  AgentRequest,
  CreateJoinTokenRequest,
  CreateJoinTokenResponse,
  ExecInput,
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
import { callerIdentity, identityOf } from './authz.js';
import { accessAttributes, type AccessControl } from './access.js';
import type { Auditor } from '../audit/auditor.js';
import type { AccessAttributes } from '../../lib/rbac/rules.js';
import { findKind } from '../../lib/api/kinds.js';
import { SYSTEM_NAMESPACE } from '../registry/bootstrap.js';
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
  /**
   * RBAC: logs is get on containers/logs, exec create on containers/exec, top list, join tokens create
   * on secrets in persys-system, node revoke delete on that node.
   */
  access?: AccessControl;
  /** Records logs, exec, top, join token and revoke requests in the audit log. */
  auditor?: Auditor;
}

/** A caller that reads slower than the node answers is cut off beyond this much buffered output. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Largest piece of standard input one ExecInput may carry. */
export const MAX_STDIN_CHUNK = 64 * 1024;

type Verb = 'logs' | 'exec';
type Call = ServerWritableStream<LogsRequest | ExecRequest, StreamChunk> | ServerDuplexStream<ExecInput, StreamChunk>;

/** Why an ExecInput after the first cannot be relayed, or undefined when it can. */
export function invalidExecInput(req: Pick<ExecRequest, 'stdin' | 'tty'>, input: ExecInput): string | undefined {
  const i = input.input;
  switch (i?.$case) {
    case undefined:
      return 'input: empty ExecInput';
    case 'start':
      return 'start: only the first ExecInput may start the exec';
    case 'stdin':
      if (!req.stdin) return 'stdin: the exec was started without standard input (start.stdin is false)';
      if (i.value.length > MAX_STDIN_CHUNK) return `stdin: at most ${MAX_STDIN_CHUNK} bytes per message, got ${i.value.length}`;
      return undefined;
    case 'resize':
      if (!i.value.width || !i.value.height) return 'resize: width and height must both be positive';
      return undefined;
    default:
      return undefined;
  }
}

export function operationsService(deps: OperationsDeps): UntypedServiceImplementation {
  const { store, hub, log, metrics } = deps;
  const count = (verb: string, err?: unknown, kind = '') =>
    metrics?.requests.inc({ verb, kind, code: err ? codeName(toServiceError(err).code) : 'OK' });

  /**
   * The access check of an operation, recorded in the audit log either way: an allowed operation when
   * it starts (logs -f and exec may last long), a refused one with its PERMISSION_DENIED.
   */
  const checkAndAudit = (call: Parameters<typeof identityOf>[0], a: AccessAttributes | undefined) => {
    const id = identityOf(call);
    const record = (code: Code, message?: string) =>
      a &&
      deps.auditor?.record({
        user: id.user,
        groups: id.groups,
        verb: a.verb,
        kind: findKind(a.resource)?.kind ?? a.resource,
        subresource: a.subresource,
        namespace: a.namespace,
        name: a.name,
        code,
        message,
        latencyMs: 0,
      });
    try {
      deps.access?.check(id, a);
    } catch (err) {
      record(toServiceError(err).code, (err as Error).message);
      throw err;
    }
    record(Code.OK);
  };

  const fail = (call: Call, err: unknown) => {
    const se = toServiceError(err);
    if (se.code === Code.INTERNAL) log.error({ err }, 'operation failed');
    call.emit('error', Object.assign(new Error(se.details), se));
  };

  /**
   * Finds the node running the object and streams the agent's answer to the caller until it ends. For
   * an interactive exec, `input` then relays the caller's later ExecInputs to the agent.
   */
  async function relay(
    verb: Verb,
    call: Call,
    req: LogsRequest | ExecRequest,
    input?: AsyncIterator<ExecInput>,
  ): Promise<void> {
    const kind = req.kind || 'Container';
    if (kind !== 'Container' && kind !== 'ComposeStack') {
      throw new ApiStatusError(Code.INVALID_ARGUMENT, `kind: ${verb} supports Container and ComposeStack, got ${JSON.stringify(req.kind)}`);
    }
    checkAndAudit(call, accessAttributes(verb === 'logs' ? 'get' : 'create', kind, req.namespace, req.name, verb));
    if (!req.name) throw new ApiStatusError(Code.INVALID_ARGUMENT, 'name: required');
    if (verb === 'exec' && (req as ExecRequest).stdin && !input) {
      throw new ApiStatusError(Code.INVALID_ARGUMENT, 'stdin: Exec has no standard input; use ExecStream');
    }
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
      if (peer) return relayToPeer(verb, peer, call, req, kind, node, input);
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
        if (c.error) return end.finish(new ApiStatusError(c.errorCode || Code.UNKNOWN, `node "${node}": ${c.error}`));
        if (c.data.length || c.end) call.write(c);
        if (c.end) return end.finish();
        if (call.writableLength > MAX_BUFFERED_BYTES) {
          session.cancelRequest(requestId);
          end.finish(new ApiStatusError(Code.RESOURCE_EXHAUSTED, `the client read ${verb} output too slowly; more than ${MAX_BUFFERED_BYTES} bytes were waiting`));
        }
      },
      failed: (err) => end.finish(err),
    });
    if (input) await relayInput(input, req as ExecRequest, end, (i) => session.sendInput(requestId, i), () => session.cancelRequest(requestId));
  }

  /**
   * Passes the caller's ExecInputs on one at a time: the next is read only once the last was written
   * (HTTP/2 flow control then holds a fast caller back). The caller half-closing ends standard input.
   */
  async function relayInput(
    input: AsyncIterator<ExecInput>,
    req: ExecRequest,
    end: { readonly done: boolean; readonly whenDone: Promise<void>; finish(err?: unknown): void },
    forward: (i: ExecInput) => Promise<void>,
    cancel: () => void,
  ): Promise<void> {
    let stdinClosed = false;
    try {
      // The answer may end while the caller still holds its side open: stop reading then.
      const read = () => Promise.race([input.next(), end.whenDone.then((): IteratorResult<ExecInput> => ({ done: true, value: undefined }))]);
      for (let next = await read(); !next.done && !end.done; next = await read()) {
        const problem = invalidExecInput(req, next.value);
        if (problem) {
          cancel();
          return end.finish(new ApiStatusError(Code.INVALID_ARGUMENT, problem));
        }
        if (next.value.input?.$case === 'stdinClose') stdinClosed = true;
        await forward(next.value);
      }
      if (req.stdin && !stdinClosed && !end.done) await forward({ input: { $case: 'stdinClose', value: true } });
    } catch (err) {
      // A caller gone mid-read: 'cancelled' has run (or will) and cancels the request.
      if (!end.done) log.debug({ err }, 'exec input ended with an error');
    }
  }

  /** Streams the answer of the peer API server holding the node's stream to the caller, with backpressure. */
  async function relayToPeer(
    verb: Verb,
    peer: string,
    call: Call,
    req: LogsRequest | ExecRequest,
    kind: string,
    node: string,
    input?: AsyncIterator<ExecInput>,
  ): Promise<void> {
    const md = new Metadata();
    md.set(RELAYED_HEADER, deps.peers!.self());
    const client = deps.peers!.operations(peer);
    let upstream: ClientReadableStream<StreamChunk> | ClientDuplexStream<ExecInput, StreamChunk>;
    if (input) {
      const duplex = client.execStream(md);
      duplex.write({ input: { $case: 'start', value: req as ExecRequest } });
      upstream = duplex;
    } else {
      upstream = verb === 'logs' ? client.logs(req as LogsRequest, md) : client.exec(req as ExecRequest, md);
    }
    log.info({ verb, name: req.name, node, peer, user: callerIdentity(call)?.user }, `${verb} relayed to the API server holding the node`);
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
    if (!input) return;
    const duplex = upstream as ClientDuplexStream<ExecInput, StreamChunk>;
    const forward = async (i: ExecInput) => {
      if (!duplex.write(i)) await new Promise<void>((r) => duplex.once('drain', r));
    };
    await relayInput(input, req as ExecRequest, end, forward, () => duplex.cancel());
    if (!end.done) duplex.end();
  }

  /** Ends `call` once, with an error or normally, counting how; a caller that goes away first runs `onCancel` instead. */
  function endOnce(call: Call, verb: Verb, kind: string, onCancel: () => void) {
    let done = false;
    let settle!: () => void;
    const whenDone = new Promise<void>((r) => (settle = r));
    call.on('cancelled', () => {
      if (done) return;
      done = true;
      settle();
      count(verb, new ApiStatusError(Code.CANCELLED, 'cancelled'), kind);
      onCancel();
    });
    return {
      get done() {
        return done;
      },
      whenDone,
      finish(err?: unknown) {
        if (done) return;
        done = true;
        settle();
        count(verb, err, kind);
        if (err) fail(call, err);
        else call.end();
      },
    };
  }

  const streaming = (verb: Verb) => (call: ServerWritableStream<LogsRequest | ExecRequest, StreamChunk>) => {
    relay(verb, call, call.request).catch((err: unknown) => {
      count(verb, err, call.request.kind || 'Container');
      fail(call, err);
    });
  };

  /** Interactive exec: the first ExecInput starts it, the rest are relayed to the agent in order. */
  const execStream = (call: ServerDuplexStream<ExecInput, StreamChunk>) => {
    const input = (call as AsyncIterable<ExecInput>)[Symbol.asyncIterator]();
    let kind = 'Container';
    (async () => {
      const first = await input.next();
      if (first.done || first.value.input?.$case !== 'start') {
        throw new ApiStatusError(Code.INVALID_ARGUMENT, 'start: the first ExecInput must carry the ExecRequest');
      }
      const req = first.value.input.value;
      kind = req.kind || 'Container';
      await relay('exec', call, req, input);
    })().catch((err: unknown) => {
      count('exec', err, kind);
      fail(call, err);
    });
  };

  return {
    logs: streaming('logs'),
    exec: streaming('exec'),
    execStream,
    top: (call: ServerUnaryCall<TopRequest, TopResponse>, callback: sendUnaryData<TopResponse>) => {
      try {
        const what = call.request.what === 'nodes' ? 'Node' : 'Container';
        checkAndAudit(call, accessAttributes('list', what, call.request.namespace));
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
      Promise.resolve()
        .then(() => checkAndAudit(call, accessAttributes('create', 'Secret', SYSTEM_NAMESPACE)))
        .then(() => createJoinToken(store, { ttlSeconds: call.request.ttlSeconds, description: call.request.description, identity: user }))
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
        // Revoking ends what the node may do, as deleting it would: the delete verb on that node.
        checkAndAudit(call, accessAttributes('delete', 'Node', '', node));
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
