// The page-by-page writer prints exactly what the whole-list formatters print, however the list is split.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../api/resource.js';
import { listWriter } from './list-writer.js';
import { formatObjects } from './output.js';
import { renderTable, type TableOptions } from './table.js';

const opts: TableOptions = { now: new Date('2024-05-01T12:00:00Z') };

const ct = (i: number): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: {
    name: i % 7 === 0 ? `a-much-longer-container-name-${i}` : `c${i}`,
    namespace: 'big',
    labels: { app: 'web', 'persys.dev/n': String(i) },
    annotations: i % 3 === 0 ? { note: 'line one\nline two\n', pad: '  leading spaces', empty: '' } : undefined,
    creationTimestamp: '2024-05-01T11:57:00Z',
  },
  spec: { image: i % 5 === 0 ? 'registry.local:5000/team/app:v1.2.3' : 'nginx', nodeName: 'n1', command: ['sh', '-c', 'echo "a: b" # c'], env: [] },
  status: { phase: i % 2 ? 'Running' : 'Pending', nested: { deep: { list: [[1, 2], {}] } } },
});

const objects = Array.from({ length: 23 }, (_, i) => ct(i));

/** Writes `objs` split into pages of `size` (0: one page) and returns what was printed. */
function written(format: 'table' | 'json' | 'yaml' | 'name', objs: Resource[], size: number): string {
  const out: string[] = [];
  const w = listWriter(format, (t) => out.push(t + '\n'), { kind: 'Container', opts });
  if (!size) w.page(objs);
  else for (let i = 0; i < objs.length; i += size) w.page(objs.slice(i, i + size));
  w.end();
  return out.join('');
}

describe('listWriter', () => {
  it.each([0, 1, 5, 22])('prints json, yaml and names as formatObjects does, in pages of %i', (size) => {
    for (const format of ['json', 'yaml', 'name'] as const) {
      expect(written(format, objects, size)).toBe(formatObjects(format, objects, false) + '\n');
    }
  });

  it('prints an empty List for json and yaml, and nothing for a table or names', () => {
    expect(written('json', [], 0)).toBe(formatObjects('json', [], false) + '\n');
    expect(written('yaml', [], 0)).toBe(formatObjects('yaml', [], false) + '\n');
    expect(written('table', [], 0)).toBe('');
    expect(written('name', [], 0)).toBe('');
  });

  it('ignores empty pages between full ones', () => {
    const out: string[] = [];
    const w = listWriter('json', (t) => out.push(t + '\n'), { kind: 'Container', opts });
    w.page([]);
    w.page(objects.slice(0, 2));
    w.page([]);
    w.page(objects.slice(2));
    w.end();
    expect(JSON.parse(out.join('')).items.length).toBe(23);
    expect(out.join('')).toBe(formatObjects('json', objects, false) + '\n');
  });

  it('prints one page as renderTable does', () => {
    expect(written('table', objects, 0)).toBe(renderTable('Container', objects, opts).join('\n') + '\n');
  });

  it('prints the header once and keeps columns aligned as later pages widen them', () => {
    const lines = written('table', objects, 5).trimEnd().split('\n');
    expect(lines.length).toBe(24);
    expect(lines.filter((l) => l.startsWith('NAME '))).toHaveLength(1);
    // Rows of the first page (short names) are at least as wide as the header's NAME column; a later
    // page's longer name widens the column for the rows after it, never narrows it.
    const imageAt = lines.map((l) => l.search(/\s(nginx|registry|IMAGE)/));
    for (let i = 1; i < imageAt.length; i++) expect(imageAt[i]).toBeGreaterThanOrEqual(imageAt[i - 1]!);
  });
});
