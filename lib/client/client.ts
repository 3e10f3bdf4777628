// A promise-based client for the Resources service over mTLS, speaking plain `Resource` objects.
// The CLI, controllers and node agents all talk to the API server through it.
import type { AccessReviewRequest, AccessReviewResponse, ServiceAccountTokenResponse } from '../gen/persys/v1/rbac.js';
import { channelCredentials } from './credentials.js';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import {
  ResourcesClient,
  type APIResource,
  type VersionInfo,
  type WatchEvent as WireWatchEvent,
  type WatchRequest,
} from '../gen/persys/v1/api.js';
import { fromWire, toWire, type Resource } from '../api/resource.js';
import { unknownFields } from '../api/unknown-fields.js';
import type { Object as WireObject } from '../gen/persys/v1/api.js';
import type { ClientConfig } from './config.js';
import { ApiError } from './errors.js';
import { DEFAULT_PAGE_SIZE, listAll, listPages } from './pages.js';


export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: Resource[];
  resourceVersion: string;
  continue: string;
  remainingItemCount: number;
}

/**
 * The largest message a persys client accepts (gRPC's default is 4 MiB). Lists page well below it;
 * this only keeps an unpaged list of ~30,000 objects from any client working.
 */
export const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowBookmarks?: boolean;
  /** Cancels the stream; the iterator then ends without an error. */
  signal?: AbortSignal;
}

export interface ClientWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object?: Resource;
  resourceVersion: string;
}

export interface DeleteOptions {
  resourceVersion?: string;
  uid?: string;
  dryRun?: boolean;
  propagationPolicy?: 'Background' | 'Orphan';
}

export type ApplyResult = 'created' | 'configured' | 'unchanged';

type Callback<T> = (err: ServiceError | null, res: T) => void;

/**
 * `obj` in its wire form, or INVALID_ARGUMENT worded as the server words it when `obj` has fields its
 * kind lacks: the conversion would drop them, and a write must not lose what its caller asked for.
 */
