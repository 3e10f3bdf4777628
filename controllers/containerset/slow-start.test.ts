// slowStartBatch: batch sizes double from 1 up to the cap, and a failing batch stops the ones after it.
import { describe, expect, it } from 'vitest';
import { MAX_BATCH, slowStartBatch, slowStartBatches } from './slow-start.js';

describe('slowStartBatches', () => {
  it.each([
    [0, []],
    [1, [1]],
    [3, [1, 2]],
    [10, [1, 2, 4, 3]],
    [300, [1, 2, 4, 8, 16, 32, 64, 64, 64, 45]],
  ])('%i creates → %j', (count, sizes) => {
    expect(slowStartBatches(count)).toEqual(sizes);
    expect(slowStartBatches(count).every((s) => s <= MAX_BATCH)).toBe(true);
  });
});

describe('slowStartBatch', () => {
  it('runs every call when none fails, at most one batch in flight at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const r = await slowStartBatch(200, async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((res) => setImmediate(res));
      inFlight--;
    });
    expect(r).toEqual({ succeeded: 200 });
    expect(most).toBe(MAX_BATCH);
  });

  it('finishes the failing batch, starts no further one, and returns the first error', async () => {
    let calls = 0;
    const r = await slowStartBatch(100, async () => {
      // Calls 1-3 (batches of 1 and 2) succeed; in the batch of 4, calls 5 and 6 fail.
      const n = ++calls;
      if (n === 5 || n === 6) throw new Error(`call ${n} refused`);
    });
    expect(calls).toBe(7);
    expect(r.succeeded).toBe(5);
    expect((r.error as Error).message).toBe('call 5 refused');
  });
});
