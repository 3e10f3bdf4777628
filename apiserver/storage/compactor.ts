// Periodic compaction of storage history, as kube-apiserver does it: each tick compacts up to the
// revision seen on the previous tick, so every watcher keeps at least one interval of history.
import { pino, type Logger } from 'pino';
import type { CompactionTurn } from './etcd.js';
import type { Storage } from './interface.js';

export interface CompactorOptions {
  /** Time between compactions; also the least history a watcher can resume from. @default 300_000 (Kubernetes' 5 min) */
  intervalMs?: number;
  logger?: Logger;
  /** Called with the revision after each compaction this process performed. */
  onCompact?(revision: string): void;
}

/**
 * A backend on which several API servers take turns compacting (EtcdStorage, via a compare-and-swap
 * on a shared key). Without it each process compacts on its own schedule, which is only right when
 * there is exactly one process per backend.
 */
export interface CoordinatedCompaction {
  compactInTurn(knownTime: number, revision: string): Promise<CompactionTurn>;
}

export function startCompactor(storage: Storage, opts: CompactorOptions = {}): { stop(): void } {
  const intervalMs = opts.intervalMs ?? 5 * 60_000;
  const logger = (opts.logger ?? pino()).child({ component: 'compactor' });
  const takeTurn = isCoordinated(storage)
    ? (time: number, revision: string) => storage.compactInTurn(time, revision)
    : soloTurn(storage);

  // The shared logical clock (compaction key version) as last seen here, and the revision observed
  // on the previous tick: the next compaction point.
  let time = 0;
  let revision = '0';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const tick = async () => {
    try {
      const compactAt = revision;
      const turn = await takeTurn(time, revision);
      time = turn.time;
      revision = turn.revision;
      if (turn.compacted) {
        logger.info({ revision: compactAt }, 'compacted storage history');
        opts.onCompact?.(compactAt);
      }
    } catch (err) {
      // Keep the old clock: the next tick either retries or learns the newer time from the key.
      logger.error({ err }, 'compaction failed');
    } finally {
      schedule();
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void tick(), intervalMs);
    // Compaction alone is no reason to keep a process alive.
    timer.unref();
  };

  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function isCoordinated(storage: Storage): storage is Storage & CoordinatedCompaction {
  return typeof (storage as Partial<CoordinatedCompaction>).compactInTurn === 'function';
}

/** The same schedule for a backend that has no way to coordinate: always this process's turn. */
function soloTurn(storage: Storage) {
  return async (time: number, revision: string): Promise<CompactionTurn> => {
    const observed = await storage.currentRevision();
    if (revision === '0') return { time: time + 1, revision: observed, compacted: false };
    await storage.compact(revision);
    return { time: time + 1, revision: observed, compacted: true };
  };
}
