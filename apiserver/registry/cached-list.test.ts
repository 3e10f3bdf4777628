// pageOf: paging a sorted snapshot of the watch cache by prefix, start key, limit and selector.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { parseContinue } from '../storage/continue.js';
import { pageOf, type Snapshot } from './cached-list.js';

const ct = (ns: string, name: string, labels: Record<string, string> = {}): readonly [string, Resource] => [
  `containers/${ns}/${name}`,
  { apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { namespace: ns, name, labels } },
];
const snapshot: Snapshot = {
  revision: '42',
  entries: [ct('a', 'x'), ct('b', 'p', { app: 'web' }), ct('b', 'q'), ct('b', 'r', { app: 'web' }), ct('b', 's'), ct('ba', 'z', { app: 'web' }), ct('c', 'y')],
};
const all = () => true;
const web = (o: Resource) => o.metadata.labels?.app === 'web';
const names = (items: Resource[]) => items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

describe('pageOf', () => {
  const cases: { name: string; prefix: string; start?: string; limit: number; matches?: (o: Resource) => boolean; items: string[]; remaining: number; next?: string }[] = [
    { name: 'every object of the kind without a limit', prefix: 'containers/', limit: 0, items: ['a/x', 'b/p', 'b/q', 'b/r', 'b/s', 'ba/z', 'c/y'], remaining: 0 },
    { name: 'one namespace, not one whose name merely starts alike', prefix: 'containers/b/', limit: 0, items: ['b/p', 'b/q', 'b/r', 'b/s'], remaining: 0 },
    { name: 'a first page with the rest counted', prefix: 'containers/b/', limit: 2, items: ['b/p', 'b/q'], remaining: 2, next: 'containers/b/q\x00' },
    { name: 'a later page from its start key', prefix: 'containers/b/', start: 'containers/b/q\x00', limit: 2, items: ['b/r', 'b/s'], remaining: 0 },
    { name: 'selectors fill the page from further on', prefix: 'containers/', limit: 2, matches: web, items: ['b/p', 'b/r'], remaining: 3, next: 'containers/b/r\x00' },
    { name: 'a page that ends where the prefix ends has no continue', prefix: 'containers/b/', limit: 4, items: ['b/p', 'b/q', 'b/r', 'b/s'], remaining: 0 },
    { name: 'an empty namespace', prefix: 'containers/nope/', limit: 10, items: [], remaining: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const page = pageOf(snapshot, c.prefix, c.start ?? c.prefix, c.limit, c.matches ?? all);
      expect(names(page.items)).toEqual(c.items);
      expect(page.remaining).toBe(c.remaining);
      expect(page.revision).toBe('42');
      if (c.next) expect(parseContinue(page.continue!, c.prefix)).toEqual({ rev: '42', start: c.next });
      else expect(page.continue).toBeUndefined();
    });
  }

  it('walks every object exactly once across pages', () => {
    const seen: string[] = [];
    let start = 'containers/';
    for (let i = 0; i < 10; i++) {
      const page = pageOf(snapshot, 'containers/', start, 3, all);
      seen.push(...names(page.items));
      if (!page.continue) break;
      start = parseContinue(page.continue, 'containers/').start;
    }
    expect(seen).toEqual(['a/x', 'b/p', 'b/q', 'b/r', 'b/s', 'ba/z', 'c/y']);
  });
});
