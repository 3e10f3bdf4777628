// The events a watch delivers, and how one change looks to a watcher with a filter: an object
// entering the filter is ADDED, one leaving it is DELETED (Kubernetes cacher semantics).
import type { Resource } from '../../lib/api/resource.js';
import { withResourceVersion } from './revision.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/**
 * Objects are shared between watchers and the cache: treat them as read-only.
 * `object.metadata.resourceVersion` is the object's modification revision (for DELETED: the
 * revision of the delete), so it can be used for a compare-and-swap update.
 */
export interface WatchEvent {
  type: WatchEventType;
  /** Absent only for BOOKMARK. */
  object?: Resource;
  /** Resume a watch from here (exclusive) to continue after this event. */
  revision: string;
  /** MODIFIED only: the value before this change. */
  prevObject?: Resource;
}

export interface WatchOptions {
  /**
   * Exclusive. Undefined, '' or '0': first a synthetic ADDED for every current object (all
   * carrying the cache's revision), then live events. A client that disconnects before it has
   * seen them all must start over, not resume.
   */
  fromRevision?: string;
  /** Which objects this watcher wants; must not throw (a throwing filter ends the watch). */
  filter?: (obj: Resource) => boolean;
  /** Send a BOOKMARK with the cache's revision after bookmarkIntervalMs without events. */
  bookmarks?: boolean;
  /**
   * Hard cap on undelivered live events beyond the initial/replayed ones, however fast the client
   * reads: a memory bound, sized for a create, an update and a delete of 30,000 objects in a burst.
   * Events are shared with the cache, so each costs this watcher a reference. @default 100000
   */
  bufferSize?: number;
  /** A client with events waiting that takes none for this long is stuck and is cut off. @default 30000 */
  stallTimeoutMs?: number;
}

/** One change as the cache records it; given unchanged to watchers without a filter. */
export interface CacheEvent extends WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  object: Resource;
}

/** What a watcher with `filter` sees of `ev`, or undefined when the change is invisible to it. */
export function eventForWatcher(ev: CacheEvent, filter?: (obj: Resource) => boolean): WatchEvent | undefined {
  if (!filter) return ev;
  if (ev.type !== 'MODIFIED') return filter(ev.object) ? ev : undefined;
  const matchesNow = filter(ev.object);
  const matchedBefore = ev.prevObject !== undefined && filter(ev.prevObject);
  if (matchesNow && matchedBefore) return ev;
  if (matchesNow) return { type: 'ADDED', object: ev.object, revision: ev.revision };
  if (matchedBefore) {
    // The object is gone from this watcher's view: show the last state it matched in.
    return { type: 'DELETED', object: withResourceVersion(ev.prevObject!, ev.revision), revision: ev.revision };
  }
  return undefined;
}
