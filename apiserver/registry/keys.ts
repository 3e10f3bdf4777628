// Where objects live in storage: one prefix per kind, then namespace (for namespaced kinds), then name.
import { findKind, type KindInfo } from '../../lib/api/kinds.js';
import { ApiStatusError } from '../api/status.js';
import { status as Code } from '@grpc/grpc-js';

export function resolveKind(name: string): KindInfo {
  const info = findKind(name);
  if (!info) {
    throw new ApiStatusError(Code.NOT_FOUND, `the server doesn't have a resource type "${name}"`);
  }
  return info;
}

export function objectKey(info: KindInfo, namespace: string, name: string): string {
  return info.namespaced ? `${info.plural}/${namespace}/${name}` : `${info.plural}/${name}`;
}

/** The prefix holding every object of a kind, or of a kind in one namespace. */
export function kindPrefix(info: KindInfo, namespace = ''): string {
  return info.namespaced && namespace ? `${info.plural}/${namespace}/` : `${info.plural}/`;
}

/** Namespaced kinds default to "default"; cluster-scoped kinds ignore the namespace. */
export function effectiveNamespace(info: KindInfo, namespace: string | undefined): string {
  return info.namespaced ? namespace || 'default' : '';
}
