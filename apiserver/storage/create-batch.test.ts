// CreateBatcher against a fake key-value map with etcd's transaction rules: batching, limits,
// the fallback to single creates, and that every create gets its own answer.
import { describe, expect, it } from 'vitest';
import { CreateBatcher, type PendingCreate } from './create-batch.js';

class ExistsError extends Error {}

function fakeStore(opts: { failBatches?: boolean; lingerMs?: number; lingerAfter?: number } = {}) {
  const data = new Map<string, string>();
  let rev = 1;
  const batches: number[] = [];
  const singles: string[] = [];
  const batcher = new CreateBatcher({
    maxOps: 4,
    maxBytes: 100,
    maxInFlight: 1,
    lingerMs: opts.lingerMs ?? 0,
    lingerAfter: opts.lingerAfter,
    async commitAll(batch: readonly PendingCreate[]) {
      batches.push(batch.length);
      if (opts.failBatches) throw new Error('etcdserver: too many operations in txn request');
      const keys = batch.map((b) => b.key.toString());
      if (new Set(keys).size !== keys.length) throw new Error('etcdserver: duplicate key given in txn request');
      if (keys.some((k) => data.has(k))) return { succeeded: false, revision: String(rev) };
      rev++;
      batch.forEach((b) => data.set(b.key.toString(), b.value.toString()));
      return { succeeded: true, revision: String(rev) };
    },
    async commitOne({ key, value }) {
      singles.push(key.toString());
      if (data.has(key.toString())) throw new ExistsError(key.toString());
      rev++;
      data.set(key.toString(), value.toString());
      return String(rev);
    },
  });
  const create = (key: string, value = 'v') => batcher.create(Buffer.from(key), Buffer.from(value));
  return { data, batches, singles, create };
}

describe('CreateBatcher', () => {
  it('sends a lone create by itself', async () => {
    const s = fakeStore();
    expect(await s.create('a')).toBe('2');
    expect(s.singles).toEqual(['a']);
    expect(s.batches).toEqual([]);
  });

  it('writes creates that arrive together in batches of at most maxOps, sharing a revision per batch', async () => {
    const s = fakeStore();
    const revs = await Promise.all(Array.from({ length: 10 }, (_, i) => s.create(`k${i}`)));
    // One batch in flight: the rest wait, then go as the next batches.
    expect(s.batches).toEqual([4, 4, 2]);
    expect(s.singles).toEqual([]);
    expect(revs).toEqual(['2', '2', '2', '2', '3', '3', '3', '3', '4', '4']);
    expect(s.data.size).toBe(10);
  });

  it('keeps a batch under maxBytes', async () => {
    const s = fakeStore();
    await Promise.all(Array.from({ length: 4 }, (_, i) => s.create(`big${i}`, 'x'.repeat(40))));
    // 44 bytes each under a 100-byte bound: two per batch.
    expect(s.batches).toEqual([2, 2]);
  });

  it('answers each create on its own when a key of the batch exists', async () => {
    const s = fakeStore();
    await s.create('taken');
    const results = await Promise.allSettled([s.create('warm'), s.create('x'), s.create('taken'), s.create('y')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ExistsError);
    expect([...s.data.keys()].sort()).toEqual(['taken', 'warm', 'x', 'y']);
  });

  it('never puts one key twice in a batch: the second create of a key fails as existing', async () => {
    const s = fakeStore();
    const results = await Promise.allSettled([s.create('warm'), s.create('dup'), s.create('dup'), s.create('z')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    // [warm, dup] then [dup, z], which fails as a whole, so its creates go alone.
    expect(s.batches).toEqual([2, 2]);
  });

  it('under concurrent load, lets the next batch linger so that creates arriving apart share it', async () => {
    const s = fakeStore({ lingerMs: 300, lingerAfter: 2 });
    await Promise.all([s.create('a'), s.create('b')]);
    // The batch of two was concurrent load: c waits for d instead of going alone at once.
    const c = s.create('c');
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([c, s.create('d')]);
    expect(s.batches).toEqual([2, 2]);
    expect(s.singles).toEqual([]);
  });

  it('never lets a full batch linger', async () => {
    const s = fakeStore({ lingerMs: 60_000, lingerAfter: 2 });
    await Promise.all([s.create('a'), s.create('b')]);
    // Four creates fill a batch (maxOps 4): it goes without waiting out the minute.
    await Promise.all(['c', 'd', 'e', 'f'].map((k) => s.create(k)));
    expect(s.batches).toEqual([2, 4]);
  });

  it('never lets a lone writer wait: sequential creates go one by one at once', async () => {
    const s = fakeStore({ lingerMs: 60_000, lingerAfter: 2 });
    for (const k of ['a', 'b', 'c']) await s.create(k);
    expect(s.singles).toEqual(['a', 'b', 'c']);
  });

  it('falls back to single creates when the batch transaction itself fails', async () => {
    const s = fakeStore({ failBatches: true });
    const revs = await Promise.all(['a', 'b', 'c'].map((k) => s.create(k)));
    expect(revs).toHaveLength(3);
    expect(s.singles.sort()).toEqual(['a', 'b', 'c']);
  });
});
