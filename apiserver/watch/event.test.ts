// Filter transitions: what a filtered watcher sees of each kind of change.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { eventForWatcher, type CacheEvent } from './event.js';

const obj = (app: string, rv: string): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name: 'c', namespace: 'default', labels: { app }, resourceVersion: rv },
});
const isWeb = (o: Resource) => o.metadata.labels?.app === 'web';

describe('eventForWatcher with a filter', () => {
  const cases: { name: string; ev: CacheEvent; want: { type: string; app: string; rv: string } | undefined }[] = [
    { name: 'ADDED matching → ADDED', ev: { type: 'ADDED', key: 'k', object: obj('web', '2'), revision: '2' }, want: { type: 'ADDED', app: 'web', rv: '2' } },
    { name: 'ADDED not matching → nothing', ev: { type: 'ADDED', key: 'k', object: obj('db', '2'), revision: '2' }, want: undefined },
    { name: 'MODIFIED into the filter → ADDED', ev: { type: 'MODIFIED', key: 'k', object: obj('web', '3'), prevObject: obj('db', '2'), revision: '3' }, want: { type: 'ADDED', app: 'web', rv: '3' } },
    { name: 'MODIFIED within the filter → MODIFIED', ev: { type: 'MODIFIED', key: 'k', object: obj('web', '3'), prevObject: obj('web', '2'), revision: '3' }, want: { type: 'MODIFIED', app: 'web', rv: '3' } },
    { name: 'MODIFIED out of the filter → DELETED of the last matching state at the new revision', ev: { type: 'MODIFIED', key: 'k', object: obj('db', '3'), prevObject: obj('web', '2'), revision: '3' }, want: { type: 'DELETED', app: 'web', rv: '3' } },
    { name: 'MODIFIED outside the filter → nothing', ev: { type: 'MODIFIED', key: 'k', object: obj('db', '3'), prevObject: obj('db', '2'), revision: '3' }, want: undefined },
    { name: 'DELETED matching → DELETED', ev: { type: 'DELETED', key: 'k', object: obj('web', '4'), revision: '4' }, want: { type: 'DELETED', app: 'web', rv: '4' } },
    { name: 'DELETED not matching → nothing', ev: { type: 'DELETED', key: 'k', object: obj('db', '4'), revision: '4' }, want: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = eventForWatcher(c.ev, isWeb);
      if (!c.want) return expect(got).toBeUndefined();
      expect(got).toMatchObject({ type: c.want.type, revision: c.ev.revision });
      expect(got!.object!.metadata.labels!.app).toBe(c.want.app);
      expect(got!.object!.metadata.resourceVersion).toBe(c.want.rv);
    });
  }

  it('passes every event through unchanged without a filter', () => {
    const ev: CacheEvent = { type: 'MODIFIED', key: 'k', object: obj('db', '3'), prevObject: obj('web', '2'), revision: '3' };
    expect(eventForWatcher(ev)).toBe(ev);
  });
});
