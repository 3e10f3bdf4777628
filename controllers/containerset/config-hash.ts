// Rollout on config change, pure: which ConfigMaps and Secrets a ContainerSet with
// spec.rolloutOnConfigChange hashes, the hash of their content, and which sets a config event requeues.
import { createHash } from 'node:crypto';
import { CONFIG_HASH_ANNOTATION } from '../../lib/api/annotations.js';
import { configRefKey, containerSpecReferences, type ConfigKind, type ConfigRef } from '../../lib/api/references.js';
import type { ConfigMapObject, ContainerSetObject, SecretObject } from '../../lib/api/typed.js';
import { stableJson } from '../../lib/api/stable-json.js';
import type { IndexFunc } from '../runtime/indexers.js';
import { objectKey } from '../runtime/keys.js';

/** Index of the ContainerSet informer: configRefKey → sets that roll out when that object changes. */
export const BY_ROLLOUT_CONFIG_REF = 'rolloutOnConfigChange.configRef';

/** A ConfigMap or a Secret: what replicas read besides their spec. */
export type ConfigObject = ConfigMapObject | SecretObject;

/** A ContainerSet's template (spec.template). */
export type ContainerTemplateJson = NonNullable<ContainerSetObject['spec']>['template'];

/**
 * The ConfigMaps and Secrets whose content a set's replicas depend on; [] unless the set opts in.
 * imagePullSecrets are left out: new registry credentials must not replace running replicas.
 */
export function rolloutConfigRefs(set: ContainerSetObject): ConfigRef[] {
  if (!set.spec?.rolloutOnConfigChange) return [];
  const spec = set.spec.template?.spec;
  if (!spec) return [];
  return containerSpecReferences({ ...spec, imagePullSecrets: [] }, set.metadata.namespace || 'default');
}

export const indexByRolloutConfigRef: IndexFunc = (set) => rolloutConfigRefs(set).map(configRefKey);

/** The index value of a ConfigMap or Secret itself. */
export function configKeyOf(obj: ConfigObject): string {
  return configRefKey({ kind: obj.kind as ConfigKind, namespace: obj.metadata.namespace || 'default', name: obj.metadata.name ?? '' });
}

// What a replica sees of a ConfigMap or Secret. Empty maps equal absent ones (the JSON form omits them);
// metadata, labels and `immutable` never reach the container, so they never roll a set.
function content(obj: ConfigObject): Record<string, unknown> {
  const map = (v: Record<string, string> | undefined) => (v && Object.keys(v).length > 0 ? v : undefined);
  const secret = obj as SecretObject;
  const configMap = obj as ConfigMapObject;
  return { type: secret.type || undefined, data: map(obj.data), binaryData: map(configMap.binaryData), stringData: map(secret.stringData) };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The digest of what replicas see of one ConfigMap or Secret. */
export function contentDigest(obj: ConfigObject): string {
  return sha256(stableJson(content(obj)));
}

/**
 * A stable hash of the referenced objects' content from their digests (undefined: the object is missing,
 * hashed as "absent"). Ref order never changes it; a one-way hash keeps Secret values out of the annotation.
 */
export function configHash(refs: ConfigRef[], digestOf: (ref: ConfigRef) => string | undefined): string {
  const entries = refs
    .map((ref) => [configRefKey(ref), ref] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, ref]) => [key, digestOf(ref) ?? 'absent']);
  return sha256(stableJson(entries)).slice(0, 16);
}

/**
 * Digests by object and resourceVersion: a set is reconciled on every status change of its replicas, and
 * a ConfigMap may hold 1 MiB, so each version of an object is hashed once. Holds only referenced objects.
 */
export class ContentDigestCache {
  private readonly digests = new Map<string, { resourceVersion: string; digest: string }>();

  digest(obj: ConfigObject): string {
    const key = configKeyOf(obj);
    const rv = obj.metadata.resourceVersion ?? '';
    const hit = this.digests.get(key);
    if (hit && rv && hit.resourceVersion === rv) return hit.digest;
    const digest = contentDigest(obj);
    this.digests.set(key, { resourceVersion: rv, digest });
    return digest;
  }

  forget(obj: ConfigObject): void {
    this.digests.delete(configKeyOf(obj));
  }
}

/** The template replicas are made from: the set's own, plus the config hash when there is one. */
export function templateWithConfigHash(template: ContainerTemplateJson, hash: string | undefined): ContainerTemplateJson {
  if (hash === undefined) return template;
  const t = template ?? {};
  return { ...t, metadata: { ...(t.metadata ?? {}), annotations: { ...(t.metadata?.annotations ?? {}), [CONFIG_HASH_ANNOTATION]: hash } } };
}

/** Whether an update of a ConfigMap or Secret changed what replicas see. */
export function contentChanged(old: ConfigObject, obj: ConfigObject): boolean {
  return stableJson(content(old)) !== stableJson(content(obj));
}

/**
 * The ContainerSet keys to reconcile after a ConfigMap or Secret event (old is set for updates);
 * `setsReferencing` reads BY_ROLLOUT_CONFIG_REF. An update that leaves the content alone requeues nothing.
 */
export function setsToRequeue(obj: ConfigObject, old: ConfigObject | undefined, setsReferencing: (configKey: string) => ContainerSetObject[]): string[] {
  if (old && !contentChanged(old, obj)) return [];
  return setsReferencing(configKeyOf(obj)).map(objectKey);
}
