// An in-memory stand-in for ApiClient, for unit tests of CLI commands that need no server.
// It keeps objects in a map and imitates the server's apply results, NotFound errors and watch.
import type { AccessReviewResponse, ServiceAccountTokenResponse } from '../../gen/persys/v1/rbac.js';
import { status as Status } from '@grpc/grpc-js';
import YAML from 'yaml';
import { API_VERSION, findKind, KINDS } from '../../api/kinds.js';
import type { Resource } from '../../api/resource.js';
import { type ApplyResult, type ClientWatchEvent, type DeleteOptions, type ListOptions, type ListResult, type WatchOptions } from '../../client/client.js';
import { ApiError } from '../../client/errors.js';
import type { APIResource, VersionInfo } from '../../gen/persys/v1/api.js';
import type { CliClient } from '../command.js';

/** What one call to watch() does: yield `events`, then end, hang until aborted, or fail as "too old". */
export interface WatchScript {
  events: ClientWatchEvent[];
  then: 'end' | 'hang' | 'too-old';
}

const key = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

export class FakeClient implements CliClient {
  readonly objects = new Map<string, Resource>();
  readonly calls: string[] = [];
  /** The text of every manifest apply() received, as sent. */
  readonly appliedTexts: string[] = [];
  /** apply() rejects manifests whose metadata.name is listed here with INVALID_ARGUMENT. */
  readonly invalidNames = new Set<string>();
  readonly watchScripts: WatchScript[] = [];
  /** Called when a watch script hangs, e.g. to abort the command. */
  onWatchIdle: () => void = () => {};
  /** Number of get() calls an object survives after delete() before it is gone (finalizers). */
  deleteLingers = 0;
  private readonly lingering = new Map<string, number>();
  private revision = 100;

