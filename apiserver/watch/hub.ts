// One WatchCache per kind for the whole API server, and the gRPC side of Watch: a client stream is a
// filtered cache watcher whose events are written with back-pressure (a slow client fills its own
// bounded buffer and is cut off; it never stalls the cache or other clients).
import { once } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { KINDS } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import type { WatchEvent as WireWatchEvent, WatchRequest } from '../../lib/gen/persys/v1/api.js';
import type { ApiServerMetrics } from '../../lib/observability/metrics.js';
import { toServiceError } from '../api/status.js';
import { kindPrefix, resolveKind } from '../registry/keys.js';
import { parseFieldSelector, parseLabelSelector } from '../registry/selectors.js';
import type { Storage } from '../storage/interface.js';
import { WatchCache, type WatchCacheMetrics } from './cache.js';
import type { WatchEvent } from './event.js';
import { encodeWatchBatches, encodeWatchEvent } from './wire.js';

/** A batch for a client that allows them: at most this many events, in messages of about this size. */
const MAX_BATCH_EVENTS = 1000;
const MAX_BATCH_BYTES = 1024 * 1024;

export interface WatchHubOptions {
  logger: Logger;
  metrics?: ApiServerMetrics;
  bookmarkIntervalMs?: number;
}

/** A kind's watch cache hooks, bridged into the API server's metrics. */
function watchCacheMetrics(metrics: ApiServerMetrics, kind: string): WatchCacheMetrics {
  return {
    watcherTerminated: (reason) => metrics.terminatedWatchers.inc({ kind, reason }),
    storageWatchFailed: () => metrics.watchCacheRelists.inc({ kind }),
  };
}

export class WatchHub {
  private readonly caches = new Map<string, WatchCache>();
  private started = false;

  constructor(
    storage: Storage,
    private readonly opts: WatchHubOptions,
  ) {
    for (const info of KINDS) {
      this.caches.set(
        info.kind,
        new WatchCache(storage, kindPrefix(info), {
          logger: opts.logger.child({ component: 'watch-cache', kind: info.kind }),
          bookmarkIntervalMs: opts.bookmarkIntervalMs,
          metrics: opts.metrics && watchCacheMetrics(opts.metrics, info.kind),
        }),
      );
    }
  }

  async start(): Promise<void> {
    await Promise.all([...this.caches.values()].map((c) => c.start()));
    this.started = true;
  }

  cache(kind: string): WatchCache {
    return this.caches.get(resolveKind(kind).kind)!;
  }

  async checkReady(): Promise<void> {
    if (!this.started) throw new Error('watch caches are not synced yet');
  }

  /**
   * Calls `listener` for every change of every kind from now on; returns the unsubscribe function.
   * A listener's watch that ends (cut off, too old) is opened again from the cache's current revision:
   * events in between are missed, so listeners must also catch up on their own (the collector's passes).
   */
  onChange(listener: (ev: WatchEvent) => void): () => void {
    let closed = false;
    const open = new Set<{ close(): void }>();
    const follow = (cache: WatchCache): void => {
      const w = cache.watch({ fromRevision: cache.currentRevision() });
      open.add(w);
      void (async () => {
        let failed = false;
        try {
          for await (const ev of w.events) listener(ev);
        } catch (err) {
          failed = true;
          this.opts.logger.warn({ err }, 'change listener ended; following again from the current revision');
        } finally {
          open.delete(w);
          // Only a failure re-opens: a watch that ends cleanly was closed (unsubscribed or cache stopped).
          if (failed && !closed) follow(cache);
        }
      })();
    };
    for (const cache of this.caches.values()) follow(cache);
    return () => {
      closed = true;
      for (const w of open) w.close();
    };
  }

  /** Serves one Watch RPC until the client cancels or the watch ends. */
  serve(call: ServerWritableStream<WatchRequest, WireWatchEvent>): void {
    const req = call.request;
    const info = resolveKind(req.kind);
    const namespace = info.namespaced ? req.namespace : '';
    const matchLabels = parseLabelSelector(req.labelSelector);
    const matchFields = parseFieldSelector(req.fieldSelector);
    const filter = (o: Resource) => (!namespace || o.metadata.namespace === namespace) && matchLabels(o) && matchFields(o);
    const watcher = this.cache(info.kind).watch({
      fromRevision: req.resourceVersion,
      filter,
      bookmarks: req.allowBookmarks,
    });
    const gauge = this.opts.metrics?.watchers;
    gauge?.inc({ kind: info.kind });
    let cancelled = false;
    const onCancel = new Promise<void>((resolve) =>
      call.once('cancelled', () => {
        cancelled = true;
        watcher.close();
        resolve();
      }),
    );

    void (async () => {
      try {
        for await (const first of watcher.events) {
          if (cancelled) break;
          // Everything that piled up while the client read goes in one go when it reads batches.
          const events = req.allowBatches ? [first, ...watcher.takeBuffered(MAX_BATCH_EVENTS - 1)] : [first];
          const encoded = events.filter((ev) => ev.type !== 'BOOKMARK' || req.allowBookmarks).map((ev) => encodeWatchEvent(ev, info));
          if (encoded.length === 0) continue;
          const messages = encoded.length === 1 ? encoded : encodeWatchBatches(encoded, MAX_BATCH_BYTES);
          let ok = true;
          // Encoded bytes: the service is registered with resourcesServiceWithEncodedResponses (api/wire-encode.ts).
          for (const m of messages) ok = call.write(m as unknown as WireWatchEvent);
          if (!ok) await Promise.race([once(call, 'drain'), onCancel]);
        }
        if (!cancelled) call.end();
      } catch (err) {
        if (!cancelled) call.emit('error', toServiceError(err));
      } finally {
        gauge?.dec({ kind: info.kind });
      }
    })();
  }

  stop(): void {
    for (const c of this.caches.values()) c.stop();
  }
}
