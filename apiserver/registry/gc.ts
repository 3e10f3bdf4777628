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

  async function pass(): Promise<void> {
    const all = KINDS.flatMap((k) => watches.cache(k.kind).snapshot().objects);
    const uids = new Set(all.map((o) => o.metadata.uid));
    for (const obj of all) {
      const refs = obj.metadata.ownerReferences ?? [];
      if (!refs.length || obj.metadata.deletionTimestamp || refs.some((r) => uids.has(r.uid))) continue;
      // The caches of different kinds may lag each other: confirm against storage before deleting.
      const alive = await Promise.all(refs.map((r) => ownerExists(obj, r)));
      if (alive.some(Boolean)) continue;
      log.info({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name }, 'deleting dependent of deleted owner');
      await store
        .delete(obj.kind, obj.metadata.namespace ?? '', obj.metadata.name!, { uid: obj.metadata.uid, identity: IDENTITY })
        .catch(ignoreGone);
    }
    for (const ns of all.filter((o) => o.kind === 'Namespace' && o.metadata.deletionTimestamp)) {
      await emptyNamespace(ns.metadata.name!);
    }
  }

  async function emptyNamespace(ns: string): Promise<void> {
    let remaining = 0;
    for (const info of KINDS.filter((k) => k.namespaced)) {
      const { items } = await store.list(info.kind, { namespace: ns });
      remaining += items.length;
      for (const obj of items) {
        if (obj.metadata.deletionTimestamp) continue;
        await store.delete(info.kind, ns, obj.metadata.name!, { identity: IDENTITY }).catch(ignoreGone);
      }
    }
    if (remaining === 0) {
      log.info({ namespace: ns }, 'namespace is empty: finalizing');
      await store.finalizeNamespace(ns, { identity: IDENTITY });
    }
  }

  function trigger(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass()
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
