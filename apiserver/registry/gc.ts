// The garbage collector: background cascading deletion through ownerReferences, and the namespace
// lifecycle (a deleted Namespace is emptied, then its finalizer removed). Driven by the watch caches.
import type { Logger } from 'pino';
import { status as Code } from '@grpc/grpc-js';
import { KINDS } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import { ApiStatusError } from '../api/status.js';
import type { WatchHub } from '../watch/hub.js';
import type { ResourceStore } from './store.js';

const IDENTITY = 'system:garbage-collector';

export interface GarbageCollector {
  /** Runs one full pass now (tests and shutdown use it). */
  sweep(): Promise<void>;
  stop(): void;
}

export function startGarbageCollector(
  store: ResourceStore,
  watches: WatchHub,
  opts: { logger: Logger; resyncMs?: number; debounceMs?: number },
): GarbageCollector {
  const log = opts.logger.child({ component: 'garbage-collector' });
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const ignoreGone = (err: unknown) => {
    if (err instanceof ApiStatusError && (err.code === Code.NOT_FOUND || err.code === Code.ABORTED)) return;
    throw err;
  };

  async function ownerExists(dep: Resource, ref: { kind: string; name: string; uid: string }): Promise<boolean> {
    try {
      const owner = await store.get(ref.kind, dep.metadata.namespace ?? '', ref.name);
      return owner.metadata.uid === ref.uid;
    } catch (err) {
      ignoreGone(err);
      return false;
    }
  }

  // Returns whether it changed anything: then another pass follows at once, without waiting for
  // the change events (a burst of thousands of deletes can outrun the change listener).
  async function pass(): Promise<boolean> {
    let progressed = false;
    const all = KINDS.flatMap((k) => watches.cache(k.kind).unorderedSnapshot().objects);
    const uids = new Set(all.map((o) => o.metadata.uid));
    // Owners confirmed against storage once per pass, however many dependents they had.
    const ownerAlive = new Map<string, boolean>();
    const orphans: Resource[] = [];
    for (const obj of all) {
      const refs = obj.metadata.ownerReferences ?? [];
      if (!refs.length || obj.metadata.deletionTimestamp || refs.some((r) => uids.has(r.uid))) continue;
      // The caches of different kinds may lag each other: confirm against storage before deleting.
      for (const r of refs) if (!ownerAlive.has(r.uid)) ownerAlive.set(r.uid, await ownerExists(obj, r));
      if (refs.some((r) => ownerAlive.get(r.uid))) continue;
      orphans.push(obj);
    }
    if (orphans.length) {
      log.info({ count: orphans.length }, 'deleting dependents of deleted owners');
      progressed = (await store.deleteMany(orphans, { identity: IDENTITY })).deleted > 0;
    }
    for (const ns of all.filter((o) => o.kind === 'Namespace' && o.metadata.deletionTimestamp)) {
      if (await emptyNamespace(ns.metadata.name!)) progressed = true;
    }
    return progressed;
  }

  // Deletes what the namespace holds in batches; once a pass finds it empty, drops its finalizer.
  // Objects skipped because they changed are seen again on the next pass (the deletes trigger one).
  async function emptyNamespace(ns: string): Promise<boolean> {
    let remaining = 0;
    let deleted = 0;
    for (const info of KINDS.filter((k) => k.namespaced)) {
      const { items } = await store.list(info.kind, { namespace: ns });
      remaining += items.length;
      const live = items.filter((obj) => !obj.metadata.deletionTimestamp);
      if (live.length) deleted += (await store.deleteMany(live, { identity: IDENTITY })).deleted;
    }
    if (remaining === 0) {
      log.info({ namespace: ns }, 'namespace is empty: finalizing');
      await store.finalizeNamespace(ns, { identity: IDENTITY });
      return true;
    }
    return deleted > 0;
  }

  function trigger(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass()
      .then((progressed) => {
        if (progressed) again = true;
      })
      .catch((err) => log.error({ err }, 'garbage collection pass failed'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule(opts.debounceMs ?? 50);
        }
      });
  }

  function schedule(delay: number): void {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      trigger();
    }, delay);
  }

  const unsubscribe = watches.onChange((ev) => {
    if (ev.type === 'DELETED' || ev.object?.metadata.deletionTimestamp) schedule(opts.debounceMs ?? 50);
  });
  const resync = setInterval(trigger, opts.resyncMs ?? 30_000);
  resync.unref();
  schedule(0);

  return {
    async sweep() {
      await running;
      await pass();
    },
    stop() {
      stopped = true;
      unsubscribe();
      clearInterval(resync);
      if (timer) clearTimeout(timer);
    },
  };
}
