// The behaviour every Storage backend must show, as a vitest suite: a backend's test file calls
// storageConformance(name, make) and passes when it honours the contract in interface.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { AlreadyExistsError, ConflictError, NotFoundError, TooOldError } from './errors.js';
import type { Storage, StorageEvent, StorageWatch } from './interface.js';
import { API_VERSION } from '../../lib/api/kinds.js';

export interface StorageHarness {
  storage: Storage;
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /**
   * A backend nobody else uses, for the tests that compact: compaction discards history for
   * every user of the backend. @default make
   */
  makeIsolated?: () => Promise<StorageHarness>;
}

export function storageConformance(
  name: string,
  make: () => Promise<StorageHarness>,
  options: ConformanceOptions = {},
): void {
  describe(`Storage conformance: ${name}`, () => {
    let harness: StorageHarness | undefined;
    let s: Storage;
    beforeEach(async () => {
      harness = await make();
      s = harness.storage;
    });
    afterEach(async () => {
      await harness?.cleanup();
      harness = undefined;
    });

    describe('create and get', () => {
      it('stores the object and reads it back with resourceVersion set to its revision', async () => {
        const created = await s.create('items/a', { ...secret('a', 'v1'), metadata: { name: 'a', resourceVersion: '999999' } });
        expect(created.revision).toMatch(/^[1-9]\d*$/);
        expect(created.key).toBe('items/a');
        expect(created.value.metadata.resourceVersion).toBe(created.revision);
        const got = await s.get('items/a');
        expect(got?.revision).toBe(created.revision);
        expect(got?.value.metadata.resourceVersion).toBe(created.revision);
        expect(got?.value.spec).toEqual({ data: 'v1' });
        expect(got?.value.kind).toBe('Secret');
      });

      it('returns undefined for a missing key', async () => {
        expect(await s.get('items/missing')).toBeUndefined();
      });

      it('rejects a duplicate create with AlreadyExistsError and keeps the first value', async () => {
        const first = await s.create('items/a', secret('a', 'first'));
        await expect(s.create('items/a', secret('a', 'second'))).rejects.toBeInstanceOf(AlreadyExistsError);
        const got = await s.get('items/a');
        expect(got?.value.spec).toEqual({ data: 'first' });
        expect(got?.revision).toBe(first.revision);
      });

      it('lets exactly one of 10 concurrent creates of one key win', async () => {
        const results = await Promise.allSettled(range(10).map((i) => s.create('items/race', secret('race', `c${i}`))));
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlreadyExistsError);
      });
    });

    describe('update', () => {
      it('replaces the value when the expected revision is current and returns a newer revision', async () => {
        const created = await s.create('items/a', secret('a', 'v1'));
        const updated = await s.update('items/a', secret('a', 'v2'), created.revision);
        expect(BigInt(updated.revision)).toBeGreaterThan(BigInt(created.revision));
        expect(updated.value.metadata.resourceVersion).toBe(updated.revision);
        const got = await s.get('items/a');
        expect(got?.value.spec).toEqual({ data: 'v2' });
        expect(got?.revision).toBe(updated.revision);
      });

      it('fails with ConflictError on a stale revision and leaves the value unchanged', async () => {
        const created = await s.create('items/a', secret('a', 'v1'));
        const updated = await s.update('items/a', secret('a', 'v2'), created.revision);
        const err = await s.update('items/a', secret('a', 'v3'), created.revision).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).actualRevision).toBe(updated.revision);
        const got = await s.get('items/a');
        expect(got?.value.spec).toEqual({ data: 'v2' });
        expect(got?.revision).toBe(updated.revision);
      });

      it('replaces the value unconditionally without an expected revision', async () => {
        await s.create('items/a', secret('a', 'v1'));
        await s.update('items/a', secret('a', 'v2'));
        expect((await s.get('items/a'))?.value.spec).toEqual({ data: 'v2' });
      });

      it('fails with NotFoundError for a missing key, with or without an expected revision', async () => {
        const other = await s.create('items/other', secret('other', 'v1'));
        await expect(s.update('items/missing', secret('missing', 'v1'))).rejects.toBeInstanceOf(NotFoundError);
        await expect(s.update('items/missing', secret('missing', 'v1'), other.revision)).rejects.toBeInstanceOf(NotFoundError);
        expect(await s.get('items/missing')).toBeUndefined();
      });

      it('lets exactly one of 10 concurrent updates with the same expected revision win', async () => {
        const created = await s.create('items/a', secret('a', 'v0'));
        const results = await Promise.allSettled(
          range(10).map((i) => s.update('items/a', secret('a', `u${i}`), created.revision)),
        );
        const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
        const got = await s.get('items/a');
        expect(got?.value.spec).toEqual(won[0]!.value.spec);
        expect(got?.revision).toBe(won[0]!.revision);
      });
    });

    describe('delete', () => {
      it('removes the key and returns the last stored value with its revision', async () => {
        await s.create('items/a', secret('a', 'v1'));
        const updated = await s.update('items/a', secret('a', 'v2'));
        const deleted = await s.delete('items/a', updated.revision);
        expect(deleted.key).toBe('items/a');
        expect(deleted.value.spec).toEqual({ data: 'v2' });
        expect(deleted.revision).toBe(updated.revision);
        expect(await s.get('items/a')).toBeUndefined();
      });

      it('fails with ConflictError on a stale revision and keeps the object', async () => {
        const created = await s.create('items/a', secret('a', 'v1'));
        await s.update('items/a', secret('a', 'v2'));
        await expect(s.delete('items/a', created.revision)).rejects.toBeInstanceOf(ConflictError);
        expect((await s.get('items/a'))?.value.spec).toEqual({ data: 'v2' });
      });

      it('fails with NotFoundError for a missing key, with or without an expected revision', async () => {
        const other = await s.create('items/other', secret('other', 'v1'));
        await expect(s.delete('items/missing')).rejects.toBeInstanceOf(NotFoundError);
        await expect(s.delete('items/missing', other.revision)).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('list', () => {
      it('returns only keys under the prefix, in key order, with the revision it read at', async () => {
        for (const k of ['items/b', 'items/a', 'itemsx/z', 'other/q', 'items/c/nested']) await s.create(k, secret(k, k));
        const current = await s.currentRevision();
        const res = await s.list('items/');
        expect(res.items.map((i) => i.key)).toEqual(['items/a', 'items/b', 'items/c/nested']);
        expect(res.revision).toBe(current);
        expect(res.remaining).toBe(0);
        expect(res.continue).toBeUndefined();
        for (const item of res.items) {
          expect(item.value.metadata.resourceVersion).toBe(item.revision);
          expect(item.value.spec).toEqual({ data: item.key });
        }
      });

      it('returns no items for an empty prefix, still with a revision', async () => {
        await s.create('items/a', secret('a', 'v1'));
        const res = await s.list('nothing/');
        expect(res.items).toEqual([]);
        expect(res.revision).toMatch(/^[1-9]\d*$/);
        expect(res.remaining).toBe(0);
      });

      it('pages with limit and continue over every item exactly once, consistent at the first page revision', async () => {
        const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
        for (const n of names) await s.create(`items/${n}`, secret(n, 'original'));

        const first = await s.list('items/', { limit: 3 });
        expect(first.items.map((i) => i.key)).toEqual(['items/a', 'items/b', 'items/c']);
        expect(first.remaining).toBe(4);
        expect(first.continue).toBeTruthy();

        // Changes between pages must not show: the later pages read at the first page's revision.
        await s.create('items/c2', secret('c2', 'new'));
        await s.update('items/e', secret('e', 'changed'));
        await s.delete('items/g');

        const second = await s.list('items/', { limit: 3, continue: first.continue });
        expect(second.revision).toBe(first.revision);
        expect(second.items.map((i) => i.key)).toEqual(['items/d', 'items/e', 'items/f']);
        expect(second.remaining).toBe(1);
        const third = await s.list('items/', { limit: 3, continue: second.continue });
        expect(third.revision).toBe(first.revision);
        expect(third.items.map((i) => i.key)).toEqual(['items/g']);
        expect(third.remaining).toBe(0);
        expect(third.continue).toBeUndefined();

        const all = [...first.items, ...second.items, ...third.items];
        expect(all.map((i) => i.key)).toEqual(names.map((n) => `items/${n}`));
        expect(all.every((i) => i.value.spec.data === 'original')).toBe(true);

        const now = await s.list('items/');
        expect(now.items.map((i) => i.key)).toEqual(['items/a', 'items/b', 'items/c', 'items/c2', 'items/d', 'items/e', 'items/f']);
      });

      it('returns no continue token when the limit covers every item', async () => {
        for (const n of ['a', 'b']) await s.create(`items/${n}`, secret(n, n));
        const res = await s.list('items/', { limit: 2 });
        expect(res.items).toHaveLength(2);
        expect(res.continue).toBeUndefined();
        expect(res.remaining).toBe(0);
      });
    });

    describe('list without a limit over many items', () => {
      it('returns every item once, in key order, as of one revision, however many there are', async () => {
        const n = 1_234; // more than two of etcd's internal pages
        const keys = Array.from({ length: n }, (_, i) => `items/${String(i).padStart(5, '0')}`);
        for (let i = 0; i < n; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => s.create(k, secret(k, 'v1'))));
        const res = await s.list('items/');
        expect(res.items.map((i) => i.key)).toEqual(keys);
        expect(res.revision).toBe(await s.currentRevision());
        expect(res.continue).toBeUndefined();
        // And from a continue token onwards: the rest, at the first page's revision.
        const first = await s.list('items/', { limit: 10 });
        await s.create('items/00005x', secret('new', 'later'));
        const rest = await s.list('items/', { continue: first.continue });
        expect(rest.revision).toBe(first.revision);
        expect(rest.items.map((i) => i.key)).toEqual(keys.slice(10));
      });
    });

    describe('changedBetween', () => {
      it('tells whether anything under the prefix changed between two revisions', async () => {
        await s.create('items/a', secret('a', 'v1'));
        const b = await s.create('items/b', secret('b', 'v1'));
        const outside = await s.create('other/x', secret('x', 'v1'));
        expect(await s.changedBetween('items/', b.revision, outside.revision)).toBe(false);
        const a2 = await s.update('items/a', secret('a', 'v2'));
        expect(await s.changedBetween('items/', b.revision, a2.revision)).toBe(true);
        expect(await s.changedBetween('items/', a2.revision, a2.revision)).toBe(false);
        await s.delete('items/b');
        const afterDelete = await s.currentRevision();
        expect(await s.changedBetween('items/', a2.revision, afterDelete)).toBe(true);
        // A key created and deleted in between leaves the prefix as it was.
        await s.create('items/c', secret('c', 'v1'));
        await s.delete('items/c');
        expect(await s.changedBetween('items/', afterDelete, await s.currentRevision())).toBe(false);
        const c2 = await s.create('items/c', secret('c', 'v1'));
        expect(await s.changedBetween('items/', afterDelete, c2.revision)).toBe(true);
      });
    });

    describe('deleteMany', () => {
      it('deletes every key still at its revision, skips changed and missing keys, and watches see each delete', async () => {
        const n = 300; // more than two of etcd's transactions
        const created = [];
        for (let i = 0; i < n; i += 100) {
          created.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => s.create(`items/${String(i + j).padStart(4, '0')}`, secret('x', 'v1'))))));
        }
        const changed = await s.update(created[7]!.key, secret('x', 'v2'));
        await s.delete(created[250]!.key);
        const before = await s.currentRevision();
        const w = collect(s, 'items/', before);
        try {
          const res = await s.deleteMany(created.map((c) => ({ key: c.key, expectedRevision: c.revision })));
          expect(res.deleted).toBe(n - 2);
          expect(res.skipped.sort()).toEqual([created[7]!.key, created[250]!.key].sort());
          const left = await s.list('items/');
          expect(left.items.map((i) => [i.key, i.revision])).toEqual([[changed.key, changed.revision]]);
          const events = await w.until(n - 2);
          expect(events.every((e) => e.type === 'DELETED')).toBe(true);
          expect(new Set(events.map((e) => e.key)).size).toBe(n - 2);
          expect(events.some((e) => e.key === changed.key)).toBe(false);
          for (const e of events) expect(e.value.spec).toEqual({ data: 'v1' });
        } finally {
          w.close();
        }
      });

      it('does nothing for an empty batch', async () => {
        expect(await s.deleteMany([])).toEqual({ deleted: 0, skipped: [] });
      });
    });

    describe('watch', () => {
      it('delivers exactly the later changes under the prefix, in order, with values', async () => {
        const r0 = await s.currentRevision();
        const a1 = await s.create('items/a', secret('a', 'v1'));
        const a2 = await s.update('items/a', secret('a', 'v2'));
        await s.create('other/x', secret('x', 'outside'));
        await s.delete('items/a');
        const b = await s.create('items/b', secret('b', 'v1'));

        const w = collect(s, 'items/', r0);
        try {
          await w.until(4);
          // A change made after the watch started arrives too, and proves nothing else was queued.
          const z = await s.create('items/z', secret('z', 'live'));
          const events = await w.until(5);
          expect(events.map((e) => [e.type, e.key, e.value.spec?.data])).toEqual([
            ['ADDED', 'items/a', 'v1'],
            ['MODIFIED', 'items/a', 'v2'],
            ['DELETED', 'items/a', 'v2'],
            ['ADDED', 'items/b', 'v1'],
            ['ADDED', 'items/z', 'live'],
          ]);
          expect(events[0]!.revision).toBe(a1.revision);
          expect(events[1]!.revision).toBe(a2.revision);
          expect(BigInt(events[2]!.revision)).toBeGreaterThan(BigInt(a2.revision));
          expect(BigInt(events[2]!.revision)).toBeLessThan(BigInt(b.revision));
          expect(events[3]!.revision).toBe(b.revision);
          expect(events[4]!.revision).toBe(z.revision);
          for (const e of events) expect(e.value.metadata.resourceVersion).toBe(e.revision);
          expect(w.error).toBeUndefined();
        } finally {
          w.close();
        }
      });

      it('resumes from a mid revision with only the changes after it', async () => {
        await s.create('items/a', secret('a', 'v1'));
        const mid = await s.update('items/a', secret('a', 'v2'));
        await s.delete('items/a');
        await s.create('items/b', secret('b', 'v1'));
        const w = collect(s, 'items/', mid.revision);
        try {
          await w.until(2);
          await s.create('items/z', secret('z', 'sentinel'));
          const events = await w.until(3);
          expect(events.map((e) => [e.type, e.key])).toEqual([
            ['DELETED', 'items/a'],
            ['ADDED', 'items/b'],
            ['ADDED', 'items/z'],
          ]);
        } finally {
          w.close();
        }
      });

      it('delivers from a list revision the changes the list did not include', async () => {
        await s.create('items/a', secret('a', 'v1'));
        const listed = await s.list('items/');
        const b = await s.create('items/b', secret('b', 'v1'));
        const w = collect(s, 'items/', listed.revision);
        try {
          const events = await w.until(1);
          expect(events.map((e) => [e.type, e.key, e.revision])).toEqual([['ADDED', 'items/b', b.revision]]);
        } finally {
          w.close();
        }
      });
    });
  });

  describe(`Storage conformance: ${name}: compaction`, () => {
    let harness: StorageHarness | undefined;
    let s: Storage;
    beforeEach(async () => {
      harness = await (options.makeIsolated ?? make)();
      s = harness.storage;
    });
    afterEach(async () => {
      await harness?.cleanup();
      harness = undefined;
    });

    it('fails a watch from before the compacted revision with TooOldError and no events', async () => {
      const first = await s.create('items/a', secret('a', 'v1'));
      for (let i = 2; i <= 4; i++) await s.update('items/a', secret('a', `v${i}`));
      await s.compact(await s.currentRevision());
      const w = collect(s, 'items/', first.revision);
      try {
        const err = await w.failure();
        expect(err).toBeInstanceOf(TooOldError);
        expect(w.events).toEqual([]);
      } finally {
        w.close();
      }
    });

    it('still serves a watch from the compacted revision onwards', async () => {
      await s.create('items/a', secret('a', 'v1'));
      await s.update('items/a', secret('a', 'v2'));
      const rev = await s.currentRevision();
      await s.compact(rev);
      const w = collect(s, 'items/', rev);
      try {
        const next = await s.update('items/a', secret('a', 'v3'));
        const events = await w.until(1);
        expect(events.map((e) => [e.type, e.revision, e.value.spec?.data])).toEqual([['MODIFIED', next.revision, 'v3']]);
      } finally {
        w.close();
      }
    });

    it('fails a continue token from before a compaction with TooOldError', async () => {
      for (const n of ['a', 'b', 'c']) await s.create(`items/${n}`, secret(n, n));
      const page = await s.list('items/', { limit: 1 });
      await s.update('items/a', secret('a', 'changed'));
      await s.compact(await s.currentRevision());
      await expect(s.list('items/', { limit: 1, continue: page.continue })).rejects.toBeInstanceOf(TooOldError);
    });
  });
}

function secret(name: string, data: string): Resource {
  return { apiVersion: API_VERSION, kind: 'Secret', metadata: { name, namespace: 'default' }, spec: { data } };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

interface Collector extends StorageWatch {
  readonly events: StorageEvent[];
  readonly error: Error | undefined;
  /** Resolves with all events once at least `n` arrived; rejects if the watch fails first. */
  until(n: number): Promise<StorageEvent[]>;
  /** Resolves with the watch's error. */
  failure(): Promise<Error>;
}

function collect(s: Storage, prefix: string, from: string): Collector {
  const events: StorageEvent[] = [];
  let error: Error | undefined;
  let wake = () => {};
  const changed = () => new Promise<void>((r) => (wake = r));
  let next = changed();
  const watch = s.watch(prefix, from, {
    onEvent(e) {
      events.push(e);
      wake();
    },
    onError(e) {
      error = e;
      wake();
    },
  });
  return {
    events,
    get error() {
      return error;
    },
    close: () => watch.close(),
    async until(n) {
      for (;;) {
        if (events.length >= n) return events;
        if (error) throw error;
        await next;
        next = changed();
      }
    },
    async failure() {
      for (;;) {
        if (error) return error;
        await next;
        next = changed();
      }
    },
  };
}
