// The synthetic events a re-list produces from the difference between cache and storage.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { relistEvents } from './relist.js';

const obj = (name: string, rv: string, image = 'busybox'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, resourceVersion: rv },
  spec: { image },
});

describe('relistEvents', () => {
  it('synthesizes DELETED for vanished keys, then ADDED and MODIFIED in key order, all at the list revision', () => {
    const current = new Map([
      ['c/a', obj('a', '3')],
      ['c/b', obj('b', '4')],
      ['c/d', obj('d', '5')],
    ]);
    const listed = [
      { key: 'c/b', value: obj('b', '9', 'nginx'), revision: '9' },
      { key: 'c/c', value: obj('c', '10'), revision: '10' },
      { key: 'c/d', value: obj('d', '5'), revision: '5' },
    ];
    const events = relistEvents(current, listed, '12');
    expect(events.map((e) => [e.type, e.key, e.revision, e.object.metadata.resourceVersion])).toEqual([
      ['DELETED', 'c/a', '12', '12'],
      ['MODIFIED', 'c/b', '12', '9'],
      ['ADDED', 'c/c', '12', '10'],
    ]);
    expect(events[1]!.prevObject).toBe(current.get('c/b'));
    expect(events[1]!.object.spec.image).toBe('nginx');
  });

  it('produces nothing when the list matches the cache', () => {
    const current = new Map([['c/a', obj('a', '3')]]);
    expect(relistEvents(current, [{ key: 'c/a', value: obj('a', '3'), revision: '3' }], '7')).toEqual([]);
  });
});
