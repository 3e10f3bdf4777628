// ReplicaSet's slowStartBatch: creates run in parallel batches of 1, 2, 4 … (capped), so a set of 500 is not
// 500 round trips in a row, and a template that cannot be created fails after one call, not 500.

/** Largest batch in flight at once: bounds the requests one reconcile puts on the API server. */
export const MAX_BATCH = 64;

/** Batch sizes for `count` creates: 1, 2, 4 … up to `max`, the last one what is left. */
export function slowStartBatches(count: number, initial = 1, max = MAX_BATCH): number[] {
  const out: number[] = [];
  let size = Math.max(1, initial);
  for (let left = count; left > 0; left -= out.at(-1)!) {
    out.push(Math.min(size, left, max));
    size *= 2;
  }
  return out;
}

/**
 * Runs `fn` `count` times in slowStartBatches; after a batch with a failure no further batch starts (the
 * rest would most likely fail the same way). Returns how many succeeded and the first error.
 */
export async function slowStartBatch(count: number, fn: () => Promise<unknown>): Promise<{ succeeded: number; error?: unknown }> {
  let succeeded = 0;
  for (const size of slowStartBatches(count)) {
    const results = await Promise.allSettled(Array.from({ length: size }, () => fn()));
    let error: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') succeeded++;
      else error ??= r.reason;
    }
    if (error !== undefined) return { succeeded, error };
  }
  return { succeeded };
}
