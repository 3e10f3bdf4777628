// What the API server says this node must run: a complete snapshot (DesiredState) then changes
// (DesiredChange), held by object key; and the Secrets' values that container env refers to.
import type { Resource } from '../lib/api/resource.js';

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

  /** A Secret key's value: `data` is base64 (the API's form); `stringData` is accepted as well. */
  resolveSecret(namespace: string, name: string, key: string): string | undefined {
    const secret = this.get('Secret', namespace, name);
    if (!secret) return undefined;
    const data = secret['data'] as Record<string, string> | undefined;
    if (data?.[key] !== undefined) return Buffer.from(data[key], 'base64').toString('utf8');
    return (secret['stringData'] as Record<string, string> | undefined)?.[key];
  }
}
