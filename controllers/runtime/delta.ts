// What a fresh list means for an informer's cache: the adds, updates and (synthesized) deletes that
// bring the cache from what it held to what the server now has. Pure, so the re-list path is testable.
import type { Resource } from '../../lib/api/resource.js';
import { objectKey } from './keys.js';

export type Delta =
  | { type: 'add'; key: string; object: Resource }
  | { type: 'update'; key: string; old: Resource; object: Resource }
  | { type: 'delete'; key: string; object: Resource };

/**
 * Deltas from `cached` (key → object) to `listed`. Objects whose resourceVersion did not change
 * give nothing; a key whose uid changed was deleted and re-created while we were not watching, so it
 * gives a delete of the old object then an add of the new one (owner indexes key on uid). Cached
 * keys missing from the list were deleted meanwhile: the delete carries the last object we knew.
 */
export function diffList(cached: ReadonlyMap<string, Resource>, listed: readonly Resource[]): Delta[] {
  const deltas: Delta[] = [];
  const seen = new Set<string>();
  for (const object of listed) {
    const key = objectKey(object);
    seen.add(key);
    const old = cached.get(key);
    if (!old) {
      deltas.push({ type: 'add', key, object });
    } else if (old.metadata.uid && object.metadata.uid && old.metadata.uid !== object.metadata.uid) {
      deltas.push({ type: 'delete', key, object: old }, { type: 'add', key, object });
    } else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) {
      deltas.push({ type: 'update', key, old, object });
    }
  }
  for (const [key, old] of cached) {
    if (!seen.has(key)) deltas.push({ type: 'delete', key, object: old });
  }
  return deltas;
}
