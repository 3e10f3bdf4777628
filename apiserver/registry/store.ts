// The resource registry: Kubernetes API semantics (uid, generation, status subresource, finalizers,
// namespaces, apply) on top of the storage contract. Every write is validated by admit() first.
import { randomUUID, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import YAML from 'yaml';
import { LAST_APPLIED_ANNOTATION, NAMESPACE_FINALIZER } from '../../lib/api/annotations.js';
import { API_VERSION, KINDS, findKind, type KindInfo } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import { scheduledStatus } from '../../lib/api/scheduling.js';
import type { Storage, StoredObject } from '../storage/interface.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../storage/errors.js';
import { admit } from '../validation/index.js';
import { dns1123SubdomainError } from '../validation/names.js';
import { status as Code } from '@grpc/grpc-js';
import { ApiStatusError, alreadyExists, conflict, failedPrecondition, invalid, notFound } from '../api/status.js';
import { clone, declaredFields, declaredFieldsChanged, deepEqual, mergeApplied } from './merge.js';
import { effectiveNamespace, kindPrefix, objectKey, resolveKind } from './keys.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { CachedLister } from './cached-list.js';
import type { ClusterIpAllocator } from './cluster-ip.js';

export interface WriteOptions {
  dryRun?: boolean;
  /** Who asks (the client certificate's subject); logged on every write. */
  identity?: string;
  /**
   * Access control, called with the admitted object before anything is written; throws to refuse.
   * Apply asks for "patch" where it updates, as Kubernetes' server-side apply.
   */
  authorize?: (verb: 'create' | 'update' | 'patch', obj: Resource) => void;
  /** The size of the protobuf message the object came in (see AdmitOptions.wireBytes). */
  wireBytes?: number;
}

interface UpdateOptions extends WriteOptions {
  updateVerb?: 'update' | 'patch';
}

export interface DeleteOptions extends WriteOptions {
  resourceVersion?: string;
  uid?: string;
  propagationPolicy?: string;
}

export interface ListQuery {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListPage {
  items: Resource[];
  resourceVersion: string;
  continue: string;
  remaining: number;
}

export type ApplyResult = 'created' | 'configured' | 'unchanged';

/** How often a write without a resourceVersion precondition retries after losing a race. */
const MAX_RETRIES = 8;
/** Kinds whose validation compares with the stored object (immutable Secrets and ConfigMaps, a Service's clusterIP). */
const RULES_ON_OLD = new Set(['Secret', 'ConfigMap', 'Service']);

/** RFC 3339 to the second, as Kubernetes writes timestamps; formatted once per second, not per write. */
let nowCache = { second: -1, text: '' };
function now(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== nowCache.second) nowCache = { second, text: new Date(second * 1000).toISOString().replace('.000Z', 'Z') };
  return nowCache.text;
}

export interface ResourceStoreOptions {
  /**
   * A cached view of Namespaces (the watch cache): creates check the namespace there and read etcd
   * only on a miss, like Kubernetes' NamespaceLifecycle admission.
   */
  cachedNamespace?: (name: string) => Resource | undefined;
  /** Serves lists from the watch caches when they can do so consistently; etcd serves the rest. */
  lists?: CachedLister;
  /** The watch cache's copy of an object (read-only, possibly stale): the first try of a compare-and-swap write. */
  cachedObject?: (kind: string, key: string) => Resource | undefined;
  /**
   * Kinds whose stored bytes can go stale without a change (encrypted under an older key): an update
   * that changes nothing still rewrites such an object, as Kubernetes' GuaranteedUpdate does, which is
   * how `persys pki rotate-encryption-key` re-encrypts through the API.
   */
  rewritesStale?: (kind: string) => boolean;
  /** Gives Services their cluster IPs at create and takes them back at delete; without it none are given. */
  clusterIps?: ClusterIpAllocator;
}

export class ResourceStore {
  constructor(
    readonly storage: Storage,
    private readonly log: Logger,
    private readonly opts: ResourceStoreOptions = {},
  ) {}

  async get(kind: string, namespace: string, name: string): Promise<Resource> {
    const info = resolveKind(kind);
    return (await this.mustGet(info, effectiveNamespace(info, namespace), name)).value;
  }

  async list(kind: string, query: ListQuery = {}): Promise<ListPage> {
    const info = resolveKind(kind);
    const matchLabels = parseLabelSelector(query.labelSelector ?? '');
    const matchFields = parseFieldSelector(query.fieldSelector ?? '');
    const matches = (o: Resource) => matchLabels(o) && matchFields(o);
    const prefix = kindPrefix(info, info.namespaced ? (query.namespace ?? '') : '');
    const limit = Math.max(0, query.limit ?? 0);
    const cached = await this.opts.lists?.list(info.kind, prefix, { limit, continue: query.continue || undefined, matches });
    if (cached) {
      return { items: cached.items, resourceVersion: cached.revision, continue: cached.continue ?? '', remaining: cached.remaining };
    }
    if (!limit) {
      const res = await this.storage.list(prefix, { continue: query.continue || undefined });
      return { items: res.items.map((i) => i.value).filter(matches), resourceVersion: res.revision, continue: '', remaining: 0 };
    }
    // With selectors a page may match less than it read: keep reading, never returning more than limit.
    const items: Resource[] = [];
    let token = query.continue || undefined;
    for (;;) {
      const page = await this.storage.list(prefix, { limit: limit - items.length, continue: token });
      items.push(...page.items.map((i) => i.value).filter(matches));
      token = page.continue;
      if (!token || items.length >= limit) {
        return { items, resourceVersion: page.revision, continue: token ?? '', remaining: token ? page.remaining : 0 };
      }
    }
  }

  async create(raw: unknown, opts: WriteOptions = {}): Promise<Resource> {
    const obj = admit(raw, { wireBytes: opts.wireBytes });
    opts.authorize?.('create', obj);
    const info = resolveKind(obj.kind);
    const ns = obj.metadata.namespace ?? '';
    // The watch cache answers without a round trip (or even an await); only a miss reads etcd.
    if (info.namespaced) requireActive(this.opts.cachedNamespace?.(ns) ?? (await this.storedNamespace(ns)), ns);
    prepareNew(obj, info);
    if (info.kind === 'Service' && this.opts.clusterIps) {
      // A taken name is the answer, not an exhausted range: check it before allocating.
      if (obj.metadata.name && (await this.storage.get(objectKey(info, ns, obj.metadata.name)))) throw alreadyExists(info.kind, obj.metadata.name, ns);
      await this.opts.clusterIps.allocate(obj, opts.dryRun);
    }
    for (let attempt = 0; ; attempt++) {
      const generated = !obj.metadata.name;
      if (generated) obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
      const name = obj.metadata.name!;
      if (opts.dryRun) return obj;
      try {
        const stored = await this.storage.create(objectKey(info, ns, name), obj);
        this.audit('create', stored.value, opts);
        return stored.value;
      } catch (err) {
        // Only a definite "not created" gives the address back; after any other error the Service may
        // exist, and an address it does not hold is reclaimed once the range is full.
        if (!(err instanceof AlreadyExistsError)) throw err;
        if (!generated || attempt >= 3) {
          await this.released(obj);
          throw alreadyExists(info.kind, name, ns);
        }
        obj.metadata.name = '';
      }
    }
  }

  async update(raw: unknown, opts: UpdateOptions = {}): Promise<Resource> {
    const probe = admit(raw, { wireBytes: opts.wireBytes });
    opts.authorize?.(opts.updateVerb ?? 'update', probe);
    const info = resolveKind(probe.kind);
    const precondition = probe.metadata.resourceVersion;
    for (let attempt = 0; ; attempt++) {
      const cur = await this.currentForWrite(info, probe.metadata.namespace ?? '', probe.metadata.name ?? '', attempt, precondition, probe.metadata.uid);
      const obj = RULES_ON_OLD.has(info.kind) ? admit(raw, { old: cur.value, wireBytes: opts.wireBytes }) : clone(probe);
      checkPreconditions(info, cur, precondition, probe.metadata.uid);
      const next = mergeServerFields(obj, cur.value, info);
      try {
        return await this.write(info, cur, next, opts, 'update');
      } catch (err) {
        if (err instanceof ConflictError && !precondition && attempt < MAX_RETRIES) continue;
        // Gone since the cached copy was read: the retry reads etcd and reports NOT_FOUND properly.
        if (err instanceof NotFoundError && attempt === 0) continue;
        throw err instanceof ConflictError ? conflict(info.kind, cur.value.metadata.name!) : err;
      }
    }
  }

  async updateStatus(raw: unknown, opts: WriteOptions = {}): Promise<Resource> {
    const probe = raw as Resource;
    const info = resolveKind(String(probe?.kind ?? ''));
    if (!info.hasStatus) throw invalid(`${info.kind} has no status`);
    const precondition = probe.metadata?.resourceVersion;
    for (let attempt = 0; ; attempt++) {
      const ns = effectiveNamespace(info, probe.metadata?.namespace);
      const cur = await this.currentForWrite(info, ns, probe.metadata?.name ?? '', attempt, precondition, probe.metadata?.uid);
      const obj = admit(raw, { old: cur.value, subresource: 'status' });
      checkPreconditions(info, cur, precondition, obj.metadata.uid);
      const next = clone(cur.value);
      next.status = obj.status;
      try {
        return await this.write(info, cur, next, opts, 'updateStatus');
      } catch (err) {
        if (err instanceof ConflictError && !precondition && attempt < MAX_RETRIES) continue;
        // Gone since the cached copy was read: the retry reads etcd and reports NOT_FOUND properly.
        if (err instanceof NotFoundError && attempt === 0) continue;
        throw err instanceof ConflictError ? conflict(info.kind, cur.value.metadata.name!) : err;
      }
    }
  }

  /**
   * Assigns a Container to a node in one compare-and-swap: spec.nodeName and the Scheduled status
   * (Kubernetes' pods/binding). Binding again to the same node returns the Container unchanged.
   */
  async bind(namespace: string, name: string, nodeName: string, opts: WriteOptions & { resourceVersion?: string; uid?: string } = {}): Promise<Resource> {
    const info = resolveKind('Container');
    if (!nodeName) throw invalid('nodeName: required');
    const bad = dns1123SubdomainError(nodeName);
    if (bad) throw invalid(`nodeName: "${nodeName}" ${bad}`);
    const ns = effectiveNamespace(info, namespace);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.currentForWrite(info, ns, name, attempt, opts.resourceVersion, opts.uid);
      checkPreconditions(info, cur, opts.resourceVersion, opts.uid);
      const bound = cur.value.spec?.nodeName as string | undefined;
      if (bound === nodeName) return cur.value;
      if (bound) throw failedPrecondition(`Container "${name}" is already assigned to node "${bound}"`);
      if (cur.value.metadata.deletionTimestamp) throw failedPrecondition(`Container "${name}" is being deleted`);
      const next = clone(cur.value);
      next.spec = { ...next.spec, nodeName };
      next.metadata.generation = (cur.value.metadata.generation ?? 1) + 1;
      next.status = scheduledStatus(next, nodeName, now());
      try {
        return await this.write(info, cur, next, opts, 'bind');
      } catch (err) {
        if (err instanceof ConflictError && !opts.resourceVersion && attempt < MAX_RETRIES) continue;
        if (err instanceof NotFoundError && attempt === 0) continue;
        if (err instanceof NotFoundError) throw notFound(info.kind, name, ns);
        throw err instanceof ConflictError ? conflict(info.kind, name) : err;
      }
    }
  }

  async delete(kind: string, namespace: string, name: string, opts: DeleteOptions = {}): Promise<Resource> {
    const info = resolveKind(kind);
    const ns = effectiveNamespace(info, namespace);
    if (info.kind === 'Namespace' && name === 'default') {
      throw failedPrecondition('namespace "default" may not be deleted: objects without a namespace go there');
    }
    for (let attempt = 0; ; attempt++) {
      const cur = await this.currentForWrite(info, ns, name, attempt, opts.resourceVersion, opts.uid);
      checkPreconditions(info, cur, opts.resourceVersion, opts.uid);
      try {
        if (opts.propagationPolicy === 'Orphan' && !opts.dryRun) await this.orphanDependents(cur.value);
        if (finalizersOf(cur.value).length > 0) {
          if (cur.value.metadata.deletionTimestamp) return cur.value;
          const marked = clone(cur.value);
          marked.metadata.deletionTimestamp = now();
          if (info.kind === 'Namespace') marked.status = { ...marked.status, phase: 'Terminating' };
          return await this.write(info, cur, marked, opts, 'delete');
        }
        if (opts.dryRun) return cur.value;
        const deleted = await this.storage.delete(objectKey(info, ns, name), cur.revision);
        this.audit('delete', deleted.value, opts);
        await this.released(deleted.value);
        return deleted.value;
      } catch (err) {
        if (err instanceof ConflictError && !opts.resourceVersion && attempt < MAX_RETRIES) continue;
        if (err instanceof NotFoundError && attempt === 0) continue;
        if (err instanceof NotFoundError) throw notFound(info.kind, name, ns);
        throw err instanceof ConflictError ? conflict(info.kind, name) : err;
      }
    }
  }

  /**
   * Deletes many objects, as read (each at its resourceVersion), in as few storage round trips as
   * the backend allows; one audit line for the batch. Objects with finalizers go through delete()
   * (marked for deletion). Objects that changed or were gone meanwhile are skipped and counted.
   */
  async deleteMany(objects: Resource[], opts: WriteOptions = {}): Promise<{ deleted: number; skipped: number }> {
    const batch: { key: string; expectedRevision: string }[] = [];
    const services = new Map<string, Resource>();
    let skipped = 0;
    for (const obj of objects) {
      const info = resolveKind(obj.kind);
      const ns = effectiveNamespace(info, obj.metadata.namespace);
      if (finalizersOf(obj).length > 0 || !obj.metadata.resourceVersion) {
        await this.delete(info.kind, ns, obj.metadata.name!, { ...opts, uid: obj.metadata.uid }).catch((err) => {
          if (!isStatus(err, Code.NOT_FOUND) && !isStatus(err, Code.ABORTED)) throw err;
          skipped++;
        });
        continue;
      }
      const key = objectKey(info, ns, obj.metadata.name!);
      batch.push({ key, expectedRevision: obj.metadata.resourceVersion });
      if (obj.kind === 'Service') services.set(key, obj);
    }
    if (opts.dryRun || batch.length === 0) return { deleted: 0, skipped };
    const res = await this.storage.deleteMany(batch);
    const skippedKeys = new Set(res.skipped);
    for (const [key, svc] of services) if (!skippedKeys.has(key)) await this.released(svc);
    this.log.info({ verb: 'delete', count: res.deleted, skipped: res.skipped.length, identity: opts.identity }, `delete ${res.deleted} objects (batch)`);
    return { deleted: res.deleted, skipped: skipped + res.skipped.length };
  }

  /**
   * Creates the object, or merges the manifest into the live object (see mergeApplied). Applying
   * the same manifest again writes nothing. Status is never touched.
   */
  async apply(source: string | Resource, opts: WriteOptions = {}): Promise<{ object: Resource; result: ApplyResult }> {
    const applied = (typeof source === 'string' ? parseManifest(source) : clone(source)) as Resource;
    const desired = admit(applied); // reports errors against the manifest as written
    const info = resolveKind(desired.kind);
    delete applied.status;
    const meta = (applied.metadata ??= {});
    if (info.namespaced) meta.namespace = desired.metadata.namespace;
    const annotations = { ...(meta.annotations ?? {}) };
    delete annotations[LAST_APPLIED_ANNOTATION];
    meta.annotations = annotations;
    const lastApplied = JSON.stringify({ ...applied, metadata: { ...meta, annotations: emptyToUndefined(annotations) } });
    meta.annotations = { ...annotations, [LAST_APPLIED_ANNOTATION]: lastApplied };

    for (let attempt = 0; ; attempt++) {
      const cur = await this.storage.get(objectKey(info, desired.metadata.namespace ?? '', desired.metadata.name ?? ''));
      if (!cur) {
        try {
          return { object: await this.create(applied, opts), result: 'created' };
        } catch (err) {
          if (isStatus(err, Code.ALREADY_EXISTS) && attempt < MAX_RETRIES) continue;
          throw err;
        }
      }
      const live = cur.value;
      const previous = safeJson(live.metadata.annotations?.[LAST_APPLIED_ANNOTATION]);
      const base = { apiVersion: live.apiVersion, kind: live.kind, metadata: live.metadata, ...declaredFields(live) };
      const merged = mergeApplied(base, previous, applied) as Resource;
      merged.metadata.resourceVersion = cur.revision;
      try {
        const object = await this.update(merged, { ...opts, updateVerb: 'patch' });
        return { object, result: object.metadata.resourceVersion === cur.revision ? 'unchanged' : 'configured' };
      } catch (err) {
        if (isStatus(err, Code.ABORTED) && attempt < MAX_RETRIES) continue;
        throw err;
      }
    }
  }

  /** The namespace lifecycle's last step: once the namespace is empty, drop its finalizer (deleting it). */
  async finalizeNamespace(name: string, opts: WriteOptions = {}): Promise<void> {
    const info = resolveKind('Namespace');
    const cur = await this.storage.get(objectKey(info, '', name));
    if (!cur?.value.metadata.deletionTimestamp) return;
    const next = clone(cur.value);
    next.spec = { ...next.spec, finalizers: (next.spec?.finalizers ?? []).filter((f: string) => f !== NAMESPACE_FINALIZER) };
    await this.write(info, cur, next, opts, 'finalize');
  }

  /** Writes `next` over `cur` unless nothing changed; completes deletion when the last finalizer goes. */
  private async write(info: KindInfo, cur: StoredObject, next: Resource, opts: WriteOptions, verb: string): Promise<Resource> {
    const key = objectKey(info, cur.value.metadata.namespace ?? '', cur.value.metadata.name!);
    const unchanged = deepEqual(next, cur.value);
    if (unchanged && !(await this.storedStale(info, key, cur))) return cur.value;
    if (!unchanged && next.metadata.deletionTimestamp && finalizersOf(next).length === 0) {
      if (opts.dryRun) return next;
      const deleted = await this.storage.delete(key, cur.revision);
      this.audit(`${verb} (finalized)`, deleted.value, opts);
      await this.released(deleted.value);
      return next;
    }
    if (opts.dryRun) return next;
    const stored = await this.storage.update(key, next, cur.revision);
    this.audit(verb, stored.value, opts);
    return stored.value;
  }

  /** Whether `cur`'s stored bytes need rewriting though its value is unchanged (see rewritesStale). */
  private async storedStale(info: KindInfo, key: string, cur: StoredObject): Promise<boolean> {
    if (cur.stale !== undefined) return cur.stale;
    if (!this.opts.rewritesStale?.(info.kind)) return false;
    // A watch cache copy does not know how its bytes are stored: ask etcd, for no-op writes of these kinds only.
    const stored = await this.storage.get(key);
    return stored?.revision === cur.revision && stored.stale === true;
  }

  /**
   * The object a compare-and-swap write starts from. The first attempt takes the watch cache's copy when
   * it can only be right or fail the swap: with a resourceVersion precondition it must be that version,
   * with a uid that uid. A stale copy then costs one ConflictError, retried from etcd (as Kubernetes'
   * GuaranteedUpdate does), and saves an etcd read on every write that finds the cache current.
   */
  private async currentForWrite(info: KindInfo, ns: string, name: string, attempt: number, resourceVersion?: string, uid?: string): Promise<StoredObject> {
    if (attempt === 0 && this.opts.cachedObject) {
      const key = objectKey(info, ns, name);
      const cached = this.opts.cachedObject(info.kind, key);
      const revision = cached?.metadata.resourceVersion;
      if (cached && revision && (!resourceVersion || resourceVersion === revision) && (!uid || uid === cached.metadata.uid)) {
        return { key, value: cached, revision };
      }
    }
    return this.mustGet(info, ns, name);
  }

  private async mustGet(info: KindInfo, ns: string, name: string): Promise<StoredObject> {
    const cur = await this.storage.get(objectKey(info, ns, name));
    if (!cur) throw notFound(info.kind, name, ns);
    return cur;
  }

  private async storedNamespace(ns: string): Promise<Resource | undefined> {
    return (await this.storage.get(objectKey(findKind('Namespace')!, '', ns)))?.value;
  }

  /** Orphan deletion: dependents keep running and lose their reference to the deleted owner. */
  private async orphanDependents(owner: Resource): Promise<void> {
    for (const info of KINDS) {
      const { items } = await this.storage.list(kindPrefix(info));
      for (const dep of items) {
        const refs = dep.value.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === owner.metadata.uid)) continue;
        const next = clone(dep.value);
        next.metadata.ownerReferences = refs.filter((r) => r.uid !== owner.metadata.uid);
        await this.storage.update(dep.key, next, dep.revision).catch((err) => {
          if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
        });
      }
    }
  }

  /**
   * What a deleted object held outside its own key goes back: a Service's cluster IP. A failure is
   * logged, not thrown (the delete happened); the allocator reclaims such addresses when the range is full.
   */
  private async released(obj: Resource): Promise<void> {
    if (obj.kind !== 'Service' || !this.opts.clusterIps) return;
    await this.opts.clusterIps.release(obj).catch((err: unknown) => {
      this.log.warn({ err, namespace: obj.metadata.namespace, name: obj.metadata.name }, 'could not release the cluster IP of a deleted Service');
    });
  }

  private audit(verb: string, obj: Resource, opts: WriteOptions): void {
    if (!this.log.isLevelEnabled('info')) return; // above info, nothing is built per write
    this.log.info(
      { verb, kind: obj.kind, namespace: obj.metadata.namespace || undefined, name: obj.metadata.name, identity: opts.identity, resourceVersion: obj.metadata.resourceVersion },
      `${verb} ${obj.kind}`,
    );
  }
}

