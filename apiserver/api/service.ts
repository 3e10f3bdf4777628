// The gRPC Resources service: decodes requests, calls the registry, encodes results, and records
// every call's identity, outcome and latency. Watch streams are served from the watch caches.
import { TLSSocket } from 'node:tls';
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ApiServerMetrics } from '../../lib/observability/metrics.js';
import { API_VERSION, KINDS } from '../../lib/api/kinds.js';
import { fromWire, kindOfWire, toWire, type Resource } from '../../lib/api/resource.js';
import type {
  ApplyRequest,
  ApplyResponse,
  CreateRequest,
  DeleteRequest,
  GetRequest,
  ListKindsResponse,
  ListRequest,
  ListResponse,
  Object as WireObject,
  UpdateRequest,
  WatchEvent,
  WatchRequest,
} from '../../lib/gen/persys/v1/api.js';
import { identityFromPeerCertificate, type Identity } from '../pki/index.js';
import type { ResourceStore } from '../registry/store.js';
import type { WatchHub } from '../watch/hub.js';
import { ApiStatusError, codeName, invalid, toServiceError } from './status.js';

export interface ServiceDeps {
  store: ResourceStore;
  watches: WatchHub;
  metrics: ApiServerMetrics;
  log: Logger;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/** The grpc-js 1.14 internals between a handler's call and its HTTP/2 session (not public API). */
interface CallInternals {
  call?: CallInternals;
  nextCall?: CallInternals;
  stream?: { session?: { socket?: unknown } };
}

/**
 * The TLS socket a call arrived on: the handler's call wraps one intercepting call per interceptor,
 * the innermost holds the HTTP/2 stream. Undefined when grpc-js changes that shape (then nothing is cached).
 */
function tlsSocketOf(call: AnyCall): TLSSocket | undefined {
  let inner = (call as CallInternals).call;
  while (inner && !inner.stream) inner = inner.nextCall;
  const socket = inner?.stream?.session?.socket;
  return socket instanceof TLSSocket ? socket : undefined;
}

/**
 * Identities per connection: getAuthContext() re-parses the peer certificate (getPeerCertificate, ~5% of
 * a create) on every call, yet it cannot change while a connection lives (Node's HTTP/2 disables TLS renegotiation).
 */
const identities = new WeakMap<TLSSocket, Identity>();

function identityOf(call: AnyCall): Identity {
  const socket = tlsSocketOf(call);
  const known = socket && identities.get(socket);
  if (known) return known;
  const id = identityFromPeerCertificate(call.getAuthContext()?.sslPeerCertificate);
  // The TLS layer already refuses peers without a CA-signed certificate; this is defence in depth.
  if (!id) throw new ApiStatusError(Code.UNAUTHENTICATED, 'a client certificate signed by the cluster CA is required');
  if (socket) identities.set(socket, id);
  return id;
}

function objectOf(wire: WireObject | undefined): Resource {
  const obj = fromWire(wire);
  if (!obj) throw invalid('object: required (set exactly one kind field, e.g. "container")');
  return obj;
}

export function resourcesService(deps: ServiceDeps): UntypedServiceImplementation {
  const { store, metrics, log } = deps;

  function unary<Req, Res>(verb: string, kindOf: (req: Req) => string, fn: (req: Req, id: Identity) => Promise<Res>) {
    return async (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const started = process.hrtime.bigint();
      let kind = '';
      try {
        kind = kindOf(call.request);
        const res = await fn(call.request, identityOf(call as AnyCall));
        metrics.requests.inc({ verb, kind, code: 'OK' });
        callback(null, res);
      } catch (err) {
        const se = toServiceError(err);
        metrics.requests.inc({ verb, kind, code: codeName(se.code) });
        if (se.code === Code.INTERNAL) log.error({ err, verb, kind }, 'request failed');
        callback(se);
      } finally {
        metrics.requestDuration.observe({ verb, kind }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    };
  }

  const who = (id: Identity) => id.user;

  return {
    create: unary('create', (r: CreateRequest) => kindOfWire(r.object), async (r: CreateRequest, id) =>
      toWire(await store.create(objectOf(r.object), { dryRun: r.dryRun, identity: who(id) })),
    ),
    get: unary('get', (r: GetRequest) => r.kind, async (r: GetRequest) => toWire(await store.get(r.kind, r.namespace, r.name))),
    list: unary('list', (r: ListRequest) => r.kind, async (r: ListRequest): Promise<ListResponse> => {
      const page = await store.list(r.kind, {
        namespace: r.namespace,
        labelSelector: r.labelSelector,
        fieldSelector: r.fieldSelector,
        limit: r.limit,
        continue: r.continue,
      });
      return {
        items: page.items.map((i) => toWire(i)),
        resourceVersion: page.resourceVersion,
        continue: page.continue,
        remainingItemCount: String(page.remaining),
      };
    }),
    update: unary('update', (r: UpdateRequest) => kindOfWire(r.object), async (r: UpdateRequest, id) =>
      toWire(await store.update(objectOf(r.object), { dryRun: r.dryRun, identity: who(id) })),
    ),
    updateStatus: unary('updateStatus', (r: UpdateRequest) => kindOfWire(r.object), async (r: UpdateRequest, id) =>
      toWire(await store.updateStatus(objectOf(r.object), { dryRun: r.dryRun, identity: who(id) })),
    ),
    delete: unary('delete', (r: DeleteRequest) => r.kind, async (r: DeleteRequest, id) =>
      toWire(
        await store.delete(r.kind, r.namespace, r.name, {
          resourceVersion: r.resourceVersion,
          uid: r.uid,
          dryRun: r.dryRun,
          propagationPolicy: r.propagationPolicy,
          identity: who(id),
        }),
      ),
    ),
    apply: unary(
      'apply',
      (r: ApplyRequest) => (r.source?.$case === 'object' ? kindOfWire(r.source.value) : ''),
      async (r: ApplyRequest, id): Promise<ApplyResponse> => {
        if (!r.source) throw invalid('manifest or object: one is required');
        const src = r.source.$case === 'manifest' ? r.source.value : objectOf(r.source.value);
        const { object, result } = await store.apply(src, { dryRun: r.dryRun, identity: who(id) });
        return { object: toWire(object), result };
      },
    ),
    listKinds: unary('listKinds', () => '', async (): Promise<ListKindsResponse> => ({
      apiVersion: API_VERSION,
      resources: KINDS.map((k) => ({
        kind: k.kind,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
        namespaced: k.namespaced,
        verbs: ['create', 'get', 'list', 'update', ...(k.hasStatus ? ['updateStatus'] : []), 'delete', 'apply', 'watch'],
      })),
    })),
    watch: (call: ServerWritableStream<WatchRequest, WatchEvent>) => {
      try {
        identityOf(call as AnyCall);
        deps.watches.serve(call);
      } catch (err) {
        const se = toServiceError(err);
        metrics.requests.inc({ verb: 'watch', kind: call.request.kind, code: codeName(se.code) });
        call.destroy(Object.assign(new Error(se.details), se));
      }
    },
  };
}
