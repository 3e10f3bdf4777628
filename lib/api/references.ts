// Which ConfigMaps and Secrets an object reads: what the API server sends a node with the object, what
// an agent must resolve before it can run it, and what a ContainerSet hashes to roll out on config change.
import { composeStackReferences } from '../compose/references.js';
import type { ContainerSpec, DeepPartial } from '../gen/persys/v1/workloads.js';
import type { Resource } from './resource.js';

export type ConfigKind = 'Secret' | 'ConfigMap';

export interface ConfigRef {
  kind: ConfigKind;
  namespace: string;
  name: string;
}

/** `Secret/NAMESPACE/NAME` or `ConfigMap/NAMESPACE/NAME`: one string per referenced object. */
export const configRefKey = (r: ConfigRef): string => `${r.kind}/${r.namespace}/${r.name}`;

export function parseConfigRefKey(key: string): ConfigRef {
  const [kind, namespace, name] = key.split('/') as [ConfigKind, string, string];
  return { kind, namespace, name };
}

/** Adds refs without duplicates, keyed by configRefKey. */
export class ConfigRefSet {
  private readonly refs = new Map<string, ConfigRef>();
  constructor(readonly namespace: string) {}
  add(kind: ConfigKind, name: string | undefined): void {
    if (!name) return;
    const ref = { kind, namespace: this.namespace, name };
    this.refs.set(configRefKey(ref), ref);
  }
  list(): ConfigRef[] {
    return [...this.refs.values()];
  }
}

/** The ConfigMaps and Secrets a container spec reads: env, envFrom, volumes and imagePullSecrets. */
export function containerSpecReferences(spec: DeepPartial<ContainerSpec> | undefined, namespace: string): ConfigRef[] {
  const refs = new ConfigRefSet(namespace);
  for (const e of spec?.env ?? []) {
    refs.add('Secret', e?.valueFrom?.secretKeyRef?.name);
    refs.add('ConfigMap', e?.valueFrom?.configMapKeyRef?.name);
  }
  for (const e of spec?.envFrom ?? []) {
    refs.add('Secret', e?.secretRef?.name);
    refs.add('ConfigMap', e?.configMapRef?.name);
  }
  for (const v of spec?.volumes ?? []) {
    refs.add('Secret', v?.secret?.secretName);
    refs.add('ConfigMap', v?.configMap?.name);
  }
  for (const s of spec?.imagePullSecrets ?? []) refs.add('Secret', s?.name);
  return refs.list();
}

/** Every ConfigMap and Secret `obj` reads, for the kinds a node runs; [] for the others. */
export function referencedConfig(obj: Resource): ConfigRef[] {
  const namespace = obj.metadata.namespace || 'default';
  switch (obj.kind) {
    case 'Container':
      return containerSpecReferences(obj.spec, namespace);
    case 'ComposeStack':
      return composeStackReferences(obj, new ConfigRefSet(namespace));
    default:
      return [];
  }
}
