// The structural half of validation: untrusted JSON is walked against the kind's proto message
// (protobufjs reflection over proto/persys/v1), so unknown fields and wrong types are errors.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '../../lib/package-files.js';
import { fieldPath, itemPath } from './field-path.js';
import type { FieldErrors } from './errors.js';

const PROTO_PACKAGE_DIR = 'persys/v1';

/**
 * Fields typed string in the proto that manifests may also write as numbers, normalized to strings:
 * Kubernetes' IntOrString budgets, and quantities, which YAML turns into numbers when unquoted (`cpu: 2`).
 */
const NUMBER_AS_STRING_FIELDS: ReadonlyMap<string, 'integer' | 'number'> = new Map([
  ['.persys.v1.RollingUpdate.maxSurge', 'integer'],
  ['.persys.v1.RollingUpdate.maxUnavailable', 'integer'],
  ['.persys.v1.ServiceSpecPort.targetPort', 'integer'],
  ['.persys.v1.ResourceList.cpu', 'number'],
  ['.persys.v1.ResourceList.memory', 'number'],
]);

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);

let root: protobuf.Root | undefined;
/** Kind → message type, and NUMBER_AS_STRING_FIELDS keyed by Field: both looked up once, not per value. */
const messageTypes = new Map<string, protobuf.Type>();
let numberAsStringFields: ReadonlyMap<protobuf.Field, 'integer' | 'number'> | undefined;

function loadRoot(): protobuf.Root {
  const r = new protobuf.Root();
  // Imports in the .proto files are written relative to proto/ ("persys/v1/meta.proto").
  r.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
  const files = readdirSync(path.join(PROTO_DIR, PROTO_PACKAGE_DIR))
    .filter((f) => f.endsWith('.proto'))
    .sort()
    .map((f) => `${PROTO_PACKAGE_DIR}/${f}`);
  r.loadSync(files);
  r.resolveAll();
  numberAsStringFields = new Map(
    [...NUMBER_AS_STRING_FIELDS].map(([fullName, expect]) => {
      const dot = fullName.lastIndexOf('.');
      return [r.lookupType(fullName.slice(0, dot)).fields[fullName.slice(dot + 1)]!, expect];
    }),
  );
  return r;
}

/** The message type of a kind ("Container" → persys.v1.Container); loads the protos once. */
export function messageTypeOf(kind: string): protobuf.Type {
  let type = messageTypes.get(kind);
  if (!type) {
    root ??= loadRoot();
    type = root.lookupType(`persys.v1.${kind}`);
    messageTypes.set(kind, type);
  }
  return type;
}

const jsonByConstruction = new Map<protobuf.Type, boolean>();

/**
 * Whether the JSON of every message of `type` decoded from protobuf (the generated toJSON) already
 * conforms to it: true unless a float or double field is reachable, whose NaN and Infinity the proto
 * JSON mapping writes as strings. Every other value is known and of its type by construction.
 */
export function wireJsonConforms(type: protobuf.Type): boolean {
  let known = jsonByConstruction.get(type);
  if (known === undefined) {
    known = !reachesFloat(type, new Set());
    jsonByConstruction.set(type, known);
  }
  return known;
}

function reachesFloat(type: protobuf.Type, seen: Set<protobuf.Type>): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  return Object.values(type.fields).some((field) => {
    const resolved = field.resolvedType;
    return resolved instanceof protobuf.Type ? reachesFloat(resolved, seen) : field.type === 'float' || field.type === 'double';
  });
}

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sets a key as an own property, so a key such as "__proto__" in a map stays plain data. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Checks `value` against message `type` and returns a clean copy: nulls dropped (absent), unknown and
 * ill-typed fields reported to `errs` and left out, IntOrString fields normalized to strings.
 * Only the lowerCamelCase JSON names are accepted, so "container_port" is an unknown field.
 */
export function conformToMessage(
  type: protobuf.Type,
  value: unknown,
  at: string,
  errs: FieldErrors,
): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) {
    errs.add(at, `expected object, got ${typeName(value)}`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const p = fieldPath(at, key);
    if (!Object.hasOwn(type.fields, key)) {
      errs.add(p, `unknown field ${JSON.stringify(key)}`);
      continue;
    }
    const v = value[key];
    if (v === null || v === undefined) continue;
    const field = type.fields[key]!;
    const clean = conformToField(field, v, p, errs);
    // `key` is a field name of the message, never "__proto__": a plain assignment is safe and cheap.
    if (clean !== undefined) out[key] = clean;
  }
  return out;
}