  put(obj: Resource): Resource {
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.revision);
    stored.metadata.uid ??= `uid-${stored.metadata.name}`;
    stored.metadata.creationTimestamp ??= '2024-05-01T11:55:00Z';
    this.objects.set(key(stored.kind, stored.metadata.namespace ?? '', stored.metadata.name ?? ''), stored);
    return stored;
  }

  private notFound(kind: string, name: string): ApiError {
    return new ApiError(Status.NOT_FOUND, 'NOT_FOUND', `${kind} "${name}" not found`);
  }

  async create(obj: Resource): Promise<Resource> {
    return this.put(obj);
  }

  async get(kind: string, name: string, namespace = ''): Promise<Resource> {
    this.calls.push(`get ${key(kind, namespace, name)}`);
    const k = key(kind, namespace, name);
    const left = this.lingering.get(k);
    if (left !== undefined) {
      if (left <= 0) {
        this.lingering.delete(k);
        this.objects.delete(k);
      } else this.lingering.set(k, left - 1);
    }
    const obj = this.objects.get(k);
    if (!obj) throw this.notFound(kind, name);
    return structuredClone(obj);
  }

  async list(kind: string, opts: ListOptions = {}): Promise<ListResult> {
    this.calls.push(`list ${kind}/${opts.namespace ?? ''}${opts.labelSelector ? ` ${opts.labelSelector}` : ''}${opts.continue ? ` from ${opts.continue}` : ''}`);
    const wanted = Object.fromEntries((opts.labelSelector ?? '').split(',').filter(Boolean).map((p) => p.split('=')));
    const items = [...this.objects.values()].filter(
      (o) =>
        o.kind === kind &&
        (!opts.namespace || o.metadata.namespace === opts.namespace) &&
        Object.entries(wanted).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    // Pages like the server: `limit` objects from the index the continue token names.
    const start = Number(opts.continue || 0);
    const end = opts.limit ? Math.min(items.length, start + opts.limit) : items.length;
    const more = end < items.length;
    return {
      items: structuredClone(items.slice(start, end)),
      resourceVersion: String(this.revision),
      continue: more ? String(end) : '',
      remainingItemCount: items.length - end,
    };
  }

  async update(obj: Resource): Promise<Resource> {
    return this.put(obj);
  }

  async delete(kind: string, name: string, namespace = '', opts: DeleteOptions = {}): Promise<Resource> {
    this.calls.push(`delete ${key(kind, namespace, name)}${opts.dryRun ? ' dry-run' : ''}${opts.propagationPolicy ? ` ${opts.propagationPolicy}` : ''}`);
    const k = key(kind, namespace, name);
    const obj = this.objects.get(k);
    if (!obj || this.lingering.has(k)) throw this.notFound(kind, name);
    if (!opts.dryRun) {
      if (this.deleteLingers > 0) this.lingering.set(k, this.deleteLingers);
      else this.objects.delete(k);
    }
    return obj;
  }

  async apply(source: string | Resource, opts: { dryRun?: boolean } = {}): Promise<{ object: Resource; result: ApplyResult }> {
    const text = typeof source === 'string' ? source : JSON.stringify(source);
    this.appliedTexts.push(text);
    this.calls.push(`apply ${text.trim().replace(/\s+/g, ' ')}${opts.dryRun ? ' dry-run' : ''}`);
    const desired = YAML.parse(text) as Resource;
    const info = findKind(desired.kind);
    const name = desired.metadata?.name ?? '';
    if (!info || this.invalidNames.has(name)) {
      throw new ApiError(Status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', `${desired.kind} "${name}": spec.image: required`);
    }
    const ns = info.namespaced ? (desired.metadata.namespace ?? 'default') : '';
    const existing = this.objects.get(key(info.kind, ns, name));
    const merged: Resource = {
      ...(existing ? structuredClone(existing) : {}),
      ...desired,
      kind: info.kind,
      metadata: {
        ...(existing?.metadata ?? { uid: `uid-${name}`, creationTimestamp: '2024-05-01T11:59:00Z' }),
        ...desired.metadata,
        namespace: ns || undefined,
        annotations: { ...(desired.metadata.annotations ?? {}), 'persys.dev/last-applied-configuration': text },
      },
    };
    if (existing?.status) merged.status = existing.status;
    const same = existing && JSON.stringify(existing.spec ?? null) === JSON.stringify(desired.spec ?? null);
    const result: ApplyResult = !existing ? 'created' : same ? 'unchanged' : 'configured';
    if (opts.dryRun) return { object: merged, result };
    return { object: this.put(merged), result };
  }

  async *watch(kind: string, opts: WatchOptions = {}): AsyncGenerator<ClientWatchEvent> {
    this.calls.push(`watch ${kind} from ${opts.resourceVersion ?? ''}`);
    const script = this.watchScripts.shift() ?? { events: [], then: 'hang' };
    for (const ev of script.events) yield ev;
    if (script.then === 'too-old') throw new ApiError(Status.OUT_OF_RANGE, 'OUT_OF_RANGE', 'resource version too old');
    if (script.then === 'hang') {
      this.onWatchIdle();
      await new Promise(() => {});
    }
  }

  async version(): Promise<VersionInfo> {
    return { version: '9.9.9', nodeVersion: 'v20.0.0', platform: 'linux/x64', apiVersion: API_VERSION };
  }

  /** Access answers by "verb resource namespace", set by a test; anything else is refused. */
  readonly access = new Map<string, boolean>();

  async checkAccess(req: { verb: string; resource: string; namespace?: string; user?: string }): Promise<AccessReviewResponse> {
    const allowed = this.access.get(`${req.verb} ${req.resource} ${req.namespace ?? ''}`) ?? false;
    return { allowed, reason: allowed ? 'set by the test' : 'not set by the test', user: req.user || 'tester' };
  }

  async createServiceAccountToken(namespace: string, name: string): Promise<ServiceAccountTokenResponse> {
    return { token: `token-for-${namespace}-${name}`, expiresAt: '2030-01-01T00:00:00Z' };
  }

  async listKinds(): Promise<APIResource[]> {
    return KINDS.map((k) => ({
      kind: k.kind,
      plural: k.plural,
      singular: k.singular,
      shortNames: k.shortNames,
      namespaced: k.namespaced,
      verbs: ['get', 'list'],
    }));
  }

  close(): void {}
}
