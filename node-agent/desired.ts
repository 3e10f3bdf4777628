// What the API server says this node must run: a complete snapshot (DesiredState) then changes
// (DesiredChange), held by object key; and the bytes of the ConfigMaps and Secrets its Containers read.
import type { ConfigKind } from '../lib/api/references.js';
import type { Resource } from '../lib/api/resource.js';
import type { ConfigMapObject, SecretObject } from '../lib/api/typed.js';

/** A ConfigMap's or Secret's keys and their bytes; undefined when no such object is desired on this node. */
export type ConfigLookup = (kind: ConfigKind, namespace: string, name: string) => ReadonlyMap<string, Buffer> | undefined;

const keyOf = (o: Resource) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export class DesiredState {
  private readonly objects = new Map<string, Resource>();
  private known = false;

  /** False until the first complete snapshot: until then nothing on the engine may be judged an orphan. */
  get synced(): boolean {
    return this.known;
  }

  replace(objects: Resource[]): void {
    this.objects.clear();
    for (const o of objects) this.objects.set(keyOf(o), o);
    this.known = true;
  }

  upsert(obj: Resource): void {
    this.objects.set(keyOf(obj), obj);
  }

  /** Deletes the object under obj's key, unless the stored one is a newer incarnation (another uid). */
  delete(obj: Resource): void {
    const key = keyOf(obj);
    const cur = this.objects.get(key);
    if (cur && (!obj.metadata.uid || !cur.metadata.uid || cur.metadata.uid === obj.metadata.uid)) this.objects.delete(key);
  }

  all(): Resource[] {
    return [...this.objects.values()];
  }

  get(kind: string, namespace: string, name: string): Resource | undefined {
    return this.objects.get(`${kind}/${namespace}/${name}`);
  }

  /**
   * The keys of a ConfigMap (`data` UTF-8 text, `binaryData` base64) or a Secret (`data` base64, the
   * API's form; `stringData` accepted for keys `data` lacks), decoded to the exact bytes.
   */
  configData(kind: ConfigKind, namespace: string, name: string): ReadonlyMap<string, Buffer> | undefined {
    const obj = this.get(kind, namespace, name);
    if (!obj) return undefined;
    const out = new Map<string, Buffer>();
    if (kind === 'ConfigMap') {
      const cm: ConfigMapObject = obj;
      for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(v, 'utf8'));
      for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
    } else {
      const secret: SecretObject = obj;
      for (const [k, v] of Object.entries(secret.stringData ?? {})) out.set(k, Buffer.from(v, 'utf8'));
      for (const [k, v] of Object.entries(secret.data ?? {})) out.set(k, Buffer.from(v, 'base64'));
    }
    return out;
  }
}
