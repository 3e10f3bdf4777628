// The gRPC Resources service: decodes requests, calls the registry, encodes results, and records
// every call's identity, outcome and latency. Watch streams are served from the watch caches.
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ApiServerMetrics } from '../../lib/observability/metrics.js';
import { API_VERSION, findKind, KINDS } from '../../lib/api/kinds.js';
import { fromWire, kindOfWire, type Resource } from '../../lib/api/resource.js';
import type {
  ApplyRequest,
  BindRequest,
  CreateRequest,
  DeleteRequest,
  GetRequest,
  ListKindsResponse,
  ListRequest,
  Object as WireObject,
  UpdateRequest,
  VersionInfo,
  WatchEvent,
  WatchRequest,
} from '../../lib/gen/persys/v1/api.js';
import type { Identity } from '../../lib/pki/index.js';
import { identityOf } from './authz.js';
import { accessAttributes, AccessControl } from './access.js';
import type { ServiceAccountTokens } from './sa-tokens.js';
import type { Auditor } from '../audit/auditor.js';
import type { AccessReviewRequest, AccessReviewResponse, ServiceAccountTokenRequest, ServiceAccountTokenResponse } from '../../lib/gen/persys/v1/rbac.js';
import type { AccessAttributes } from '../../lib/rbac/rules.js';
import type { ResourceStore } from '../registry/store.js';
import type { WatchHub } from '../watch/hub.js';
import { ApiStatusError, codeName, invalid, toServiceError } from './status.js';
import { checkListSize } from './list-size.js';
import { unknownFieldsOf, wireBytesOf } from './object-requests.js';
import { encodeApply, encodeList, encodeObject } from './wire-encode.js';
import { ValidationError } from '../validation/index.js';
import { localVersionInfo } from '../../lib/version-info.js';

