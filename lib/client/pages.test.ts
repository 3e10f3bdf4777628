// listPages/listAll against a fake lister that pages like the API server (limit, continue, revision).
import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/resource.js';
import type { ListOptions, ListResult } from './client.js';
import { ContinueLoopError, listAll, listPages, type PagedLister } from './pages.js';

const cm = (name: string): Resource => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'big' } });

/** Serves `count` objects `limit` at a time; the token is the next index. Records each request. */
class FakeLister implements PagedLister {
  readonly requests: ListOptions[] = [];
  constructor(
    private readonly count: number,
    private readonly sameToken = false,
  ) {}
  async list(_kind: string, opts: ListOptions = {}): Promise<ListResult> {
    this.requests.push(opts);
    const start = Number(opts.continue ?? 0);
    const end = opts.limit ? Math.min(this.count, start + opts.limit) : this.count;
    const items = Array.from({ length: end - start }, (_, i) => cm(`cm-${start + i}`));
    const more = end < this.count;
    return {
      items,
      resourceVersion: '42',
      continue: more ? (this.sameToken ? (opts.continue ?? '0') || '0' : String(end)) : '',
      remainingItemCount: this.count - end,
    };
  }
}

const names = (items: Resource[]) => items.map((i) => i.metadata.name ?? '');

describe('listPages', () => {
  it.each([
    { count: 0, pageSize: 500, pages: [0] },
    { count: 499, pageSize: 500, pages: [499] },
    { count: 500, pageSize: 500, pages: [500] },
    { count: 501, pageSize: 500, pages: [500, 1] },
    { count: 5000, pageSize: 500, pages: Array(10).fill(500) },
    { count: 1200, pageSize: 0, pages: [1200] },
  ])('splits $count objects in pages of $pageSize as $pages', async ({ count, pageSize, pages }) => {
    const lister = new FakeLister(count);
    const sizes: number[] = [];
    const seen: string[] = [];
    for await (const page of listPages(lister, 'ConfigMap', { namespace: 'big' }, pageSize)) {
      sizes.push(page.items.length);
      seen.push(...names(page.items));
    }
    expect(sizes).toEqual(pages);
    expect(new Set(seen).size).toBe(count);
    expect(lister.requests.every((r) => r.limit === pageSize && r.namespace === 'big')).toBe(true);
  });

  it('sends each page the previous page\'s continue token and the first page none', async () => {
    const lister = new FakeLister(1100);
    for await (const _ of listPages(lister, 'ConfigMap', {}, 500));
    expect(lister.requests.map((r) => r.continue)).toEqual([undefined, '500', '1000']);
  });

  it('keeps going past an empty page that has a continue token (a selector matched nothing there)', async () => {
    const replies: ListResult[] = [
      { items: [], resourceVersion: '7', continue: 'a', remainingItemCount: 1 },
      { items: [cm('x')], resourceVersion: '7', continue: '', remainingItemCount: 0 },
    ];
    const lister: PagedLister = { list: async () => replies.shift()! };
    expect(names((await listAll(lister, 'ConfigMap')).items)).toEqual(['x']);
  });

  it('fails instead of looping when the server repeats a continue token', async () => {
    const lister = new FakeLister(2000, true);
    await expect(listAll(lister, 'ConfigMap', {}, 500)).rejects.toBeInstanceOf(ContinueLoopError);
    expect(lister.requests.length).toBe(2);
  });

  it('stops reading when the consumer stops', async () => {
    const lister = new FakeLister(5000);
    for await (const _ of listPages(lister, 'ConfigMap', {}, 500)) break;
    expect(lister.requests.length).toBe(1);
  });
});

describe('listAll', () => {
  it('returns every object in order with the list\'s resourceVersion', async () => {
    const all = await listAll(new FakeLister(1234), 'ConfigMap', {}, 500);
    expect(all.items.length).toBe(1234);
    expect(all.items[1233]!.metadata.name).toBe('cm-1233');
    expect(all.resourceVersion).toBe('42');
  });
});
