// Why a watch ended or a wait failed. TooOldError (storage/errors.ts) is reused for "list again".
export class WatchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The client is stuck: it took no event for `stalledMs` while events waited, or `behind` events
 * reached the hard cap. → RESOURCE_EXHAUSTED / re-watch.
 */
export class SlowWatcherError extends WatchError {
  constructor(
    readonly behind: number,
    readonly stalledMs: number,
  ) {
    const why = stalledMs > 0 ? `, having read none for ${(stalledMs / 1000).toFixed(1)} s,` : '';
    super(`watcher fell behind by ${behind} events${why} and was closed: watch again from the last resourceVersion you received`);
  }
}

/** waitForRevision timed out (Kubernetes: "Too large resource version"). → UNAVAILABLE, retry. */
export class TooLargeRevisionError extends WatchError {
  constructor(readonly revision: string, readonly currentRevision: string) {
    super(`resource version ${revision} is newer than the watch cache (at ${currentRevision}): retry shortly`);
  }
}

/** The cache is not started yet or was stopped. → UNAVAILABLE, retry. */
export class CacheUnavailableError extends WatchError {}