function requireActive(namespace: Resource | undefined, ns: string): void {
  if (!namespace) throw notFound('Namespace', ns);
  if (namespace.metadata.deletionTimestamp) {
    throw failedPrecondition(`namespace "${ns}" is being terminated: nothing new can be created in it`);
  }
}

function prepareNew(obj: Resource, info: KindInfo): void {
  const m = obj.metadata;
  m.uid = randomUUID();
  m.creationTimestamp = now();
  m.generation = 1;
  delete m.resourceVersion;
  delete m.deletionTimestamp;
  obj.apiVersion = API_VERSION;
  if (info.kind === 'Namespace') {
    obj.spec = { ...obj.spec, finalizers: [...new Set([...(obj.spec?.finalizers ?? []), NAMESPACE_FINALIZER])] };
    obj.status = { phase: 'Active' };
  } else if (info.hasStatus) {
    delete obj.status;
  }
}

/** Server-owned fields of `cur` win over what an update sends; generation follows declared changes. */
function mergeServerFields(obj: Resource, cur: Resource, info: KindInfo): Resource {
  const next = clone(obj);
  const m = next.metadata;
  m.uid = cur.metadata.uid;
  m.creationTimestamp = cur.metadata.creationTimestamp;
  m.resourceVersion = cur.metadata.resourceVersion;
  if (cur.metadata.deletionTimestamp) m.deletionTimestamp = cur.metadata.deletionTimestamp;
  else delete m.deletionTimestamp;
  m.generation = (cur.metadata.generation ?? 1) + (declaredFieldsChanged(next, cur) ? 1 : 0);
  if (info.hasStatus) {
    if (cur.status === undefined) delete next.status;
    else next.status = cur.status;
  }
  if (info.kind === 'Namespace') next.spec = cur.spec; // its finalizers are the server's
  // An update that leaves the cluster IP out keeps the allocated one (validation refuses another).
  if (info.kind === 'Service' && !next.spec?.clusterIp && cur.spec?.clusterIp) next.spec = { ...next.spec, clusterIp: cur.spec.clusterIp };
  return next;
}

