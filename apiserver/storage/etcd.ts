// The etcd implementation of Storage: objects are JSON under one key prefix, resourceVersion is the
// key's mod_revision, and every conditional write is a single etcd transaction.
import type { Etcd3, IKeyValue, ICompare, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { Resource } from '../../lib/api/resource.js';
import { DecryptError, UnknownKeyError } from '../encryption/cipher.js';
import type { ValueTransformer } from '../encryption/transformer.js';
import { CreateBatcher } from './create-batch.js';
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  InvalidRequestError,
  StorageError,
  TooOldError,
  UndecryptableError,
  type UndecryptableValue,
} from './errors.js';
import { encodeContinue, parseContinue } from './continue.js';
import { newEtcdClient, type BreakerStateListener } from './etcd-client.js';
import type {
  BatchDeleteEntry,
  BatchDeleteResult,
  ListOptions,
  ListResult,
  Storage,
  StorageEvent,
  StoredObject,
  StorageWatch,
  WatchHandlers,
} from './interface.js';

export interface EtcdStorageOptions {
  endpoints: string[];
  /** Every key is stored under `${prefix}/`. @default '/persys' */
  prefix?: string;
  /** A client owned by the caller; close() then leaves it open. */
  client?: Etcd3;
  /** Where failures that reach no caller (closing a watch) are reported. */
  logger?: Logger;
  /** Told each member's breaker state (not with `client`: its owner chose its fault handling). */
  onBreakerState?: BreakerStateListener;
  /**
   * Between serialized objects and etcd's bytes (encryption at rest). Every read goes through it:
   * gets, lists, watch events and the values deletes return. @default values stored as they are
   */
  transformer?: ValueTransformer;
}

/** The outcome of one kube-apiserver-style compaction turn (see compactInTurn). */
export interface CompactionTurn {
  /** The version of the compaction key: a logical clock shared by every API server. */
  time: number;
  /** The revision observed now; the next turn compacts up to it. */
  revision: string;
  /** True when this call won the turn and compacted. */
  compacted: boolean;
}

/** Same key and scheme as kube-apiserver, so API servers (even kube's) sharing one etcd take turns. */
export const COMPACT_REV_KEY = 'compact_rev_key';

/**
 * Keys per etcd range when a list asks for no limit (client-go pages by 500 too): a few hundred KB
 * at typical object sizes, so no etcd response grows with the number of objects stored.
 */
export const LIST_CHUNK = 500;
/** etcd's default --max-txn-ops: the most compares, or operations, one transaction may hold. */
export const MAX_TXN_OPS = 128;
/**
 * etcd's default --max-request-bytes (1.5 MiB). A larger write is refused here, as INVALID_ARGUMENT:
 * sent, etcd's gRPC layer answers RESOURCE_EXHAUSTED, which the etcd3 client treats as a transport
 * fault and answers by resetting the connection every other call shares.
 */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** Room left in a request for the transaction around one key and value. */
const TXN_OVERHEAD_BYTES = 1024;
/** Batch-delete transactions in flight at once. */
const DELETE_CONCURRENCY = 8;

