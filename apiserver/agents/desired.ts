// What one node must know: the Containers and ComposeStacks bound to it and the Secrets Container env refers to. Pure
// bookkeeping: turns watch events into the DesiredChanges the node's stream carries.
import type { Resource } from '../../lib/api/resource.js';
import type { WatchEvent } from '../watch/event.js';
import { compareRevisions } from '../watch/revision.js';
import { deepEqual } from '../registry/merge.js';

export interface DesiredChange {
  type: 'UPSERT' | 'DELETE';
  object: Resource;
}

const keyOf = (o: Resource) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
const secretKey = (namespace: string, name: string) => `Secret/${namespace}/${name}`;

/** The kinds a node agent runs; spec.nodeName binds one to a node. */
export const NODE_BOUND_KINDS = ['Container', 'ComposeStack'] as const;

export function isBoundTo(obj: Resource, node: string): boolean {
  return (NODE_BOUND_KINDS as readonly string[]).includes(obj.kind) && obj.spec?.nodeName === node;
}

/** Keys of the Secrets a Container's env reads (same namespace, as in Kubernetes); none for other kinds. */
export function referencedSecrets(container: Resource): string[] {
  // A ComposeStack's spec.env is a map of interpolation variables, not a list of EnvVars.
  if (container.kind !== 'Container' || !Array.isArray(container.spec?.env)) return [];
  const ns = container.metadata.namespace ?? 'default';
  const names = new Set<string>();
  for (const e of container.spec.env as { valueFrom?: { secretKeyRef?: { name?: string } } }[]) {
    const name = e.valueFrom?.secretKeyRef?.name;
    if (name) names.add(secretKey(ns, name));
  }
  return [...names];
}

/** Whether the change from `prev` to `next` touched only status and bookkeeping the agent does not use. */
export function onlyStatusChanged(prev: Resource, next: Resource): boolean {
  const strip = (o: Resource) => ({ ...o, status: undefined, metadata: { ...o.metadata, resourceVersion: undefined } });
  return deepEqual(strip(prev), strip(next));
}

export class NodeDesiredState {
  /** Containers the node has been sent, by key. */
  private readonly containers = new Map<string, Resource>();
  /** Secret key → keys of the sent containers referring to it. */
  private readonly referrers = new Map<string, Set<string>>();
  /** Secret key → resourceVersion last sent, so an older event never overwrites a newer copy. */
  private readonly sentSecrets = new Map<string, string>();

  constructor(
    readonly node: string,
    private readonly secretNow: (key: { namespace: string; name: string }) => Resource | undefined,
  ) {}

  /** The full desired state from a snapshot of the bound kinds (any node; filtered here). */
  initial(containers: Iterable<Resource>): Resource[] {
    const out: Resource[] = [];
    for (const c of containers) {
      if (!isBoundTo(c, this.node)) continue;
      for (const ch of this.upsertContainer(c)) out.push(ch.object);
    }
    return out;
  }

  /** For the Secret watcher's filter: only Secrets some sent container refers to are of interest. */
  isReferenced(secret: Resource): boolean {
    return this.referrers.has(keyOf(secret));
  }

  /** A Container or ComposeStack event from a watcher filtered to this node (leaving the node arrives as DELETED). */
  onWorkload(ev: WatchEvent): DesiredChange[] {
    const obj = ev.object;
    if (!obj || ev.type === 'BOOKMARK') return [];
    const key = keyOf(obj);
    if (ev.type === 'DELETED' || !isBoundTo(obj, this.node)) return this.removeContainer(key);
    const prev = this.containers.get(key);
    if (prev && onlyStatusChanged(prev, obj)) {
      this.containers.set(key, obj);
      return [];
    }
    return this.upsertContainer(obj);
  }

  onSecret(ev: WatchEvent): DesiredChange[] {
    const obj = ev.object;
    if (!obj || ev.type === 'BOOKMARK') return [];
    const key = keyOf(obj);
    if (!this.referrers.has(key)) return [];
    const sent = this.sentSecrets.get(key);
    const rv = obj.metadata.resourceVersion ?? '0';
    if (sent !== undefined && compareRevisions(rv, sent) <= 0) return [];
    if (ev.type === 'DELETED') {
      if (sent === undefined) return [];
      this.sentSecrets.delete(key);
      return [{ type: 'DELETE', object: obj }];
    }
    this.sentSecrets.set(key, rv);
    return [{ type: 'UPSERT', object: obj }];
  }

  /** Secrets first, so the node can resolve the container's env when the container arrives. */
  private upsertContainer(obj: Resource): DesiredChange[] {
    const key = keyOf(obj);
    const out: DesiredChange[] = [];
    const before = new Set(this.containers.has(key) ? referencedSecrets(this.containers.get(key)!) : []);
    const now = referencedSecrets(obj);
    this.containers.set(key, obj);
    for (const s of now) {
      let refs = this.referrers.get(s);
      if (!refs) this.referrers.set(s, (refs = new Set()));
      refs.add(key);
      if (this.sentSecrets.has(s)) continue;
      const [, namespace, name] = s.split('/') as [string, string, string];
      const secret = this.secretNow({ namespace, name });
      if (!secret) continue;
      this.sentSecrets.set(s, secret.metadata.resourceVersion ?? '0');
      out.push({ type: 'UPSERT', object: secret });
    }
    out.push({ type: 'UPSERT', object: obj });
    for (const s of before) if (!now.includes(s)) out.push(...this.dropReference(s, key));
    return out;
  }

  private removeContainer(key: string): DesiredChange[] {
    const prev = this.containers.get(key);
    if (!prev) return [];
    this.containers.delete(key);
    const out: DesiredChange[] = [{ type: 'DELETE', object: prev }];
    for (const s of referencedSecrets(prev)) out.push(...this.dropReference(s, key));
    return out;
  }

  private dropReference(secret: string, container: string): DesiredChange[] {
    const refs = this.referrers.get(secret);
    refs?.delete(container);
    if (refs?.size) return [];
    this.referrers.delete(secret);
    if (!this.sentSecrets.has(secret)) return [];
    this.sentSecrets.delete(secret);
    const [, namespace, name] = secret.split('/') as [string, string, string];
    // The node only needs the key to forget it.
    return [{ type: 'DELETE', object: { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { namespace, name } } }];
  }
}
