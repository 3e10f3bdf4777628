// The re-list diff: what an informer tells its handlers after listing again.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { diffList } from './delta.js';

const obj = (name: string, rv: string, uid = `uid-${name}`, namespace = 'default'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace, uid, resourceVersion: rv },
});

const cache = (...objs: Resource[]) => new Map(objs.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));

describe('diffList', () => {
  const cases: { name: string; cached: Resource[]; listed: Resource[]; want: string[] }[] = [
    { name: 'adds everything to an empty cache', cached: [], listed: [obj('a', '1'), obj('b', '2')], want: ['add default/a', 'add default/b'] },
    { name: 'reports nothing when nothing changed', cached: [obj('a', '1')], listed: [obj('a', '1')], want: [] },
    { name: 'updates an object whose resourceVersion moved', cached: [obj('a', '1')], listed: [obj('a', '5')], want: ['update default/a'] },
    { name: 'synthesizes a delete for an object that vanished', cached: [obj('a', '1'), obj('b', '2')], listed: [obj('a', '1')], want: ['delete default/b'] },
    {
      name: 'turns a re-created object (new uid) into a delete then an add',
      cached: [obj('a', '1', 'old')],
      listed: [obj('a', '9', 'new')],
      want: ['delete default/a', 'add default/a'],
    },
    { name: 'deletes everything when the list is empty', cached: [obj('a', '1'), obj('b', '2')], listed: [], want: ['delete default/a', 'delete default/b'] },
    {
      name: 'keys cluster-scoped objects by name alone',
      cached: [],
      listed: [{ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name: 'n1', resourceVersion: '3' } }],
      want: ['add n1'],
    },
  ];
  it.each(cases)('$name', ({ cached, listed, want }) => {
    expect(diffList(cache(...cached), listed).map((d) => `${d.type} ${d.key}`)).toEqual(want);
  });

  it('hands a synthesized delete the last object the cache knew', () => {
    const last = obj('gone', '7');
    const [d] = diffList(cache(last), []);
    expect(d).toEqual({ type: 'delete', key: 'default/gone', object: last });
  });

  it('hands an update both the cached and the listed object', () => {
    const [old, now] = [obj('a', '1'), obj('a', '2')];
    expect(diffList(cache(old), [now])).toEqual([{ type: 'update', key: 'default/a', old, object: now }]);
  });
});