export class EtcdStorage implements Storage {
  private readonly client: Etcd3;
  private readonly ownsClient: boolean;
  /** Always ends in '/', so prefix '/persys' never sees keys of '/persys2'. */
  private readonly root: string;
  private readonly logger?: Logger;
  private readonly transformer?: ValueTransformer;
  private readonly watches = new Set<EtcdWatch>();
  private readonly creates = new CreateBatcher({
    commitAll: async (batch) => {
      const res = await this.client.kv.txn({
        compare: batch.map(({ key }) => ({ key, target: 'Create', result: 'Equal', create_revision: 0 }) as ICompare),
        success: batch.map(({ key, value }) => ({ request_put: { key, value } })),
      });
      return { succeeded: res.succeeded, revision: res.header.revision };
    },
    commitOne: async ({ key, value }) => {
      const res = await this.client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value } }],
      });
      if (!res.succeeded) throw new AlreadyExistsError(this.rel(key));
      return res.header.revision;
    },
  });

  constructor(opts: EtcdStorageOptions) {
    this.ownsClient = !opts.client;
    this.client =
opts.client ?? newEtcdClient(opts.endpoints, opts.onBreakerState);
    this.root = `${(opts.prefix ?? '/persys').replace(/\/+$/, '')}/`;
    this.logger = opts.logger;
    this.transformer = opts.transformer;
  }

  /** Concurrent creates share one transaction (CreateBatcher), so they may share a revision. */
  async create(key: string, value: Resource): Promise<StoredObject> {
    const k = this.abs(key);
    const revision = await this.creates.create(k, fitting(key, k, this.seal(key, k, encode(value))));
    return stored(key, value, revision);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const res = await this.client.kv.range({ key: this.abs(key) });
    const kv = res.kvs[0];
    return kv ? this.decode(kv) : undefined;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    if (options.limit && options.limit > 0) return this.listPage(prefix, options);
    // Unbounded: pages at the first page's revision, so the whole is still one consistent snapshot.
    const items: StoredObject[] = [];
    let page: ListResult | undefined;
    let revision: string | undefined;
    do {
      page = await this.listPage(prefix, { limit: LIST_CHUNK, continue: page?.continue ?? options.continue });
      revision ??= page.revision;
      for (const item of page.items) items.push(item);
    } while (page.continue);
    return { items, revision: revision!, remaining: 0 };
  }

  private async listPage(prefix: string, options: ListOptions): Promise<ListResult> {
    const token = options.continue ? parseContinue(options.continue, prefix) : undefined;
    const limit = options.limit && options.limit > 0 ? options.limit : 0;
    let res;
    try {
      res = await this.client.kv.range({
        key: this.abs(token?.start ?? prefix),
        range_end: prefixEnd(this.abs(prefix)),
        limit,
        // A first page reads at the latest revision; every later page at that same revision.
        revision: token?.rev ?? 0,
      });
    } catch (err) {
      if (token && isCompacted(err)) throw new TooOldError(token.rev);
      throw err;
    }
    const revision = token?.rev ?? res.header.revision;
    const items = this.decodeAll(res.kvs);
    const remaining = Number(res.count) - items.length;
    const result: ListResult = { items, revision, remaining };
    if (res.more && items.length > 0) result.continue = encodeContinue(revision, items[items.length - 1]!.key);
    return result;
  }

  async update(key: string, value: Resource, expectedRevision?: string): Promise<StoredObject> {
    const k = this.abs(key);
    const res = await this.client.kv.txn({
      compare: this.preconditions(k, expectedRevision),
      success: [{ request_put: { key: k, value: fitting(key, k, this.seal(key, k, encode(value))) } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) this.throwFailed(key, res.responses[0]?.response_range.kvs[0], expectedRevision);
    return stored(key, value, res.header.revision);
  }

  async delete(key: string, expectedRevision?: string): Promise<StoredObject> {
    const k = this.abs(key);
    const res = await this.client.kv.txn({
      compare: this.preconditions(k, expectedRevision),
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    const found = res.responses[0];
    if (!res.succeeded) this.throwFailed(key, found?.response_range.kvs[0], expectedRevision);
    const prev = found?.response_delete_range.prev_kvs[0];
    // Unreachable while the txn compares Create > 0, but a missing prev_kv must not pass silently.
    if (!prev) throw new NotFoundError(key);
    return this.decode(prev);
  }

  async deleteMany(entries: BatchDeleteEntry[]): Promise<BatchDeleteResult> {
    const chunks: BatchDeleteEntry[][] = [];
    for (let i = 0; i < entries.length; i += MAX_TXN_OPS) chunks.push(entries.slice(i, i + MAX_TXN_OPS));
    const result: BatchDeleteResult = { deleted: 0, skipped: [] };
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) await this.deleteChunk(chunks[next++]!, result);
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, chunks.length) }, worker));
    return result;
  }

  // One transaction for the whole chunk; if any key changed, each key of the chunk goes alone so
  // the others are still deleted and only the changed ones are reported.
  private async deleteChunk(chunk: BatchDeleteEntry[], result: BatchDeleteResult): Promise<void> {
    const res = await this.client.kv.txn({
      // Mod == a real revision implies the key exists (a missing key's is 0): one compare per key.
      compare: chunk.map((e) => ({
        key: this.abs(e.key),
        target: 'Mod' as const,
        result: 'Equal' as const,
        mod_revision: /^[1-9]\d*$/.test(e.expectedRevision) ? e.expectedRevision : -1,
      })),
      success: chunk.map((e) => ({ request_delete_range: { key: this.abs(e.key) } })),
    });
    if (res.succeeded) {
      result.deleted += chunk.length;
      return;
    }
    for (const e of chunk) {
      try {
        await this.delete(e.key, e.expectedRevision);
        result.deleted++;
      } catch (err) {
        if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
        result.skipped.push(e.key);
      }
    }
  }

  /** Throws StorageError at once for a fromRevision that is not a decimal revision. */
  watch(prefix: string, fromRevision: string, handlers: WatchHandlers): StorageWatch {
    if (!/^\d+$/.test(fromRevision)) throw new InvalidRequestError(`invalid revision ${JSON.stringify(fromRevision)}`);
    const w = new EtcdWatch(this, prefix, fromRevision, handlers, () => this.watches.delete(w));
    this.watches.add(w);
    return w;
  }

  async currentRevision(): Promise<string> {
    // Linearizable, so the answer is never older than a write this process has seen acknowledged.
    const res = await this.client.kv.range({ key: Buffer.from(this.root), count_only: true });
    return res.header.revision;
  }

  async changedBetween(prefix: string, since: string, at: string): Promise<boolean> {
    if (BigInt(since) >= BigInt(at)) return false;
    const key = this.abs(prefix);
    const range_end = prefixEnd(key);
    // Keys that exist at `at` were all there, unmodified, at `since` when none has a newer
    // mod_revision; the sets are then equal when the counts are. One read-only transaction; the
    // counts come from etcd's index and the modified-key probe returns at most one key.
    let res;
    try {
      res = await this.client.kv.txn({
        success: [
          { request_range: { key, range_end, revision: at, count_only: true } },
          { request_range: { key, range_end, revision: since, count_only: true } },
          { request_range: { key, range_end, revision: at, keys_only: true, limit: 1, min_mod_revision: (BigInt(since) + 1n).toString() } },
        ],
      });
    } catch (err) {
      if (isCompacted(err)) return true;
      throw err;
    }
    const [now, then, modified] = res.responses.map((r) => r.response_range);
    return now!.count !== then!.count || modified!.kvs.length > 0;
  }

  /** Compacting at or below the current compaction revision is a no-op: that history is gone already. */
  async compact(revision: string): Promise<void> {
    try {
      await this.client.kv.compact({ revision, physical: false });
    } catch (err) {
      if (!isCompacted(err)) throw err;
    }
  }

  /**
   * One turn of kube-apiserver's compactor: compare-and-swap on the version of COMPACT_REV_KEY
   * (a logical clock), and only the API server whose `knownTime` matched compacts, up to the
   * `revision` it observed on its previous turn. Every other server learns the new time and
   * tries again next interval, so one compaction happens per interval however many servers run.
   * The key lives at the etcd root, not under the prefix, because compaction is etcd-wide.
   */
  async compactInTurn(knownTime: number, revision: string): Promise<CompactionTurn> {
    const key = Buffer.from(COMPACT_REV_KEY);
    const res = await this.client.kv.txn({
      compare: [{ key, target: 'Version', result: 'Equal', version: knownTime }],
      success: [{ request_put: { key, value: Buffer.from(revision) } }],
      failure: [{ request_range: { key } }],
    });
    const observed = res.header.revision;
    if (!res.succeeded) {
      const remote = Number(res.responses[0]?.response_range.kvs[0]?.version ?? 0);
      return { time: remote, revision: observed, compacted: false };
    }
    // The first turn only starts the clock: there is no revision from a previous turn yet.
    if (revision === '0') return { time: knownTime + 1, revision: observed, compacted: false };
    await this.compact(revision);
    return { time: knownTime + 1, revision: observed, compacted: true };
  }

  async close(): Promise<void> {
    for (const w of [...this.watches]) w.close();
    if (this.ownsClient) this.client.close();
  }

  /** @internal for EtcdWatch */
  startWatcher(prefix: string): Watcher {
    return this.client
      .watch()
      .inRange({ start: this.abs(prefix), end: prefixEnd(this.abs(prefix)) })
      .withPreviousKV()
      .watcher();
  }

  /** @internal for EtcdWatch: whether `revision` is older than the compaction revision. */
  async isCompacted(revision: string): Promise<boolean> {
    try {
      await this.client.kv.range({ key: Buffer.from(this.root), revision, count_only: true });
      return false;
    } catch (err) {
      if (isCompacted(err)) return true;
      throw err;
    }
  }

  /** @internal Throws UndecryptableError for a value the transformer cannot open. */
  decode(kv: IKeyValue, revision = kv.mod_revision): StoredObject {
    const key = this.rel(kv.key);
    let bytes = kv.value;
    let stale = false;
    if (this.transformer) {
      try {
        ({ plaintext: bytes, stale } = this.transformer.fromStorage(key, kv.value, kv.key));
      } catch (err) {
        if (err instanceof DecryptError) throw new UndecryptableError([undecryptable(kv.key, err)]);
        throw err;
      }
    }
    const value = JSON.parse(bytes.toString('utf8')) as Resource;
    // Freshly parsed, so stamping the revision in place is safe and saves a copy per event.
    (value.metadata ??= {}).resourceVersion = revision;
    return this.transformer ? { key, value, revision, stale } : { key, value, revision };
  }

  /** Every value of a page, or one UndecryptableError naming every value of it that cannot be read. */
  private decodeAll(kvs: IKeyValue[]): StoredObject[] {
    const items: StoredObject[] = [];
    const failed: UndecryptableValue[] = [];
    for (const kv of kvs) {
      try {
        items.push(this.decode(kv));
      } catch (err) {
        if (!(err instanceof UndecryptableError)) throw err;
        failed.push(...err.values);
      }
    }
    if (failed.length) throw new UndecryptableError(failed);
    return items;
  }

  private seal(key: string, k: Buffer, bytes: Buffer): Buffer {
    return this.transformer ? this.transformer.toStorage(key, bytes, k) : bytes;
  }

  /** @internal */
  reportDetached(what: string, err: unknown): void {
    this.logger?.warn({ err }, what);
  }

  private preconditions(k: Buffer, expectedRevision?: string): ICompare[] {
    // Create > 0 is "the key exists": without it, Mod == 0 would hold for a missing key.
    const exists: ICompare = { key: k, target: 'Create', result: 'Greater', create_revision: 0 };
    if (expectedRevision === undefined) return [exists];
    if (!/^[1-9]\d*$/.test(expectedRevision)) {
      // Not a revision etcd could have produced: compare against one that can never match.
      return [exists, { key: k, target: 'Mod', result: 'Equal', mod_revision: -1 }];
    }
    return [exists, { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }];
  }

  private throwFailed(key: string, current: IKeyValue | undefined, expectedRevision?: string): never {
    if (!current) throw new NotFoundError(key);
    throw new ConflictError(key, expectedRevision ?? '', current.mod_revision);
  }

  private abs(key: string): Buffer {
    return Buffer.from(this.root + key);
  }

  private rel(key: Buffer): string {
    return key.toString('utf8').slice(this.root.length);
  }
}

