// The key a controller queues for an object: "namespace/name", or "name" when cluster-scoped
// (client-go's MetaNamespaceKeyFunc), and its inverse.
import type { Resource } from '../../lib/api/resource.js';

export function objectKey(obj: Pick<Resource, 'metadata'>): string {
  const { namespace, name } = obj.metadata;
  return namespace ? `${namespace}/${name ?? ''}` : (name ?? '');
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
