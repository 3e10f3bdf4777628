// The labels persys puts on every Docker object it creates: they are how the agent finds its own
// objects again after a restart, and what keeps it away from everything else on the host.
import { createHash } from 'node:crypto';
import type { Resource } from '../../lib/api/resource.js';

export const LABEL_UID = 'dev.persys.uid';
export const LABEL_KIND = 'dev.persys.kind';
export const LABEL_NAMESPACE = 'dev.persys.namespace';
export const LABEL_NAME = 'dev.persys.name';
export const LABEL_NODE = 'dev.persys.node';
/** Hash of the ContainerSpec fields that need a new container when they change (see specHash). */
export const LABEL_SPEC_HASH = 'dev.persys.spec-hash';

/** Identity labels for a Docker object created for `obj` on `node`. */
export function labelsFor(obj: Resource, node: string): Record<string, string> {
  const uid = obj.metadata.uid;
  if (!uid) throw new Error(`${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''} has no metadata.uid`);
  return {
    [LABEL_UID]: uid,
    [LABEL_KIND]: obj.kind,
    [LABEL_NAMESPACE]: obj.metadata.namespace ?? '',
    [LABEL_NAME]: obj.metadata.name ?? '',
    [LABEL_NODE]: node,
  };
}

/**
 * Labels for a named volume a container mounts. No uid: a volume outlives the container that first
 * created it and may be shared, so nothing may treat it as owned by (and collectable with) that one.
 */
export function volumeLabelsFor(obj: Resource, node: string): Record<string, string> {
  const { [LABEL_UID]: _uid, ...rest } = labelsFor(obj, node);
  return rest;
}

/**
 * Fields that do not shape the Docker container: scheduling (nodeName, nodeSelector), requests (the
 * scheduler's) and restartPolicy (the agent restarts containers itself). Changing them alone must not
 * recreate a container, as Compose leaves scale out of its config-hash.
 */
const NOT_HASHED = new Set(['nodeName', 'nodeSelector', 'restartPolicy']);

/**
 * SHA-256 of the recreate-relevant ContainerSpec fields, canonicalised so that an absent field, an
 * empty list and a proto default ('' / 0 / false) hash alike, and map key order does not matter.
 * Secret references are hashed, not their values: like Kubernetes, a rotated secret reaches env only
 * when the container is recreated for another reason.
 */
export function specHash(spec: Record<string, any> | undefined): string {
  const s: Record<string, any> = {};
  for (const [k, v] of Object.entries(spec ?? {})) if (!NOT_HASHED.has(k)) s[k] = v;
  if (s.resources) s.resources = { limits: s.resources.limits };
  if (Array.isArray(s.ports)) {
    s.ports = s.ports.map((p: Record<string, any>) => ({ ...p, protocol: (p.protocol || 'TCP').toUpperCase() }));
  }
  return createHash('sha256').update(JSON.stringify(canonical(s) ?? {})).digest('hex');
}

function canonical(v: unknown): unknown {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return undefined;
  if (Array.isArray(v)) {
    const items = v.map((x) => canonical(x) ?? null);
    return items.length ? items : undefined;
  }
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const c = canonical((v as Record<string, unknown>)[k]);
      if (c !== undefined) out[k] = c;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}