function conformToField(field: protobuf.Field, value: unknown, at: string, errs: FieldErrors): unknown {
  if (field.map) {
    if (!isPlainObject(value)) {
      errs.add(at, `expected map, got ${typeName(value)}`);
      return undefined;
    }
    const keyType = field instanceof protobuf.MapField ? field.keyType : 'string';
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) {
      const v = value[k];
      const p = itemPath(at, k);
      if (keyType !== 'string' && keyType !== 'bool' && !/^-?\d+$/.test(k)) {
        errs.add(p, `map key must be an integer, got ${JSON.stringify(k)}`);
        continue;
      }
      if (v === null || v === undefined) continue;
      const clean = conformToSingle(field, v, p, errs);
      // defineProperty only where needed: assignment is much cheaper, and only "__proto__" would misbehave.
      if (clean !== undefined) {
        if (k === '__proto__') setOwn(out, k, clean);
        else out[k] = clean;
      }
    }
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) {
      errs.add(at, `expected array, got ${typeName(value)}`);
      return undefined;
    }
    const out: unknown[] = [];
    // A plain loop: under tsx every closure created per call is also renamed (esbuild's __name), which is costly here.
    for (let i = 0; i < value.length; i++) {
      const clean = conformToSingle(field, value[i], itemPath(at, i), errs);
      if (clean !== undefined) out.push(clean);
    }
    return out;
  }
  return conformToSingle(field, value, at, errs);
}

function conformToSingle(field: protobuf.Field, value: unknown, at: string, errs: FieldErrors): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return conformToMessage(resolved, value, at, errs);
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string' && Object.hasOwn(resolved.values, value)) return value;
    if (typeof value === 'number' && Object.values(resolved.values).includes(value)) return value;
    errs.add(at, `expected one of ${Object.keys(resolved.values).join(', ')}, got ${JSON.stringify(value)}`);
    return undefined;
  }
  // Keyed by Field: `fullName` is a getter that rebuilds the dotted path on every read.
  const numberAsString = field.type === 'string' ? numberAsStringFields!.get(field) : undefined;
  if (numberAsString) {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && (numberAsString === 'number' ? Number.isFinite(value) : Number.isInteger(value))) {
      return String(value);
    }
    errs.add(at, `expected ${numberAsString} or string, got ${typeof value === 'number' ? value : typeName(value)}`);
    return undefined;
  }
  return conformToScalar(field.type, value, at, errs);
}

function mismatch(expected: string, value: unknown, at: string, errs: FieldErrors): undefined {
  errs.add(at, `expected ${expected}, got ${typeName(value)}`);
  return undefined;
}

function conformToScalar(type: string, value: unknown, at: string, errs: FieldErrors): unknown {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : mismatch('string', value, at, errs);
    case 'bytes':
      return typeof value === 'string' ? value : mismatch('base64 string', value, at, errs);
    case 'bool':
      return typeof value === 'boolean' ? value : mismatch('boolean', value, at, errs);
    case 'double':
    case 'float':
      return typeof value === 'number' && Number.isFinite(value) ? value : mismatch('number', value, at, errs);
  }
  if (INT32.has(type) || UINT32.has(type)) {
    if (typeof value !== 'number') return mismatch('integer', value, at, errs);
    const [min, max] = INT32.has(type) ? [-(2 ** 31), 2 ** 31 - 1] : [0, 2 ** 32 - 1];
    if (!Number.isInteger(value)) {
      errs.add(at, `expected integer, got ${value}`);
      return undefined;
    }
    if (value < min || value > max) {
      errs.add(at, `expected integer, got ${value} (out of ${type} range)`);
      return undefined;
    }
    return value;
  }
  if (INT64.has(type) || UINT64.has(type)) {
    // The proto JSON mapping writes 64-bit integers as strings; manifests may use plain numbers.
    const signed = INT64.has(type);
    let big: bigint;
    if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
    else if (typeof value === 'string' && /^-?\d+$/.test(value)) big = BigInt(value);
    else if (typeof value === 'number' || typeof value === 'string') {
      errs.add(at, `expected integer, got ${JSON.stringify(value)}`);
      return undefined;
    } else return mismatch('integer', value, at, errs);
    const [min, max] = signed ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    if (big < min || big > max) {
      errs.add(at, `expected integer, got ${String(value)} (out of ${type} range)`);
      return undefined;
    }
    return value;
  }
  throw new Error(`schema: unsupported proto scalar type ${type}`);
}

/** A generated message type as it looks after conformToMessage: plain JSON with every field optional. */
export type Conformed<T> = T extends (infer U)[]
  ? Conformed<U>[]
  : T extends object
    ? string extends keyof T
      ? { [key: string]: Conformed<T[keyof T]> }
      : { [K in keyof T]?: Conformed<T[K]> }
    : T;