export interface ServiceDeps {
  store: ResourceStore;
  access: AccessControl;
  /** Records every request in the audit log (--audit-log-path). */
  auditor?: Auditor;
  /** Issues ServiceAccount tokens; without it CreateServiceAccountToken answers UNAVAILABLE. */
  tokens?: ServiceAccountTokens;
  watches: WatchHub;
  metrics: ApiServerMetrics;
  log: Logger;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;


/** What one call learned for the audit log: who, the access attributes, the admitted object. */
interface CallRecord {
  identity?: Identity;
  attrs?: AccessAttributes;
  object?: Resource;
}

/** Calls nobody needs in the audit log: discovery and version. */
const UNAUDITED_METHODS = new Set(['listKinds', 'version']);
/** The verb of a call refused before its access attributes were known (e.g. invalid input). */
const AUDIT_VERB_OF_METHOD: Record<string, string> = { updateStatus: 'update', apply: 'patch', bind: 'create', createServiceAccountToken: 'create', checkAccess: 'create' };

function metadataOfWire(wire: WireObject | undefined): { namespace?: string; name?: string } | undefined {
  return (wire?.object?.value as { metadata?: { namespace?: string; name?: string } } | undefined)?.metadata;
}

/** The attributes `persys auth can-i` asks about; "*" as the resource means every resource. */
function reviewAttributes(r: AccessReviewRequest): AccessAttributes {
  if (!r.verb) throw invalid('verb: required (get, list, watch, create, update, patch, delete, …)');
  if (!r.resource) throw invalid('resource: required (a kind such as containers, or "*")');
  if (r.resource === '*' || r.resource === 'users' || r.resource === 'groups') {
    return { verb: r.verb, resource: r.resource, subresource: r.subresource || undefined, namespace: r.namespace, name: r.name || undefined };
  }
  const attrs = accessAttributes(r.verb, r.resource, r.namespace, r.name, r.subresource || undefined);
  if (!attrs) throw invalid(`resource: unknown kind ${JSON.stringify(r.resource)}`);
  // can-i without a namespace asks about the default one for single objects, as kubectl does.
  return attrs;
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
  const { store, metrics, log, access } = deps;
  const who = (id: Identity) => id.user;
  /** Write options whose access check also notes, for the audit log, what the admitted object is. */
  const writeOptions = (id: Identity, dryRun: boolean, rec: CallRecord) => {
    const check = access.writeHook(id);
    const authorize: typeof check = (verb, obj) => {
      rec.attrs = accessAttributes(verb, obj.kind, obj.metadata.namespace, obj.metadata.name);
      rec.object = obj;
      check(verb, obj);
    };
    return { dryRun, identity: who(id), authorize };
  };

  function audit(_call: AnyCall, verb: string, kind: string, rec: CallRecord, code: Code, message: string | undefined, started: bigint): void {
    if (!deps.auditor || UNAUDITED_METHODS.has(verb)) return;
    const id = rec.identity;
    const a = rec.attrs;
    deps.auditor.record({
      user: id?.user ?? '',
      groups: id?.groups ?? [],
      verb: a?.verb ?? AUDIT_VERB_OF_METHOD[verb] ?? verb,
      kind: rec.object?.kind ?? findKind(kind)?.kind ?? kind,
      subresource: a?.subresource,
      namespace: a?.namespace,
      name: a?.name,
      code,
      message,
      latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
      requestObject: rec.object,
    });
  }

  function unary<Req, Res>(
    verb: string,
    kindOf: (req: Req) => string,
    fn: (req: Req, id: Identity, rec: CallRecord) => Promise<Res>,
    attributesOf?: (req: Req) => AccessAttributes | undefined,
  ) {
    return async (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const started = process.hrtime.bigint();
      let kind = '';
      const rec: CallRecord = {};
      try {
        kind = kindOf(call.request);
        const id = (rec.identity = identityOf(call as AnyCall));
        if (attributesOf) {
          rec.attrs = attributesOf(call.request);
          access.check(id, rec.attrs);
        }
        const res = await fn(call.request, id, rec);
        metrics.requests.inc({ verb, kind, code: 'OK' });
        audit(call as AnyCall, verb, kind, rec, Code.OK, undefined, started);
        callback(null, res);
      } catch (err) {
        const se = toServiceError(err);
        metrics.requests.inc({ verb, kind, code: codeName(se.code) });
        if (se.code === Code.INTERNAL) log.error({ err, verb, kind }, 'request failed');
        audit(call as AnyCall, verb, kind, rec, se.code, se.details, started);
        callback(se);
      } finally {
        metrics.requestDuration.observe({ verb, kind }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    };
  }


  return {
    create: unary('create', (r: CreateRequest) => kindOfWire(r.object), async (r: CreateRequest, id, rec) =>
      encodeObject(await store.create(objectOf(r.object), { ...writeOptions(id, r.dryRun, rec), wireBytes: wireBytesOf(r.object) })),
    ),
    get: unary(
      'get',
      (r: GetRequest) => r.kind,
      async (r: GetRequest) => encodeObject(await store.get(r.kind, r.namespace, r.name)),
      (r) => accessAttributes('get', r.kind, r.namespace, r.name),
    ),
    list: unary('list', (r: ListRequest) => r.kind, async (r: ListRequest) => {
      const page = await store.list(r.kind, {
        namespace: r.namespace,
        labelSelector: r.labelSelector,
        fieldSelector: r.fieldSelector,
        limit: r.limit,
        continue: r.continue,
      });
      const res = encodeList({
        items: page.items,
        resourceVersion: page.resourceVersion,
        continue: page.continue,
        remainingItemCount: String(page.remaining),
      });
      if (!r.limit) checkListSize(res.length, page.items.length, r.kind);
      return res;
    }, (r) => accessAttributes('list', r.kind, r.namespace)),
    update: unary('update', (r: UpdateRequest) => kindOfWire(r.object), async (r: UpdateRequest, id, rec) =>
      encodeObject(await store.update(objectOf(r.object), { ...writeOptions(id, r.dryRun, rec), wireBytes: wireBytesOf(r.object) })),
    ),
    updateStatus: unary(
      'updateStatus',
      (r: UpdateRequest) => kindOfWire(r.object),
      async (r: UpdateRequest, id) => encodeObject(await store.updateStatus(objectOf(r.object), { dryRun: r.dryRun, identity: who(id) })),
      (r) => {
        const meta = metadataOfWire(r.object);
        return accessAttributes('update', kindOfWire(r.object), meta?.namespace, meta?.name, 'status');
      },
    ),
    bind: unary('bind', () => 'Container', async (r: BindRequest, id) =>
      encodeObject(
        await store.bind(r.namespace, r.name, r.nodeName, {
          resourceVersion: r.resourceVersion,
          uid: r.uid,
          dryRun: r.dryRun,
          identity: who(id),
        }),
      ),
      (r) => accessAttributes('create', 'Container', r.namespace, r.name, 'binding'),
    ),
    delete: unary('delete', (r: DeleteRequest) => r.kind, async (r: DeleteRequest, id) =>
      encodeObject(
        await store.delete(r.kind, r.namespace, r.name, {
          resourceVersion: r.resourceVersion,
          uid: r.uid,
          dryRun: r.dryRun,
          propagationPolicy: r.propagationPolicy,
          identity: who(id),
        }),
      ),
      (r) => accessAttributes('delete', r.kind, r.namespace, r.name),
    ),
    apply: unary(
      'apply',
      (r: ApplyRequest) => (r.source?.$case === 'object' ? kindOfWire(r.source.value) : ''),
      async (r: ApplyRequest, id, rec) => {
        if (!r.source) throw invalid('manifest or object: one is required');
        const src = r.source.$case === 'manifest' ? r.source.value : objectOf(r.source.value);
        const { object, result } = await store.apply(src, writeOptions(id, r.dryRun, rec));
        return encodeApply(object, result);
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
    checkAccess: unary('checkAccess', () => '', async (r: AccessReviewRequest, id): Promise<AccessReviewResponse> => {
      let subject = id;
      if (r.user || r.groups.length) {
        if (r.user) access.check(id, { verb: 'impersonate', resource: 'users', namespace: '', name: r.user });
        for (const g of r.groups) access.check(id, { verb: 'impersonate', resource: 'groups', namespace: '', name: g });
        subject = { user: r.user || id.user, groups: r.groups };
      }
      const attrs = reviewAttributes(r);
      const decision = access.rbac.authorize(subject, attrs);
      return { allowed: decision.allowed, reason: decision.reason, user: subject.user };
    }),
    createServiceAccountToken: unary(
      'createServiceAccountToken',
      () => 'ServiceAccount',
      async (r: ServiceAccountTokenRequest): Promise<ServiceAccountTokenResponse> => {
        if (!deps.tokens) throw new ApiStatusError(Code.UNAVAILABLE, 'this API server has no service-account signing key (--service-account-key-file)');
        const ttl = r.ttlSeconds || 3600;
        if (ttl < 60 || ttl > 86_400) throw invalid(`ttlSeconds: must be between 60 (1m) and 86400 (24h), got ${ttl}`);
        const account = await store.get('ServiceAccount', r.namespace, r.name);
        const { token, expiresAt } = await deps.tokens.issue(
          { namespace: account.metadata.namespace!, name: account.metadata.name!, uid: account.metadata.uid! },
          ttl,
          r.audiences.length ? r.audiences : undefined,
        );
        return { token, expiresAt: expiresAt.toISOString() };
      },
      (r) => accessAttributes('create', 'ServiceAccount', r.namespace, r.name, 'token'),
    ),
    watch: (call: ServerWritableStream<WatchRequest, WatchEvent>) => {
      // A watch is audited when it starts (or is refused): it may last for hours.
      const started = process.hrtime.bigint();
      const rec: CallRecord = {};
      try {
        const id = (rec.identity = identityOf(call as AnyCall));
        rec.attrs = accessAttributes('watch', call.request.kind, call.request.namespace);
        access.check(id, rec.attrs);
        deps.watches.serve(call);
        audit(call as AnyCall, 'watch', call.request.kind, rec, Code.OK, undefined, started);
      } catch (err) {
        const se = toServiceError(err);
        audit(call as AnyCall, 'watch', call.request.kind, rec, se.code, se.details, started);
        metrics.requests.inc({ verb: 'watch', kind: call.request.kind, code: codeName(se.code) });
        // emit('error') ends the call with this status; destroy() would reach the client as CANCELLED.
        call.emit('error', Object.assign(new Error(se.details), se));
      }
    },
  };
}