function checkPreconditions(info: KindInfo, cur: StoredObject, resourceVersion?: string, uid?: string): void {
  if (resourceVersion && resourceVersion !== cur.revision) throw conflict(info.kind, cur.value.metadata.name!);
  if (uid && uid !== cur.value.metadata.uid) {
    throw conflict(info.kind, cur.value.metadata.name!, `precondition failed: uid ${uid} does not match ${cur.value.metadata.uid}`);
  }
}

export function finalizersOf(obj: Resource): string[] {
  const meta = obj.metadata.finalizers ?? [];
  return obj.kind === 'Namespace' ? [...meta, ...(obj.spec?.finalizers ?? [])] : meta;
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}

function parseManifest(text: string): unknown {
  const docs = YAML.parseAllDocuments(text);
  const real = docs.filter((d) => d.contents !== null);
  if (real.length !== 1) throw invalid(`manifest must hold exactly one object, found ${real.length}`);
  const doc = real[0]!;
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0];
    throw invalid(`manifest is not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ''}: ${e.message.split('\n')[0]}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // e.g. an alias bomb: "Excessive alias count indicates a resource exhaustion attack"
    throw invalid(`manifest cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function safeJson(text: string | undefined): unknown {
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function emptyToUndefined<T extends object>(o: T): T | undefined {
  return Object.keys(o).length ? o : undefined;
}

function isStatus(err: unknown, code: Code): boolean {
  return err instanceof ApiStatusError && err.code === code;
}
