// After the storage watch fails, a fresh list is compared with the cache to synthesize the
// changes watchers missed, so they stay consistent without re-listing themselves.
import type { Resource } from '../../lib/api/resource.js';
import type { StoredObject } from '../storage/interface.js';
import type { CacheEvent } from './event.js';
import { withResourceVersion } from './revision.js';

/**
 * Events that take `current` (key → object, resourceVersion = mod revision) to `listed`, all at
 * the list's `revision`: DELETED for vanished keys first, then ADDED/MODIFIED in key order.
 */
export function relistEvents(
  current: ReadonlyMap<string, Resource>,
  listed: readonly StoredObject[],
  revision: string,
): CacheEvent[] {
  const deleted: CacheEvent[] = [];
  const changed: CacheEvent[] = [];
  const listedKeys = new Set<string>();
  for (const item of listed) {
    listedKeys.add(item.key);
    const prev = current.get(item.key);
    if (prev?.metadata.resourceVersion === item.revision) continue;
    const object = withResourceVersion(item.value, item.revision);
    changed.push(
      prev
        ? { type: 'MODIFIED', key: item.key, object, prevObject: prev, revision }
        : { type: 'ADDED', key: item.key, object, revision },
    );
  }
  const vanished = [...current.keys()].filter((k) => !listedKeys.has(k)).sort();
  for (const key of vanished) {
    deleted.push({ type: 'DELETED', key, object: withResourceVersion(current.get(key)!, revision), revision });
  }
  return [...deleted, ...changed];
}