function wireOf(obj: Resource): WireObject {
  const wire = toWire(obj);
  const unknown = unknownFields(obj, wire.object!.value);
  if (unknown.length) {
    const detail = unknown.map((f) => `${f.path}: ${f.message}`).join('; ');
    throw new ApiError(Status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', `${obj.kind} ${JSON.stringify(obj.metadata?.name ?? '')} is invalid: ${detail}`);
  }
  return wire;
}

export class ApiClient {
  readonly raw: ResourcesClient;

  constructor(readonly config: ClientConfig, options: { deadlineMs?: number } = {}) {
    const creds = channelCredentials(config);
    this.raw = new ResourcesClient(config.server, creds, {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    });
    this.deadlineMs = options.deadlineMs ?? 30_000;
  }

  private readonly deadlineMs: number;

  private call<Req, Res>(method: (req: Req, md: Metadata, opts: { deadline: Date }, cb: Callback<Res>) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(this.raw, req, new Metadata(), { deadline: new Date(Date.now() + this.deadlineMs) }, (err, res) =>
        err ? reject(ApiError.from(err)) : resolve(res),
      );
    });
  }

  async create(obj: Resource, opts: { dryRun?: boolean } = {}): Promise<Resource> {
    return fromWire(await this.call(this.raw.create, { object: wireOf(obj), dryRun: !!opts.dryRun }))!;
  }

  async get(kind: string, name: string, namespace = ''): Promise<Resource> {
    return fromWire(await this.call(this.raw.get, { kind, namespace, name }))!;
  }

  async list(kind: string, opts: ListOptions = {}): Promise<ListResult> {
    const res = await this.call(this.raw.list, {
      kind,
      namespace: opts.namespace ?? '',
      labelSelector: opts.labelSelector ?? '',
      fieldSelector: opts.fieldSelector ?? '',
      limit: opts.limit ?? 0,
      continue: opts.continue ?? '',
    });
    return {
      items: res.items.map((i) => fromWire(i)!),
      resourceVersion: res.resourceVersion,
      continue: res.continue,
      remainingItemCount: Number(res.remainingItemCount),
    };
  }

  /** Every page of a list, read at the first page's resourceVersion (see pages.ts). */
  listPages(kind: string, opts: Omit<ListOptions, 'limit' | 'continue'> = {}, pageSize = DEFAULT_PAGE_SIZE): AsyncGenerator<ListResult> {
    return listPages(this, kind, opts, pageSize);
  }

  /** The whole list, fetched in pages; resourceVersion is the one it was read at (watch from it). */
  listAll(kind: string, opts: Omit<ListOptions, 'limit' | 'continue'> = {}, pageSize = DEFAULT_PAGE_SIZE): Promise<{ items: Resource[]; resourceVersion: string }> {
    return listAll(this, kind, opts, pageSize);
  }

  async update(obj: Resource, opts: { dryRun?: boolean } = {}): Promise<Resource> {
    return fromWire(await this.call(this.raw.update, { object: wireOf(obj), dryRun: !!opts.dryRun }))!;
  }

  async updateStatus(obj: Resource, opts: { dryRun?: boolean } = {}): Promise<Resource> {
    return fromWire(await this.call(this.raw.updateStatus, { object: wireOf(obj), dryRun: !!opts.dryRun }))!;
  }

  /** Assigns a Container to a node: spec.nodeName and its Scheduled status, in one write. */
  async bind(namespace: string, name: string, nodeName: string, opts: { resourceVersion?: string; uid?: string; dryRun?: boolean } = {}): Promise<Resource> {
    return fromWire(
      await this.call(this.raw.bind, {
        namespace,
        name,
        nodeName,
        resourceVersion: opts.resourceVersion ?? '',
        uid: opts.uid ?? '',
        dryRun: !!opts.dryRun,
      }),
    )!;
  }

  async delete(kind: string, name: string, namespace = '', opts: DeleteOptions = {}): Promise<Resource> {
    return fromWire(
      await this.call(this.raw.delete, {
        kind,
        namespace,
        name,
        resourceVersion: opts.resourceVersion ?? '',
        uid: opts.uid ?? '',
        dryRun: !!opts.dryRun,
        propagationPolicy: opts.propagationPolicy ?? '',
      }),
    )!;
  }

  /** Applies one object given as manifest text (validated strictly by the server) or as an object. */
  async apply(
    source: string | Resource,
    opts: { dryRun?: boolean; fieldManager?: string } = {},
  ): Promise<{ object: Resource; result: ApplyResult }> {
    const res = await this.call(this.raw.apply, {
      source: typeof source === 'string' ? { $case: 'manifest', value: source } : { $case: 'object', value: wireOf(source) },
      fieldManager: opts.fieldManager ?? 'persys',
      dryRun: !!opts.dryRun,
    });
    return { object: fromWire(res.object)!, result: res.result as ApplyResult };
  }

  async listKinds(): Promise<APIResource[]> {
    return (await this.call(this.raw.listKinds, {})).resources;
  }

  /** The server's version (persys release, Node.js, platform, API version). */
  async version(): Promise<VersionInfo> {
    return this.call(this.raw.version, {});
  }

  /** Whether the caller (or, given impersonation rights, `user`/`groups`) may do something: `auth can-i`. */
  async checkAccess(req: Partial<AccessReviewRequest> & { verb: string; resource: string }): Promise<AccessReviewResponse> {
    return this.call(this.raw.checkAccess, { subresource: '', namespace: '', name: '', user: '', groups: [], ...req });
  }

  /** A bearer token for the ServiceAccount namespace/name. */
  async createServiceAccountToken(namespace: string, name: string, opts: { ttlSeconds?: number; audiences?: string[] } = {}): Promise<ServiceAccountTokenResponse> {
    return this.call(this.raw.createServiceAccountToken, { namespace, name, ttlSeconds: opts.ttlSeconds ?? 0, audiences: opts.audiences ?? [] });
  }

  /**
   * Streams changes. The iterator ends when the server ends the stream and throws ApiError on a
   * stream error (e.g. OUT_OF_RANGE "too old": list again). Break out of the loop to cancel.
   */
  async *watch(kind: string, opts: WatchOptions = {}): AsyncGenerator<ClientWatchEvent> {
    const req: WatchRequest = {
      kind,
      namespace: opts.namespace ?? '',
      labelSelector: opts.labelSelector ?? '',
      fieldSelector: opts.fieldSelector ?? '',
      resourceVersion: opts.resourceVersion ?? '',
      allowBookmarks: !!opts.allowBookmarks,
      // Events still come out one by one below; batches only save a gRPC message per event.
      allowBatches: true,
    };
    const stream = this.raw.watch(req);
    const cancel = () => stream.cancel();
    if (opts.signal?.aborted) cancel();
    opts.signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const msg of stream as AsyncIterable<WireWatchEvent>) {
        for (const ev of msg.events.length > 0 ? msg.events : [msg]) {
          yield { type: ev.type, object: fromWire(ev.object), resourceVersion: ev.resourceVersion } as ClientWatchEvent;
        }
      }
    } catch (err) {
      const e = err as ServiceError;
      if (e.code === Status.CANCELLED) return;
      throw typeof e.code === 'number' ? ApiError.from(e) : err;
    } finally {
      opts.signal?.removeEventListener('abort', cancel);
      stream.cancel();
    }
  }

  close(): void {
    this.raw.close();
  }
}
