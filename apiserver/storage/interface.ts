// The storage contract the API server needs from a backend. etcd implements it (etcd.ts); any other
// backend must pass the same conformance suite (conformance.ts).
import type { Resource } from '../../lib/api/resource.js';

/** One stored object. `revision` is the backend's modification revision (etcd: mod_revision). */
export interface StoredObject {
  key: string;
  value: Resource;
  revision: string;
  /**
   * Set by reads from the backend: the stored bytes are not what writing `value` now would store
   * (encrypted under a key that is no longer the first, or not yet encrypted), so a write of the
   * same value is not a no-op. Undefined when unknown (a copy from the watch cache).
   */
  stale?: boolean;
}

export interface ListOptions {
  /** Maximum number of items; 0 or undefined = all. */
  limit?: number;
  /** Opaque token returned by a previous page; the next page is read at that page's revision. */
  continue?: string;
}

export interface ListResult {
  items: StoredObject[];
  /** The revision the list was read at. Watch from here (exclusive) to miss nothing. */
  revision: string;
  /** Set when more items remain. */
  continue?: string;
  remaining: number;
}

/** One key of a batch delete: removed only while its stored revision still equals `expectedRevision`. */
export interface BatchDeleteEntry {
  key: string;
  expectedRevision: string;
}

export interface BatchDeleteResult {
  deleted: number;
  /** Keys left in place because they changed since `expectedRevision` or were already gone. */
  skipped: string[];
}

export type StorageEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StorageEvent {
  type: StorageEventType;
  key: string;
  /**
   * For DELETED: the last value before deletion, its metadata.resourceVersion set to the delete's
   * revision (as Kubernetes does).
   */
  value: Resource;
  /** The revision of this change (for DELETED: the revision of the delete). */
  revision: string;
}

export interface StorageWatch {
  close(): void;
}

export interface WatchHandlers {
  onEvent(event: StorageEvent): void;
  /**
   * Optional: every change under the prefix up to `revision` has been delivered (etcd progress
   * notifications). Lets caches of quiet prefixes stay current with the store's revision.
   */
  onProgress?(revision: string): void;
  /** Called once; the watch is over. TooOldError when `fromRevision` was compacted. */
  onError(err: Error): void;
}

export interface Storage {
  /** Fails with AlreadyExistsError when the key exists. */
  create(key: string, value: Resource): Promise<StoredObject>;
  get(key: string): Promise<StoredObject | undefined>;
  /**
   * All keys under `prefix`, in key order, consistent at one revision across pages. Without a limit
   * the backend still reads in bounded pages (at one revision), never in one unbounded read.
   */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /**
   * Replaces the value. With `expectedRevision`, fails with ConflictError unless the stored
   * revision equals it (one compare-and-swap transaction). NotFoundError when absent.
   */
  update(key: string, value: Resource, expectedRevision?: string): Promise<StoredObject>;
  /**
   * Removes the key and returns what was stored, with the revision it was stored at (not the
   * revision of the delete). Conflict/NotFound as for update.
   */
  delete(key: string, expectedRevision?: string): Promise<StoredObject>;
  /**
   * Deletes many keys in as few round trips as the backend allows (etcd: transactions of at most
   * 128 operations), each under its own revision precondition. Not atomic as a whole. Watches see
   * one DELETED event per removed key, as for delete().
   */
  deleteMany(entries: BatchDeleteEntry[]): Promise<BatchDeleteResult>;
  /** Every change under `prefix` after `fromRevision` (exclusive), in revision order. */
  watch(prefix: string, fromRevision: string, handlers: WatchHandlers): StorageWatch;
  currentRevision(): Promise<string>;
  /**
   * Whether anything under `prefix` changed after revision `since`, up to and including `at`,
   * without reading the objects: lets a cache current to `since` prove it is current to `at`.
   * A compacted `since` counts as changed.
   */
  changedBetween(prefix: string, since: string, at: string): Promise<boolean>;
  /** Discards history before `revision`; later watches or continues from before it get TooOldError. */
  compact(revision: string): Promise<void>;
  close(): Promise<void>;
}
