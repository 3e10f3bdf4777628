// Rollout on config change, pure: which ConfigMaps and Secrets a ContainerSet with
// spec.rolloutOnConfigChange hashes, the hash of their content, and which sets a config event requeues.
import { createHash } from 'node:crypto';
import { CONFIG_HASH_ANNOTATION } from '../../lib/api/annotations.js';
import { configRefKey, containerSpecReferences, type ConfigKind, type ConfigRef } from '../../lib/api/references.js';
import type { Resource } from '../../lib/api/resource.js';
import { stableJson } from '../../lib/api/stable-json.js';
import type { IndexFunc } from '../runtime/indexers.js';
import { objectKey } from '../runtime/keys.js';

/** Index of the ContainerSet informer: configRefKey → sets that roll out when that object changes. */
export const BY_ROLLOUT_CONFIG_REF = 'rolloutOnConfigChange.configRef';

/**
 * The ConfigMaps and Secrets whose content a set's replicas depend on; [] unless the set opts in.
 * imagePullSecrets are left out: new registry credentials must not replace running replicas.
 */
export function rolloutConfigRefs(set: Resource): ConfigRef[] {
  if (!set.spec?.rolloutOnConfigChange) return [];
  const spec = set.spec.template?.spec;
  if (!spec) return [];
  return containerSpecReferences({ ...spec, imagePullSecrets: [] }, set.metadata.namespace || 'default');
}

export const indexByRolloutConfigRef: IndexFunc = (set) => rolloutConfigRefs(set).map(configRefKey);

/** The index value of a ConfigMap or Secret itself. */
export function configKeyOf(obj: Resource): string {
  return configRefKey({ kind: obj.kind as ConfigKind, namespace: obj.metadata.namespace || 'default', name: obj.metadata.name ?? '' });
}

// What a replica sees of a ConfigMap or Secret. Empty maps equal absent ones (the JSON form omits them);
// metadata, labels and `immutable` never reach the container, so they never roll a set.
function content(obj: Resource): Record<string, unknown> {
  const map = (v: unknown) => (v && typeof v === 'object' && Object.keys(v).length > 0 ? v : undefined);
  return { type: obj['type'] || undefined, data: map(obj['data']), binaryData: map(obj['binaryData']), stringData: map(obj['stringData']) };
}

/**
 * A stable hash of the referenced objects' content: ref order never changes it, a missing object hashes
 * as "absent", and a one-way hash keeps Secret values out of the annotation.
 */
export function configHash(refs: ConfigRef[], lookup: (ref: ConfigRef) => Resource | undefined): string {
  const entries = refs
    .map((ref) => [configRefKey(ref), ref] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, ref]) => {
      const obj = lookup(ref);
      return [key, obj ? content(obj) : 'absent'];
    });
  return createHash('sha256').update(stableJson(entries)).digest('hex').slice(0, 16);
}

/** The template replicas are made from: the set's own, plus the config hash when there is one. */
export function templateWithConfigHash(template: Resource['spec'], hash: string | undefined): Resource['spec'] {
  if (hash === undefined) return template;
  const t = template ?? {};
  return { ...t, metadata: { ...(t.metadata ?? {}), annotations: { ...(t.metadata?.annotations ?? {}), [CONFIG_HASH_ANNOTATION]: hash } } };
}

/** Whether an update of a ConfigMap or Secret changed what replicas see. */
export function contentChanged(old: Resource, obj: Resource): boolean {
  return stableJson(content(old)) !== stableJson(content(obj));
}

/**
 * The ContainerSet keys to reconcile after a ConfigMap or Secret event (old is set for updates);
 * `setsReferencing` reads BY_ROLLOUT_CONFIG_REF. An update that leaves the content alone requeues nothing.
 */
export function setsToRequeue(obj: Resource, old: Resource | undefined, setsReferencing: (configKey: string) => Resource[]): string[] {
  if (old && !contentChanged(old, obj)) return [];
  return setsReferencing(configKeyOf(obj)).map(objectKey);
}
