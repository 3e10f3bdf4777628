// The gRPC Resources service: decodes requests, calls the registry, encodes results, and records
// every call's identity, outcome and latency. Watch streams are served from the watch caches.
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ApiServerMetrics } from '../../lib/observability/metrics.js';
import { API_VERSION, KINDS } from '../../lib/api/kinds.js';
import { fromWire, kindOfWire, toWire, type Resource } from '../../lib/api/resource.js';
import type {
  ApplyRequest,
  ApplyResponse,
  BindRequest,
  CreateRequest,
  DeleteRequest,
  GetRequest,
  ListKindsResponse,
  ListRequest,
  ListResponse,
  Object as WireObject,
  UpdateRequest,
  VersionInfo,
  WatchEvent,
  WatchRequest,
} from '../../lib/gen/persys/v1/api.js';
import type { Identity } from '../../lib/pki/index.js';
import { callerIdentity } from './authz.js';
import type { ResourceStore } from '../registry/store.js';
import type { WatchHub } from '../watch/hub.js';
import { ApiStatusError, codeName, invalid, toServiceError } from './status.js';
import { checkListSize } from './list-size.js';
import { unknownFieldsOf } from './object-requests.js';
import { ValidationError } from '../validation/index.js';
import { localVersionInfo } from '../../lib/version-info.js';

export interface ServiceDeps {
  store: ResourceStore;
  watches: WatchHub;
  metrics: ApiServerMetrics;
  log: Logger;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

function identityOf(call: AnyCall): Identity {
  const id = callerIdentity(call);
  // The TLS layer and the authz interceptor already refuse such peers; this is defence in depth.
  if (!id) throw new ApiStatusError(Code.UNAUTHENTICATED, 'a client certificate signed by the cluster CA is required');
  return id;
}

function objectOf(wire: WireObject | undefined): Resource {
  const obj = fromWire(wire);
  const unknown = unknownFieldsOf(wire);
  // Refused as admit() refuses unknown JSON fields, before anything is read or stored.
  if (unknown.length) throw new ValidationError(obj?.kind || 'Object', obj?.metadata.name ?? '', unknown);
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
      const res: ListResponse = {
        items: page.items.map((i) => toWire(i)),
        resourceVersion: page.resourceVersion,
        continue: page.continue,
        remainingItemCount: String(page.remaining),
      };
      if (!r.limit) checkListSize(res, r.kind);
      return res;
    }),
    update: unary('update', (r: UpdateRequest) => kindOfWire(r.object), async (r: UpdateRequest, id) =>
      toWire(await store.update(objectOf(r.object), { dryRun: r.dryRun, identity: who(id) })),
    ),
    updateStatus: unary('updateStatus', (r: UpdateRequest) => kindOfWire(r.object), async (r: UpdateRequest, id) =>
      toWire(await store.updateStatus(objectOf(r.object), { dryRun: r.dryRun, identity: who(id) })),
    ),
    bind: unary('bind', () => 'Container', async (r: BindRequest, id) =>
      toWire(
        await store.bind(r.namespace, r.name, r.nodeName, {
          resourceVersion: r.resourceVersion,
          uid: r.uid,
          dryRun: r.dryRun,
          identity: who(id),
        }),
      ),
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
    version: unary('version', () => '', async (): Promise<VersionInfo> => localVersionInfo()),
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
