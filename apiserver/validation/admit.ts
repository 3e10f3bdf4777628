// The admission pipeline: top-level checks, the strict structural check against the proto,
// defaulting, then semantic validation per kind; every error collected and thrown once.
import { API_VERSION, findKind, type KindInfo } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import { validateEvent, validateLease, validateNamespace, validateNode } from './cluster.js';
import { validateComposeStack } from './composestack.js';
import { validateConfigMap } from './configmap.js';
import { validateContainer } from './container.js';
import { validateContainerSet, validateControllerRevision } from './containerset.js';
import { validateCronJob } from './cronjob.js';
import { applyDefaults, defaultMetadata } from './defaults.js';
import { FieldErrors, ValidationError, type FieldError } from './errors.js';
import { isWithin } from './field-path.js';
import { validateObjectMeta } from './metadata.js';
import { conformToMessage, messageTypeOf, wireJsonConforms } from './schema.js';
import { validateRole, validateRoleBinding, validateServiceAccount } from './rbac.js';
import { validateSecret } from './secret.js';
import { validateEndpointSlice, validateService } from './service.js';
import { validateSwarmService } from './swarmservice.js';

/** etcd's default request limit; objects are stored whole under one key. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

/**
 * How much larger than its protobuf encoding an object's JSON can be: a field costs at least 2 bytes on
 * the wire and at most ~36 characters in JSON (the longest field name, quotes, colon, a short value).
 */
const MAX_JSON_PER_WIRE_BYTE = 32;

export interface AdmitOptions {
  /** The stored object this one replaces, for rules about fields that may not change. */
  old?: Resource;
  /** 'status' for UpdateStatus: only metadata and the status shape are checked. */
  subresource?: 'status';
  /**
   * The size of the protobuf message the object was decoded from (its JSON made by the generated
   * toJSON, unknown fields already refused): set only for such objects. The structural check is then
   * skipped where the schema holds by construction (see wireJsonConforms), and when even the largest
   * JSON the message could become fits MAX_OBJECT_BYTES, the object is not serialized to be measured.
   * The admitted object then shares nested values with `raw`.
   */
  wireBytes?: number;
}

type KindValidator = (obj: Resource, errs: FieldErrors, old?: Resource) => void;

const VALIDATORS: Record<string, KindValidator> = {
  Namespace: validateNamespace,
  Node: validateNode,
  Container: validateContainer,
  ContainerSet: validateContainerSet,
  ComposeStack: validateComposeStack,
  SwarmService: validateSwarmService,
  CronJob: validateCronJob,
  Secret: validateSecret,
  ConfigMap: validateConfigMap,
  Event: validateEvent,
  Lease: validateLease,
  ControllerRevision: validateControllerRevision,
  ServiceAccount: validateServiceAccount,
  Role: validateRole,
  ClusterRole: validateRole,
  RoleBinding: validateRoleBinding,
  ClusterRoleBinding: validateRoleBinding,
  Service: validateService,
  EndpointSlice: validateEndpointSlice,
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function objectNameOf(raw: Record<string, unknown>): string {
  const meta = raw['metadata'];
  if (!isPlainObject(meta)) return '';
  if (typeof meta['name'] === 'string' && meta['name']) return meta['name'];
  return typeof meta['generateName'] === 'string' ? meta['generateName'] : '';
}

/** apiVersion, kind and size: what must hold before the kind's schema can even be chosen. */
function checkTopLevel(raw: Record<string, unknown>, errs: FieldErrors, wireBytes?: number): KindInfo | undefined {
  const apiVersion = raw['apiVersion'];
  if (apiVersion === undefined || apiVersion === null || apiVersion === '') errs.add('apiVersion', 'required');
  else if (apiVersion !== API_VERSION) errs.add('apiVersion', `must be ${JSON.stringify(API_VERSION)}, got ${JSON.stringify(apiVersion)}`);

  const kind = raw['kind'];
  let info: KindInfo | undefined;
  if (kind === undefined || kind === null || kind === '') errs.add('kind', 'required');
  else if (typeof kind !== 'string') errs.add('kind', `expected string, got ${Array.isArray(kind) ? 'array' : typeof kind}`);
  else {
    const found = findKind(kind);
    // The CLI resolves plurals and short names; a stored object must name its kind exactly.
    if (found && found.kind === kind) info = found;
    else errs.add('kind', `unknown kind ${JSON.stringify(kind)}${found ? ` (did you mean ${JSON.stringify(found.kind)}?)` : ''}`);
  }

  if (wireBytes !== undefined && wireBytes * MAX_JSON_PER_WIRE_BYTE <= MAX_OBJECT_BYTES) return info;
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(raw));
  } catch (e) {
    errs.add('', `object is not serializable as JSON: ${(e as Error).message}`);
    return undefined;
  }
  if (bytes > MAX_OBJECT_BYTES) errs.add('', `object is ${bytes} bytes, the limit is ${MAX_OBJECT_BYTES}`);
  return info;
}

/** Turns untrusted input (a parsed manifest or a typed object's JSON) into a defaulted, valid Resource, or throws ValidationError. */
export function admit(raw: unknown, opts: AdmitOptions = {}): Resource {
  if (!isPlainObject(raw)) {
    const got = raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw;
    throw new ValidationError('Object', '', [{ path: '', message: `expected a JSON object, got ${got}` }]);
  }
  const top = new FieldErrors();
  const info = checkTopLevel(raw, top, opts.wireBytes);
  if (!info) return invalidObject(raw, top.list);
  if (opts.subresource === 'status' && !info.hasStatus) top.add('status', `kind ${info.kind} has no status subresource`);

  const structural = new FieldErrors();
  const { apiVersion: _apiVersion, kind: _kind, ...body } = raw;
  const type = messageTypeOf(info.kind);
  const conformed = opts.wireBytes !== undefined && wireJsonConforms(type) ? body : conformToMessage(type, body, '', structural)!;
  const obj = { apiVersion: API_VERSION, kind: info.kind, ...conformed } as Resource;

  const semantic = new FieldErrors();
  if (opts.subresource === 'status') {
    defaultMetadata(obj, info);
  } else {
    applyDefaults(obj, info);
    VALIDATORS[info.kind]!(obj, semantic, opts.old);
  }
  validateObjectMeta(obj.metadata, info, semantic);

  if (top.size + structural.size + semantic.size === 0) return obj;
  // A field the schema already rejected was left out, so rules about it would only repeat that.
  const rejected = structural.list.map((e) => e.path);
  const consequential = semantic.list.filter((e) => !rejected.some((p) => isWithin(e.path, p)));
  return invalidObject(raw, [...top.list, ...structural.list, ...consequential]);
}

function invalidObject(raw: Record<string, unknown>, errors: FieldError[]): never {
  const reportedKind = typeof raw['kind'] === 'string' && raw['kind'] ? raw['kind'] : 'Object';
  throw new ValidationError(reportedKind, objectNameOf(raw), errors);
}
