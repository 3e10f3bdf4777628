// Ends a client watch when the CLI's abort signal fires (Ctrl-C in-process, or a test), since the
// watch iterator itself only ends on the server's say.
export async function* untilAborted<T>(events: AsyncGenerator<T>, signal?: AbortSignal): AsyncGenerator<T> {
  if (!signal) {
    yield* events;
    return;
  }
  if (signal.aborted) {
    void events.return(undefined);
    return;
  }
  const aborted = new Promise<'aborted'>((resolve) => signal.addEventListener('abort', () => resolve('aborted'), { once: true }));
  try {
    for (;;) {
      const next = await Promise.race([events.next(), aborted]);
      if (next === 'aborted' || next.done) return;
      yield next.value;
    }
  } finally {
    // Queued behind a pending next(); the iterator cancels its stream when it runs.
    events.return(undefined).catch(() => {});
  }
}
