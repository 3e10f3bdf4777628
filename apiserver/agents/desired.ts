// What one node must know: the Containers and ComposeStacks bound to it, and the ConfigMaps and Secrets
// they read (lib/api/references.ts). Pure bookkeeping: turns watch events into the DesiredChanges the
// node's stream carries. A node is sent only the config objects its own workloads reference.
import { configRefKey, parseConfigRefKey, referencedConfig, type ConfigKind, type ConfigRef } from '../../lib/api/references.js';
import type { Resource } from '../../lib/api/resource.js';
import type { ComposeStackObject, ContainerObject } from '../../lib/api/typed.js';
import type { WatchEvent } from '../watch/event.js';
import { compareRevisions } from '../watch/revision.js';
import { deepEqual } from '../registry/merge.js';
import { API_VERSION } from '../../lib/api/kinds.js';

export interface DesiredChange {
  type: 'UPSERT' | 'DELETE';
  object: Resource;
}

/** The kinds whose objects a node receives because a bound workload reads them. */
export const CONFIG_KINDS: readonly ConfigKind[] = ['Secret', 'ConfigMap'];

const keyOf = (o: Resource) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

/** An object of a kind a node agent runs. */
type Workload = ContainerObject | ComposeStackObject;

/** The kinds a node agent runs; spec.nodeName binds one to a node. */
export const NODE_BOUND_KINDS = ['Container', 'ComposeStack'] as const;

export function isBoundTo(obj: Resource, node: string): boolean {
  return (NODE_BOUND_KINDS as readonly string[]).includes(obj.kind) && obj.spec?.nodeName === node;
}

/** Keys (configRefKey) of the ConfigMaps and Secrets a bound workload reads, in its own namespace. */
export function referencedConfigKeys(workload: Resource): string[] {
  return referencedConfig(workload).map(configRefKey);
}

/** Whether the change from `prev` to `next` touched only status and bookkeeping the agent does not use. */
export function onlyStatusChanged(prev: Resource, next: Resource): boolean {
  const strip = (o: Resource) => ({ ...o, status: undefined, metadata: { ...o.metadata, resourceVersion: undefined } });
  return deepEqual(strip(prev), strip(next));
}

/** Whether `next` carries an Unknown phase that `prev` did not: someone other than the agent wrote it. */
function markedUnknown(prev: Workload, next: Workload): boolean {
  const phase = (o: Workload) => o.status?.phase;
  return phase(next) === 'Unknown' && phase(prev) !== 'Unknown';
}

export class NodeDesiredState {
  /** Workloads (Containers, ComposeStacks) the node has been sent, by key. */
  private readonly workloads = new Map<string, Workload>();
  /** Config key (configRefKey) → keys of the sent workloads referring to it. */
  private readonly referrers = new Map<string, Set<string>>();
  /** Config key → resourceVersion last sent, so an older event never overwrites a newer copy. */
  private readonly sentConfig = new Map<string, string>();

  constructor(
    readonly node: string,
    /** The current ConfigMap or Secret, from the API server's watch cache; undefined when it does not exist. */
    private readonly configNow: (ref: ConfigRef) => Resource | undefined,
  ) {}

  /** The full desired state from a snapshot of the bound kinds (any node; filtered here). */
  initial(workloads: Iterable<Resource>): Resource[] {
    const out: Resource[] = [];
    for (const w of workloads) {
      if (!isBoundTo(w, this.node)) continue;
      for (const ch of this.upsertWorkload(w)) out.push(ch.object);
    }
    return out;
  }

  /** For the config watchers' filter: only ConfigMaps and Secrets some sent workload refers to are of interest. */
  isReferenced(config: Resource): boolean {
    return this.referrers.has(keyOf(config));
  }

  /** A Container or ComposeStack event from a watcher filtered to this node (leaving the node arrives as DELETED). */
  onWorkload(ev: WatchEvent): DesiredChange[] {
    const obj = ev.object;
    if (!obj || ev.type === 'BOOKMARK') return [];
    const key = keyOf(obj);
    if (ev.type === 'DELETED' || !isBoundTo(obj, this.node)) return this.removeWorkload(key);
    const prev = this.workloads.get(key);
    // Status is the agent's to write, so its changes need not go back to it; except a node controller's
    // Unknown (node lost), which only the agent can replace with the truth once the node is back.
    if (prev && onlyStatusChanged(prev, obj) && !markedUnknown(prev, obj)) {
      this.workloads.set(key, obj);
      return [];
    }
    return this.upsertWorkload(obj);
  }

  /** A Secret or ConfigMap event: forwarded whole (UPSERT) or as DELETE when a sent workload refers to it. */
  onConfig(ev: WatchEvent): DesiredChange[] {
    const obj = ev.object;
    if (!obj || ev.type === 'BOOKMARK') return [];
    const key = keyOf(obj);
    if (!this.referrers.has(key)) return [];
    const sent = this.sentConfig.get(key);
    const rv = obj.metadata.resourceVersion ?? '0';
    if (sent !== undefined && compareRevisions(rv, sent) <= 0) return [];
    if (ev.type === 'DELETED') {
      if (sent === undefined) return [];
      this.sentConfig.delete(key);
      return [keyOnlyDelete(obj.kind as ConfigKind, obj.metadata.namespace ?? '', obj.metadata.name ?? '')];
    }
    this.sentConfig.set(key, rv);
    return [{ type: 'UPSERT', object: obj }];
  }

  /** Config objects first, so the node can resolve env, volumes and pull credentials when the workload arrives. */
  private upsertWorkload(obj: Resource): DesiredChange[] {
    const key = keyOf(obj);
    const out: DesiredChange[] = [];
    const prev = this.workloads.get(key);
    const before = new Set(prev ? referencedConfigKeys(prev) : []);
    const now = referencedConfigKeys(obj);
    this.workloads.set(key, obj);
    for (const c of now) {
      let refs = this.referrers.get(c);
      if (!refs) this.referrers.set(c, (refs = new Set()));
      refs.add(key);
      if (this.sentConfig.has(c)) continue;
      const config = this.configNow(parseConfigRefKey(c));
      if (!config) continue;
      this.sentConfig.set(c, config.metadata.resourceVersion ?? '0');
      out.push({ type: 'UPSERT', object: config });
    }
    out.push({ type: 'UPSERT', object: obj });
    for (const c of before) if (!now.includes(c)) out.push(...this.dropReference(c, key));
    return out;
  }

  private removeWorkload(key: string): DesiredChange[] {
    const prev = this.workloads.get(key);
    if (!prev) return [];
    this.workloads.delete(key);
    const out: DesiredChange[] = [{ type: 'DELETE', object: prev }];
    for (const c of referencedConfigKeys(prev)) out.push(...this.dropReference(c, key));
    return out;
  }

  private dropReference(config: string, workload: string): DesiredChange[] {
    const refs = this.referrers.get(config);
    refs?.delete(workload);
    if (refs?.size) return [];
    this.referrers.delete(config);
    if (!this.sentConfig.has(config)) return [];
    this.sentConfig.delete(config);
    const { kind, namespace, name } = parseConfigRefKey(config);
    return [keyOnlyDelete(kind, namespace, name)];
  }
}

/** The node only needs the key to forget a ConfigMap or Secret: no data goes out with a DELETE. */
function keyOnlyDelete(kind: ConfigKind, namespace: string, name: string): DesiredChange {
  return { type: 'DELETE', object: { apiVersion: API_VERSION, kind, metadata: { namespace, name } } };
}
