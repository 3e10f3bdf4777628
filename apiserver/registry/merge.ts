// Pure object algebra for the registry: deep equality, what counts as a spec change, and apply's
// three-way merge of the live object, the last applied manifest and the new manifest.
import type { Resource } from '../../lib/api/resource.js';

type Json = unknown;

function isPlainObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Everything users declare: all top-level fields except metadata and status (spec, data, …). */
export function declaredFields(obj: Resource): Record<string, Json> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/** Generation moves only when what users declare changes, never for metadata or status. */
export function declaredFieldsChanged(a: Resource, b: Resource): boolean {
  return !deepEqual(declaredFields(a), declaredFields(b));
}

/**
 * kubectl's client-side apply, done on the server: start from `live`, set every field of `applied`,
 * and delete the fields that `lastApplied` had but `applied` no longer has. Objects merge key by key;
 * arrays and scalars are replaced whole. Fields nobody applied (defaults, controller-set fields such
 * as spec.nodeName) are kept.
 */
export function mergeApplied(live: Json, lastApplied: Json, applied: Json): Json {
  if (!isPlainObject(applied) || !isPlainObject(live)) return clone(applied);
  const last = isPlainObject(lastApplied) ? lastApplied : {};
  const out: Record<string, Json> = { ...live };
  for (const [k, v] of Object.entries(applied)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(live[k]) ? mergeApplied(live[k], last[k], v) : clone(v);
  }
  for (const k of Object.keys(last)) {
    if (!(k in applied)) delete out[k];
  }
  return out;
}
