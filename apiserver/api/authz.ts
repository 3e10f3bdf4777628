// Who may call what on the mTLS port: identities come from the client certificate (CN = user, O =
// groups); admins use everything, controllers the Resources API, node certificates only their stream.
import { TLSSocket } from 'node:tls';
import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as Code,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { identityFromPeerCertificate, type Identity } from '../../lib/pki/index.js';

export const ADMIN_GROUP = 'system:masters';
export const CONTROLLERS_GROUP = 'system:controllers';
export const NODES_GROUP = 'system:nodes';
/** API servers (their serving certificate), relaying a node request to the peer that holds the node's stream. */
export const APISERVERS_GROUP = 'system:apiservers';
export const NODE_USER_PREFIX = 'system:node:';

export const AGENT_CONNECT = '/persys.v1.Agents/Connect';

/** The services (by full name) or single methods ("/pkg.Service/Method") each non-node group may call. */
const SERVICES_BY_GROUP: Record<string, readonly string[]> = {
  [ADMIN_GROUP]: ['persys.v1.Resources', 'persys.v1.Operations', 'persys.v1.SwarmOperations', 'persys.v1.Agents', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'],
  [CONTROLLERS_GROUP]: ['persys.v1.Resources', 'persys.v1.SwarmOperations', 'grpc.health.v1.Health'],
  [APISERVERS_GROUP]: ['persys.v1.SwarmOperations', '/persys.v1.Operations/Logs', '/persys.v1.Operations/Exec', '/persys.v1.Operations/ExecStream'],
};

export type Decision = { allowed: true } | { allowed: false; code: Code; message: string };

/** The node a certificate speaks for (CN system:node:NAME, O system:nodes), or undefined. */
export function nodeNameOf(id: Identity): string | undefined {
  if (!id.groups.includes(NODES_GROUP) || !id.user.startsWith(NODE_USER_PREFIX)) return undefined;
  const name = id.user.slice(NODE_USER_PREFIX.length);
  return name || undefined;
}

/** The authorization decision for calling `path` ("/pkg.Service/Method") as `id`. */
export function authorize(path: string, id: Identity | undefined): Decision {
  if (!id) return { allowed: false, code: Code.UNAUTHENTICATED, message: 'a client certificate signed by the cluster CA is required' };
  // A node certificate is confined to its stream even if it also names other groups.
  if (id.groups.includes(NODES_GROUP)) {
    if (path === AGENT_CONNECT && nodeNameOf(id)) return { allowed: true };
    return { allowed: false, code: Code.PERMISSION_DENIED, message: 'node certificates may only use the agent stream' };
  }
  if (path === AGENT_CONNECT) {
    return {
      allowed: false,
      code: Code.PERMISSION_DENIED,
      message: `only node certificates (O=${NODES_GROUP}, CN=${NODE_USER_PREFIX}NAME) may open the agent stream; "${id.user}" is not one`,
    };
  }
  const service = path.split('/')[1] ?? '';
  if (id.groups.some((g) => SERVICES_BY_GROUP[g]?.includes(service) || SERVICES_BY_GROUP[g]?.includes(path))) return { allowed: true };
  const groups = id.groups.length ? id.groups.join(', ') : 'none';
  return { allowed: false, code: Code.PERMISSION_DENIED, message: `user "${id.user}" (groups: ${groups}) may not call ${path}` };
}

/** The grpc-js 1.14 internals between a call object and its HTTP/2 session (not public API). */
interface CallInternals {
  call?: CallInternals;
  nextCall?: CallInternals;
  stream?: { session?: { socket?: unknown } };
}

/** The TLS socket a call arrived on; undefined when grpc-js changes that shape (then nothing is cached). */
function tlsSocketOf(call: unknown): TLSSocket | undefined {
  let inner = call as CallInternals | undefined;
  for (let depth = 0; inner && !inner.stream && depth < 16; depth++) inner = inner.call ?? inner.nextCall;
  const socket = inner?.stream?.session?.socket;
  return socket instanceof TLSSocket ? socket : undefined;
}

/**
 * Identities per connection: getAuthContext() re-parses the peer certificate on every call, yet it
 * cannot change while a connection lives (Node's HTTP/2 disables TLS renegotiation).
 */
const identities = new WeakMap<TLSSocket, Identity>();

/** The caller's identity, or undefined without a usable client certificate. */
export function callerIdentity(call: { getAuthContext(): { sslPeerCertificate?: unknown } | undefined }): Identity | undefined {
  const socket = tlsSocketOf(call);
  const known = socket && identities.get(socket);
  if (known) return known;
  const id = identityFromPeerCertificate(call.getAuthContext()?.sslPeerCertificate as never);
  if (id && socket) identities.set(socket, id);
  return id;
}

/**
 * A server interceptor that authorizes every call before its handler runs (handlers start on the
 * client's metadata, so holding it back keeps them from ever seeing a refused call).
 */
export function authzInterceptor(onDenied?: (path: string, code: Code) => void): ServerInterceptor {
  return (method, call) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const decision = authorize(method.path, callerIdentity(call));
        if (decision.allowed) return next(metadata);
        onDenied?.(method.path, decision.code);
        call.sendStatus({ code: decision.code, details: decision.message });
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}
