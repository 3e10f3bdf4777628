// The compactor on an etcd of its own (compaction is etcd-wide): history older than one interval
// becomes TooOld, recent history stays watchable, and API servers take turns.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startEtcd, type EtcdInstance } from '../../e2e/harness/etcd.js';
import type { Resource } from '../../lib/api/resource.js';
import { startCompactor } from './compactor.js';
import { EtcdStorage, type CompactionTurn } from './etcd.js';
import { TooOldError } from './errors.js';
import type { Storage, StorageEvent } from './interface.js';

const silent = pino({ level: 'silent' });

/** Records every turn, so a test can tell which revision each tick observed. */
class RecordingEtcdStorage extends EtcdStorage {
  readonly turns: CompactionTurn[] = [];
  override async compactInTurn(knownTime: number, revision: string): Promise<CompactionTurn> {
    const turn = await super.compactInTurn(knownTime, revision);
    this.turns.push(turn);
    return turn;
  }
}

describe('startCompactor', () => {
  let etcd: EtcdInstance;
  const opened: Storage[] = [];
  const open = <S extends Storage>(s: S): S => (opened.push(s), s);
  beforeEach(async () => {
    etcd = await startEtcd();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await etcd.stop();
  });

  it('makes revisions older than one interval TooOld while the latest stay watchable', async () => {
    const storage = open(new RecordingEtcdStorage({ endpoints: [etcd.endpoint] }));
    const first = await storage.create('items/a', secret('v0'));
    for (let i = 1; i <= 20; i++) await storage.update('items/a', secret(`v${i}`));

    const compacted: string[] = [];
    const done = new Promise<void>((resolve) => {
      const compactor = startCompactor(storage, {
        intervalMs: 50,
        logger: silent,
        onCompact(rev) {
          compacted.push(rev);
          compactor.stop();
          resolve();
        },
      });
    });
    await done;

    // The first compaction point is what the previous (bootstrap) tick observed, not "now".
    expect(storage.turns[0]!.compacted).toBe(false);
    expect(compacted[0]).toBe(storage.turns[0]!.revision);
    expect(BigInt(compacted[0]!)).toBeGreaterThan(BigInt(first.revision) + 1n);

    const err = await new Promise<Error>((resolve) =>
      storage.watch('items/', first.revision, { onEvent: () => {}, onError: resolve }),
    );
    expect(err).toBeInstanceOf(TooOldError);

    const latest = await storage.currentRevision();
    const event = new Promise<StorageEvent>((resolve, reject) =>
      storage.watch('items/', latest, { onEvent: resolve, onError: reject }),
    );
    const next = await storage.update('items/a', secret('after'));
    expect((await event).revision).toBe(next.revision);
  });

  it('compacts at the previously observed revision on a backend without coordination', async () => {
    const etcdStorage = open(new EtcdStorage({ endpoints: [etcd.endpoint] }));
    await etcdStorage.create('items/a', secret('v0'));
    const observed: string[] = [];
    // Only the Storage interface: no compactInTurn, so the compactor runs solo.
    const plain: Storage = {
      create: (k, v) => etcdStorage.create(k, v),
      get: (k) => etcdStorage.get(k),
      list: (p, o) => etcdStorage.list(p, o),
      update: (k, v, r) => etcdStorage.update(k, v, r),
      delete: (k, r) => etcdStorage.delete(k, r),
      deleteMany: (e) => etcdStorage.deleteMany(e),
      watch: (p, r, h) => etcdStorage.watch(p, r, h),
      currentRevision: async () => {
        const rev = await etcdStorage.currentRevision();
        observed.push(rev);
        await etcdStorage.update('items/a', secret(`tick ${observed.length}`)); // history between ticks
        return rev;
      },
      changedBetween: (p, a, b) => etcdStorage.changedBetween(p, a, b),
      compact: (r) => etcdStorage.compact(r),
      close: async () => {},
    };
    const rev = await new Promise<string>((resolve) => {
      const compactor = startCompactor(plain, {
        intervalMs: 50,
        logger: silent,
        onCompact(r) {
          compactor.stop();
          resolve(r);
        },
      });
    });
    expect(observed.length).toBeGreaterThanOrEqual(2);
    expect(rev).toBe(observed[0]);
    expect(await etcdStorage.isCompacted((BigInt(rev) - 1n).toString())).toBe(true);
    expect(await etcdStorage.isCompacted(rev)).toBe(false);
  });
});

describe('EtcdStorage.compactInTurn', () => {
  let etcd: EtcdInstance;
  beforeEach(async () => {
    etcd = await startEtcd();
  });
  afterEach(async () => {
    await etcd.stop();
  });

  it('lets only the API server holding the current compaction time compact', async () => {
    const a = new EtcdStorage({ endpoints: [etcd.endpoint] });
    const b = new EtcdStorage({ endpoints: [etcd.endpoint] });
    try {
      for (let i = 0; i < 5; i++) await a.create(`items/${i}`, secret(`v${i}`));

      // Tick 1: A starts the clock; B, a moment later, finds the clock moved and only learns it.
      const a1 = await a.compactInTurn(0, '0');
      const b1 = await b.compactInTurn(0, '0');
      expect(a1).toMatchObject({ time: 1, compacted: false });
      expect(b1).toMatchObject({ time: 1, compacted: false });

      for (let i = 0; i < 5; i++) await a.update(`items/${i}`, secret(`w${i}`));

      // Tick 2: A wins and compacts at what it saw on tick 1; B loses the compare-and-swap.
      const a2 = await a.compactInTurn(a1.time, a1.revision);
      const b2 = await b.compactInTurn(b1.time, b1.revision);
      expect(a2).toMatchObject({ time: 2, compacted: true });
      expect(b2).toMatchObject({ time: 2, compacted: false });
      expect(await a.isCompacted((BigInt(a1.revision) - 1n).toString())).toBe(true);
      expect(await a.isCompacted(a1.revision)).toBe(false);
      expect(await a.isCompacted(b1.revision)).toBe(false);

      // If A stops, B takes over on its next tick with the clock it learned.
      const b3 = await b.compactInTurn(b2.time, b2.revision);
      expect(b3).toMatchObject({ time: 3, compacted: true });
      expect(await b.isCompacted((BigInt(b2.revision) - 1n).toString())).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

function secret(data: string): Resource {
  return { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'a' }, spec: { data } };
}
