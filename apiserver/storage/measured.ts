// A Storage decorator that times every backend call into etcd_request_duration_seconds and counts
// the failed ones in etcd_request_errors_total.
import type { Counter, Histogram } from 'prom-client';
import type { BatchDeleteEntry, ListOptions, Storage, StorageWatch, WatchHandlers } from './interface.js';
import type { Resource } from '../../lib/api/resource.js';
import { AlreadyExistsError, ConflictError, InvalidRequestError, NotFoundError, TooOldError } from './errors.js';

const ANSWERS = [NotFoundError, AlreadyExistsError, ConflictError, TooOldError, InvalidRequestError];

/**
 * Whether an error is etcd failing, not etcd answering: the typed storage errors (not found, already
 * exists, conflict, too old, invalid request) are answers a caller expects now and then.
 */
export function isEtcdFailure(err: unknown): boolean {
  return !ANSWERS.some((answer) => err instanceof answer);
}

export class MeasuredStorage implements Storage {
  constructor(
    private readonly inner: Storage,
    private readonly duration: Histogram<'operation'>,
    private readonly errors?: Counter<'operation'>,
  ) {}

  private async time<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const end = this.duration.startTimer({ operation });
    try {
      return await call();
    } catch (err) {
      if (isEtcdFailure(err)) this.errors?.inc({ operation });
      throw err;
    } finally {
      end();
    }
  }

  create(key: string, value: Resource) {
    return this.time('create', () => this.inner.create(key, value));
  }
  get(key: string) {
    return this.time('get', () => this.inner.get(key));
  }
  list(prefix: string, options?: ListOptions) {
    return this.time('list', () => this.inner.list(prefix, options));
  }
  update(key: string, value: Resource, expectedRevision?: string) {
    return this.time('update', () => this.inner.update(key, value, expectedRevision));
  }
  delete(key: string, expectedRevision?: string) {
    return this.time('delete', () => this.inner.delete(key, expectedRevision));
  }
  deleteMany(entries: BatchDeleteEntry[]) {
    return this.time('deleteMany', () => this.inner.deleteMany(entries));
  }
  watch(prefix: string, fromRevision: string, handlers: WatchHandlers): StorageWatch {
    return this.inner.watch(prefix, fromRevision, handlers);
  }
  currentRevision() {
    return this.time('currentRevision', () => this.inner.currentRevision());
  }
  changedBetween(prefix: string, since: string, at: string) {
    return this.time('changedBetween', () => this.inner.changedBetween(prefix, since, at));
  }
  compact(revision: string) {
    return this.time('compact', () => this.inner.compact(revision));
  }
  close() {
    return this.inner.close();
  }
}
