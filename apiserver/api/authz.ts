// Who may call which service on the API port. Identities come from the client certificate (CN = user,
// O = groups) or from a ServiceAccount bearer token. Node certificates may use only their stream,
// controllers the Resources API; every other identity reaches Resources and Operations, where RBAC
// decides per verb, kind and namespace (access.ts).
import { TLSSocket } from 'node:tls';
import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as Code,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { Metadata } from '@grpc/grpc-js';
import { identityFromPeerCertificate, type Identity } from '../../lib/pki/index.js';
import { TokenError, type ServiceAccountTokens } from './sa-tokens.js';
import { ApiStatusError } from './status.js';

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
/** What any other authenticated identity may call; RBAC then decides each request (access.ts). */
const SERVICES_FOR_USERS: readonly string[] = ['persys.v1.Resources', 'persys.v1.Operations', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];
const SYSTEM_GROUPS = new Set([ADMIN_GROUP, CONTROLLERS_GROUP, APISERVERS_GROUP, NODES_GROUP]);

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
  if (!id.groups.some((g) => SYSTEM_GROUPS.has(g)) && SERVICES_FOR_USERS.includes(service)) return { allowed: true };
  const groups = id.groups.length ? id.groups.join(', ') : 'none';
  return { allowed: false, code: Code.PERMISSION_DENIED, message: `user "${id.user}" (groups: ${groups}) may not call ${path}` };
}

/** Decisions by identity and path: authorize() depends on nothing else, and identities are kept per connection. */
const decisions = new WeakMap<Identity, Map<string, Decision>>();
/** More paths than the API has methods: an identity calling this many more is not cached further. */
const MAX_CACHED_PATHS = 256;

function cachedDecision(path: string, id: Identity): Decision {
  let byPath = decisions.get(id);
  if (!byPath) decisions.set(id, (byPath = new Map()));
  let decision = byPath.get(path);
  if (!decision) {
    decision = authorize(path, id);
    if (byPath.size < MAX_CACHED_PATHS) byPath.set(path, decision);
  }
  return decision;
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

/** Identities proven by a bearer token, keyed by the call's metadata (what the handler sees too). */
const tokenIdentities = new WeakMap<Metadata, Identity>();

/** The identity a bearer token in `metadata` proved to the interceptor, if any. */
export function tokenIdentityOf(metadata: Metadata | undefined): Identity | undefined {
  return metadata ? tokenIdentities.get(metadata) : undefined;
}

/** The caller's identity, from its certificate or its bearer token; the interceptor refused calls without. */
export function identityOf(call: { getAuthContext(): { sslPeerCertificate?: unknown } | undefined; metadata?: Metadata }): Identity {
  const id = callerIdentity(call) ?? tokenIdentityOf(call.metadata);
  // The authz interceptor already refuses such calls; this is defence in depth.
  if (!id) throw new ApiStatusError(Code.UNAUTHENTICATED, missingCredentials(call));
  return id;
}

/** The token of an "authorization: Bearer …" header, '' when there is none. */
function bearerOf(metadata: Metadata): string {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return m ? m[1]! : '';
}

/** Why a call without a usable certificate or token is refused: what the peer sent and what failed. */
export function missingCredentials(call: unknown): string {
  const socket = tlsSocketOf(call);
  const cert = socket?.getPeerCertificate();
  if (socket && cert && cert.raw && !socket.authorized) {
    const reason = String(socket.authorizationError ?? 'unknown');
    const why = /EXPIRED/.test(reason)
      ? `it expired at ${cert.valid_to}`
      : /NOT_YET_VALID/.test(reason)
        ? `it is not valid until ${cert.valid_from}`
        : /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY|SIGNATURE_FAILURE/.test(reason)
          ? "it is not signed by this cluster's CA"
          : reason;
    return `client certificate (subject CN=${cert.subject?.CN ?? '?'}) rejected: ${why} (${reason})`;
  }
  if (socket && cert?.raw) return 'client certificate rejected: it names no single user (CN)';
  return 'no credentials: present a client certificate signed by the cluster CA, or a bearer token ("authorization: Bearer …")';
}

/**
 * A server interceptor that authenticates and authorizes every call before its handler runs (handlers
 * start on the client's metadata, so holding it back keeps them from ever seeing a refused call).
 * A valid client certificate wins; without one, a bearer token is checked against `tokens`.
 */
export function authzInterceptor(
  onDenied?: (path: string, code: Code, message: string, id?: Identity) => void,
  tokens?: ServiceAccountTokens,
  /** Why a client certificate is no longer good (a revoked node certificate), or undefined: it is. */
  certificateRefusal?: (call: unknown, path: string) => string | undefined,
): ServerInterceptor {
  return (method, call) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const deny = (code: Code, message: string, id?: Identity) => {
          onDenied?.(method.path, code, message, id);
          call.sendStatus({ code, details: message });
        };
        const decide = (id: Identity) => {
          const decision = cachedDecision(method.path, id);
          if (decision.allowed) return next(metadata);
          deny(decision.code, decision.message, id);
        };
        const cert = callerIdentity(call);
        if (cert) {
          const refusal = certificateRefusal?.(call, method.path);
          return refusal ? deny(Code.UNAUTHENTICATED, refusal, cert) : decide(cert);
        }
        const token = bearerOf(metadata);
        if (!token || !tokens) return deny(Code.UNAUTHENTICATED, token ? 'bearer tokens are not accepted: this API server has no service-account key' : missingCredentials(call));
        const known = knownToken(tokens, token);
        if (known instanceof Error) return deny(Code.UNAUTHENTICATED, known.message);
        if (known) {
          tokenIdentities.set(metadata, known);
          return decide(known);
        }
        tokens.authenticate(token).then(
          (id) => {
            tokenIdentities.set(metadata, id);
            decide(id);
          },
          (err: Error) => deny(Code.UNAUTHENTICATED, err instanceof TokenError ? err.message : `bearer token could not be checked: ${err.message}`),
        );
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}

/** A token verified before (re-checked without a signature verification), an error, or undefined if new. */
function knownToken(tokens: ServiceAccountTokens, token: string): Identity | Error | undefined {
  try {
    return tokens.known(token);
  } catch (err) {
    return err as Error;
  }
}
