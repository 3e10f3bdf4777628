// Custom columns and --sort-by: the JSONPath-driven table cells and the order of rows.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../api/resource.js';
import { customColumnsHeader, customColumnsRow, parseCustomColumns, parseCustomColumnsFile } from './custom-columns.js';
import { compareValues, sortByPath } from './sort.js';

const obj = (name: string, extra: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'ContainerSet',
  metadata: { name, creationTimestamp: '2024-05-01T11:00:00Z' },
  ...extra,
});

describe('custom columns', () => {
  it('prints one cell per column, <none> for a missing field and commas between several values', () => {
    const cols = parseCustomColumns('NAME:.metadata.name,IMAGE:{.spec.template.spec.image},PORTS:spec.template.spec.ports[*].containerPort,NODE:.spec.nodeName');
    expect(customColumnsHeader(cols)).toEqual(['NAME', 'IMAGE', 'PORTS', 'NODE']);
    const o = obj('web', { spec: { template: { spec: { image: 'nginx', ports: [{ containerPort: 80 }, { containerPort: 443 }] } } } });
    expect(customColumnsRow(cols, o)).toEqual(['web', 'nginx', '80,443', '<none>']);
  });

  it('keeps a filter containing a comma in one column', () => {
    const cols = parseCustomColumns('N:.metadata.name,X:.items[?(@.a=="x,y")].b');
    expect(cols.map((c) => c.header)).toEqual(['N', 'X']);
  });

  it('rejects a column without a header and path', () => {
    expect(() => parseCustomColumns('NAME')).toThrow('unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>');
    expect(() => parseCustomColumns('NAME:.metadata[')).toThrow(/error parsing jsonpath/);
  });

  it('reads headers and paths from a two-line file', () => {
    const cols = parseCustomColumnsFile('NAME   IMAGE\n.metadata.name   .spec.image\n');
    expect(customColumnsRow(cols, obj('ct', { spec: { image: 'busybox' } }))).toEqual(['ct', 'busybox']);
    expect(() => parseCustomColumnsFile('NAME IMAGE\n.metadata.name\n')).toThrow('2 headers and 1 paths');
  });
});

describe('--sort-by', () => {
  it('sorts numbers by value, not as text', () => {
    const objs = [10, 9, 100].map((r, i) => obj(`s${i}`, { spec: { replicas: r } }));
    expect(sortByPath(objs, '.spec.replicas').map((o) => o.spec.replicas)).toEqual([9, 10, 100]);
  });

  it('sorts names by text, timestamps by time, and puts objects without the field first', () => {
    const names = ['web', 'api', 'db'].map((n) => obj(n));
    expect(sortByPath(names, '{.metadata.name}').map((o) => o.metadata.name)).toEqual(['api', 'db', 'web']);
    const times = [
      obj('late', { metadata: { name: 'late', creationTimestamp: '2024-05-01T12:00:00+02:00' } }),
      obj('early', { metadata: { name: 'early', creationTimestamp: '2024-05-01T11:00:00Z' } }),
    ];
    // 12:00+02:00 is 10:00Z: earlier than 11:00Z although it sorts after it as text.
    expect(sortByPath(times, '.metadata.creationTimestamp').map((o) => o.metadata.name)).toEqual(['late', 'early']);
    const partial = [obj('a', { spec: { replicas: 2 } }), obj('b')];
    expect(sortByPath(partial, '.spec.replicas').map((o) => o.metadata.name)).toEqual(['b', 'a']);
  });

  it('compares int64 strings as numbers', () => {
    expect(compareValues('900', '1000')).toBeLessThan(0);
    expect(compareValues('b', 'a')).toBeGreaterThan(0);
  });
});
