// The informer's loop against a scripted list/watch source: resuming from the last revision
// (bookmarks included), re-listing on "too old", back-off, indexes and handler isolation.
import { status as Code } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { type ClientWatchEvent, type ListOptions, type WatchOptions } from '../../lib/client/client.js';
import { ApiError } from '../../lib/client/errors.js';
import { indexByNodeName, BY_NODE_NAME } from './indexers.js';
import { Informer, type ListWatcher } from './informer.js';
import { informerMetrics } from './metrics.js';

const ct = (name: string, rv: string, spec: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: rv },
  spec,
});

type Step = ClientWatchEvent | Error;

/** A source whose lists and watch streams are scripted; each watch call takes the next script. */
class ScriptedSource implements ListWatcher {
  lists: Resource[][] = [];
  listRevisions: string[] = [];
  watches: Step[][] = [];
  watchCalls: WatchOptions[] = [];
  listCalls = 0;
  private idle: (() => void)[] = [];

  async list() {
    const i = this.listCalls++;
    const items = this.lists[Math.min(i, this.lists.length - 1)]!;
    return { items, resourceVersion: this.listRevisions[Math.min(i, this.listRevisions.length - 1)]! };
  }

  async *watch(_kind: string, opts: WatchOptions = {}): AsyncGenerator<ClientWatchEvent> {
    this.watchCalls.push(opts);
    const script = this.watches.shift();
    if (!script) {
      // Out of script: stay open until the informer stops.
      await new Promise<void>((resolve) => {
        this.idle.push(resolve);
        opts.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      return;
    }
    for (const step of script) {
      if (step instanceof Error) throw step;
      yield step;
    }
  }
}

const tooOld = () => new ApiError(Code.OUT_OF_RANGE, 'OUT_OF_RANGE', 'resourceVersion 3 is too old');
const unavailable = () => new ApiError(Code.UNAVAILABLE, 'UNAVAILABLE', 'connection refused');

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

function informer(source: ScriptedSource, delays: number[] = []) {
  return new Informer({
    client: source,
    kind: 'Container',
    indexers: { [BY_NODE_NAME]: indexByNodeName },
    delay: async (ms) => void delays.push(ms),
  });
}

describe('Informer (scripted source)', () => {
  it('resumes the watch from the last event or bookmark revision instead of listing again', async () => {
    const src = new ScriptedSource();
    src.lists = [[ct('a', '10')]];
    src.listRevisions = ['10'];
    src.watches = [
      [{ type: 'MODIFIED', object: ct('a', '11'), resourceVersion: '11' }, { type: 'BOOKMARK', resourceVersion: '15' }, unavailable()],
      [{ type: 'ADDED', object: ct('b', '16'), resourceVersion: '16' }],
    ];
    const inf = informer(src);
    inf.start();
    await until(() => src.watchCalls.length === 3);
    await inf.stop();
    expect(src.watchCalls.map((w) => w.resourceVersion)).toEqual(['10', '15', '16']);
    expect(src.watchCalls.every((w) => w.allowBookmarks)).toBe(true);
    expect(src.listCalls).toBe(1);
    expect(inf.list().map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
  });

  it('lists in pages of the page size, continuing until the last page, and watches from the first page\'s revision', async () => {
    const all = Array.from({ length: 1_234 }, (_, i) => ct(`c${String(i).padStart(4, '0')}`, '40'));
    const calls: ListOptions[] = [];
    const paged: ListWatcher = {
      async list(_kind, opts = {}) {
        calls.push(opts);
        const start = opts.continue ? Number(opts.continue) : 0;
        const end = Math.min(all.length, start + (opts.limit || all.length));
        // Later pages carry a newer revision than the first, as a server's might: the first one counts.
        return { items: all.slice(start, end), resourceVersion: start ? '99' : '40', continue: end < all.length ? String(end) : '' };
      },
      watch: (kind, opts) => new ScriptedSource().watch(kind, opts),
    };
    const inf = new Informer({ client: paged, kind: 'Container', pageSize: 500 });
    inf.start();
    await inf.waitForSync();
    await inf.stop();
    expect(calls.map((c) => [c.limit, c.continue])).toEqual([[500, ''], [500, '500'], [500, '1000']]);
    expect(inf.list()).toHaveLength(1_234);
    expect(inf.lastSyncResourceVersion()).toBe('40');
  });

  it('lists again on "too old" and synthesizes deletes for objects that vanished meanwhile', async () => {
    const src = new ScriptedSource();
    src.lists = [[ct('a', '10'), ct('b', '10')], [ct('a', '30'), ct('c', '31')]];
    src.listRevisions = ['10', '31'];
    src.watches = [[tooOld()]];
    const inf = informer(src);
    const seen: string[] = [];
    inf.addEventHandler({
      onAdd: (o) => seen.push(`add ${o.metadata.name}`),
      onUpdate: (old, o) => seen.push(`update ${o.metadata.name} ${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
      onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    inf.start();
    await until(() => src.watchCalls.length === 2);
    await inf.stop();
    expect(src.listCalls).toBe(2);
    expect(seen).toEqual(['add a', 'add b', 'update a 10->30', 'add c', 'delete b']);
    expect(src.watchCalls[1]!.resourceVersion).toBe('31');
    expect(inf.get('default', 'b')).toBeUndefined();
  });

  it('counts re-lists after the first list in persys_informer_relists_total, per kind', async () => {
    const registry = new Registry();
    const src = new ScriptedSource();
    src.lists = [[ct('a', '10')]];
    src.listRevisions = ['10', '20'];
    src.watches = [[unavailable()], [tooOld()]];
    const inf = new Informer({ client: src, kind: 'Container', delay: async () => undefined, metrics: informerMetrics(registry) });
    inf.start();
    await until(() => src.watchCalls.length === 3);
    await inf.stop();
    // The first list and a resumed watch are not re-lists; the list after "too old" is.
    expect(src.listCalls).toBe(2);
    expect((await registry.getSingleMetric('persys_informer_relists_total')!.get()).values).toEqual([{ value: 1, labels: { kind: 'Container' } }]);
  });

  it('backs off 1 s, 2 s, 4 s … up to 30 s while the server is unreachable, and resets after success', async () => {
    const src = new ScriptedSource();
    src.lists = [[]];
    src.listRevisions = ['5'];
    src.watches = [
      ...Array.from({ length: 7 }, () => [unavailable()]),
      [{ type: 'ADDED', object: ct('a', '6'), resourceVersion: '6' }, unavailable()],
    ];
    const delays: number[] = [];
    const inf = informer(src, delays);
    inf.start();
    await until(() => src.watchCalls.length === 9);
    await inf.stop();
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 1_000]);
  });

  it('backs off before listing again when a fresh list is at once "too old" again', async () => {
    const src = new ScriptedSource();
    src.lists = [[]];
    src.listRevisions = ['5'];
    src.watches = [[tooOld()], [tooOld()]];
    const delays: number[] = [];
    const inf = informer(src, delays);
    inf.start();
    await until(() => src.watchCalls.length === 3);
    await inf.stop();
    expect(src.listCalls).toBe(3);
    expect(delays).toEqual([1_000]);
  });

  it('keeps indexes current across add, update and delete', async () => {
    const src = new ScriptedSource();
    src.lists = [[ct('a', '1', { nodeName: 'n1' }), ct('b', '1', { nodeName: 'n1' })]];
    src.listRevisions = ['1'];
    src.watches = [
      [
        { type: 'MODIFIED', object: ct('a', '2', { nodeName: 'n2' }), resourceVersion: '2' },
        { type: 'DELETED', object: ct('b', '3', { nodeName: 'n1' }), resourceVersion: '3' },
        { type: 'ADDED', object: ct('c', '4'), resourceVersion: '4' },
      ],
    ];
    const inf = informer(src);
    inf.start();
    await until(() => src.watchCalls.length === 2);
    await inf.stop();
    expect(inf.byIndex(BY_NODE_NAME, 'n1')).toEqual([]);
    expect(inf.byIndex(BY_NODE_NAME, 'n2').map((o) => o.metadata.name)).toEqual(['a']);
    expect(() => inf.byIndex('nope', 'x')).toThrow(/no index "nope"/);
    inf.addIndexer('late', (o) => [o.metadata.name!]);
    expect(inf.byIndex('late', 'c').map((o) => o.metadata.name)).toEqual(['c']);
  });

  it('keeps following the server when a handler throws, and replays the cache to late handlers', async () => {
    const src = new ScriptedSource();
    src.lists = [[ct('a', '1')]];
    src.listRevisions = ['1'];
    src.watches = [[{ type: 'ADDED', object: ct('b', '2'), resourceVersion: '2' }]];
    const inf = informer(src);
    inf.onAdd(() => {
      throw new Error('handler bug');
    });
    inf.start();
    await inf.waitForSync();
    await until(() => src.watchCalls.length === 2);
    const late: string[] = [];
    inf.onAdd((o) => late.push(o.metadata.name!));
    await inf.stop();
    expect(late.sort()).toEqual(['a', 'b']);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.lastSyncResourceVersion()).toBe('2');
  });

  it('rejects waitForSync when stopped before the first list', async () => {
    const src = new ScriptedSource();
    const inf = new Informer({ client: { list: () => new Promise(() => {}), watch: src.watch.bind(src) }, kind: 'Container' });
    inf.start();
    const waiting = inf.waitForSync();
    await inf.stop().catch(() => undefined);
    await expect(waiting).rejects.toThrow(/stopped before it synced/);
  });
});