/**
 * One Storage watch over an etcd3 Watcher. The library reconnects by itself; this class keeps
 * the resume revision honest, turns a cancelled watch into one onError, and never lets an
 * exception escape the 'data' listener (there it would be an uncaught exception).
 */
class EtcdWatch implements StorageWatch {
  private readonly watcher: Watcher;
  /** The last revision handed to the caller; resume after it, never from the library's guess. */
  private delivered: bigint;
  private done = false;
  /** Set once etcd has cancelled the watch: detaching it again would wait forever. */
  private cancelledByServer = false;

  constructor(
    private readonly storage: EtcdStorage,
    prefix: string,
    fromRevision: string,
    private readonly handlers: WatchHandlers,
    private readonly onDone: () => void,
  ) {
    this.delivered = BigInt(fromRevision);
    this.watcher = storage.startWatcher(prefix);
    this.setStart();
    // etcd3 1.1.2 advances its resume revision to the header revision of the 'created' response,
    // which is ahead of the events a catching-up watch has yet to send: a reconnect there would
    // skip events. 'connecting' fires synchronously before each create request is written.
    this.watcher.on('connecting', () => this.setStart());
    this.watcher.on('data', (res) => {
      try {
        if (this.done) return;
        if (res.compact_revision && res.compact_revision !== '0') {
          this.cancelledByServer = true;
          this.fail(new TooOldError(this.delivered.toString(), res.compact_revision));
          return;
        }
        // One transaction may change several keys at one revision: compare with the revision
        // delivered before this response, so only a replay after a reconnect is skipped.
        const floor = this.delivered;
        for (const ev of res.events) {
          if (this.done) return;
          if (BigInt(ev.kv.mod_revision) <= floor) continue;
          this.handlers.onEvent(this.toEvent(ev.type, ev.kv, ev.prev_kv));
          this.delivered = BigInt(ev.kv.mod_revision);
        }
        // A progress notification: etcd has sent every event up to its header revision.
        if (res.events.length === 0 && res.header?.revision && BigInt(res.header.revision) > this.delivered) {
          this.delivered = BigInt(res.header.revision);
          this.handlers.onProgress?.(res.header.revision);
        }
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    // etcd3 1.1.2 reports a compacted start revision only as a generic "Watcher canceled" error
    // (the response's compact_revision is dropped), so ask etcd whether our resume point is gone.
    this.watcher.on('error', (err) => {
      this.cancelledByServer = true;
      if (this.done) return;
      const resume = (this.delivered + 1n).toString();
      const compacted = /compacted/i.test(err.message) ? Promise.resolve(true) : this.storage.isCompacted(resume);
      compacted.then(
        (yes) => this.fail(yes ? new TooOldError(this.delivered.toString()) : err),
        () => this.fail(err),
      );
    });
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.onDone();
    if (this.cancelledByServer) return;
    // cancel() can throw synchronously when the library's stream is mid-reconnect.
    Promise.resolve()
      .then(() => this.watcher.cancel())
      .catch((err) => this.storage.reportDetached('cancelling etcd watch failed', err));
  }

  private setStart(): void {
    this.watcher.request.start_revision = (this.delivered + 1n).toString();
  }

  private toEvent(type: 'Put' | 'Delete', kv: IKeyValue, prev?: IKeyValue): StorageEvent {
    if (type === 'Put') {
      const obj = this.storage.decode(kv);
      const added = kv.create_revision === kv.mod_revision;
      return { type: added ? 'ADDED' : 'MODIFIED', key: obj.key, value: obj.value, revision: obj.revision };
    }
    if (!prev) {
      // etcd omits prev_kv when the previous revision was compacted away: the caller cannot
      // learn what was deleted from this event, so make it re-list (which reveals the delete).
      throw new StorageError(`DELETE at revision ${kv.mod_revision} arrived without the deleted value; list again`);
    }
    // Like Kubernetes: the deleted object carries the revision of its deletion.
    const obj = this.storage.decode(prev, kv.mod_revision);
    return { type: 'DELETED', key: obj.key, value: obj.value, revision: kv.mod_revision };
  }

  private fail(err: Error): void {
    if (this.done) return;
    this.close();
    try {
      this.handlers.onError(err);
    } catch (thrown) {
      this.storage.reportDetached('watch onError handler threw', thrown);
    }
  }
}

function encode(value: Resource): Buffer {
  // The revision is etcd's mod_revision, never part of the stored bytes; new objects have none to strip.
  if (value.metadata && value.metadata.resourceVersion === undefined) return Buffer.from(JSON.stringify(value));
  const { resourceVersion: _rv, ...metadata } = value.metadata ?? {};
  return Buffer.from(JSON.stringify({ ...value, metadata }));
}

function undecryptable(etcdKey: Buffer, err: DecryptError): UndecryptableValue {
  return {
    etcdKey: etcdKey.toString('utf8'),
    reason: err.message,
    missingKey: err instanceof UnknownKeyError ? err.keyName : undefined,
  };
}

function fitting(key: string, k: Buffer, bytes: Buffer): Buffer {
  if (k.length + bytes.length + TXN_OVERHEAD_BYTES <= MAX_REQUEST_BYTES) return bytes;
  throw new InvalidRequestError(
    `${key} is ${bytes.length} bytes stored; etcd accepts at most ${MAX_REQUEST_BYTES} bytes per request`,
  );
}

function stored(key: string, value: Resource, revision: string): StoredObject {
  return { key, value: { ...value, metadata: { ...value.metadata, resourceVersion: revision } }, revision };
}

/** The smallest key greater than every key starting with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}

function isCompacted(err: unknown): boolean {
  return err instanceof Error && err.message.includes('required revision has been compacted');
}
