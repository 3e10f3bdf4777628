// Manifest loading: multi-document splitting, directories, stdin, and errors that name file and line.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifests, ManifestError, parseManifests } from './load.js';

const web = 'apiVersion: persys.dev/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: nginx\n';
const db = 'apiVersion: persys.dev/v1\nkind: Container\nmetadata:\n  name: db\n  namespace: data\nspec:\n  image: postgres\n';

function tempTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'persys-manifests-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

describe('parseManifests', () => {
  it('splits multi-document YAML on --- and skips empty documents', () => {
    const ms = parseManifests(`---\n${web}---\n\n---\n# only a comment\n---\n${db}`, 'app.yaml');
    expect(ms.map((m) => [m.kind, m.name, m.namespace])).toEqual([
      ['Container', 'web', ''],
      ['Container', 'db', 'data'],
    ]);
  });

  it('keeps each document\'s original text, including comments and unknown fields', () => {
    const text = `${web}bogusField: 1 # keep me\n---\n${db}`;
    const [first, second] = parseManifests(text, 'app.yaml');
    expect(first!.text).toContain('bogusField: 1 # keep me');
    expect(first!.text).not.toContain('postgres');
    expect(second!.text).toContain('image: postgres');
    expect(second!.text).not.toContain('---');
  });

  it('records the line each document starts on', () => {
    const ms = parseManifests(`${web}---\n${db}`, 'app.yaml');
    expect(ms.map((m) => m.line)).toEqual([1, 8]);
  });

  it('reports a YAML syntax error with the file name and line', () => {
    const text = `${web}---\nkind: Container\nmetadata:\n  name: [broken\n`;
    expect(() => parseManifests(text, 'bad.yaml')).toThrow(ManifestError);
    try {
      parseManifests(text, 'bad.yaml');
    } catch (err) {
      expect((err as ManifestError).source).toBe('bad.yaml');
      expect((err as ManifestError).line).toBe(11);
      expect((err as Error).message).toMatch(/^bad\.yaml:11: invalid YAML: Flow sequence/);
    }
  });

  it('names the exact line of a nested-mapping mistake', () => {
    expect(() => parseManifests('kind: Container\nmetadata: :\n  name: x\n', 'm.yaml')).toThrow(/^m\.yaml:2: invalid YAML/);
  });

  it('rejects a document without kind, naming its line', () => {
    expect(() => parseManifests(`${web}---\nmetadata:\n  name: x\n`, 'f.yaml')).toThrow("f.yaml:8: Object 'kind' is missing");
  });

  it('rejects a document that is not a mapping', () => {
    expect(() => parseManifests('- a\n- b\n', 'f.yaml')).toThrow(/must be a mapping/);
  });

  it('reads JSON documents', () => {
    const [m] = parseManifests('{"apiVersion":"persys.dev/v1","kind":"Secret","metadata":{"name":"s"}}', 's.json');
    expect([m!.kind, m!.name]).toEqual(['Secret', 's']);
  });

  it('expands a kind: List into its items', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [{ kind: 'Container', metadata: { name: 'a' } }, { kind: 'Secret', metadata: { name: 'b' } }] };
    const ms = parseManifests(JSON.stringify(list), 'list.json');
    expect(ms.map((m) => `${m.kind}/${m.name}`)).toEqual(['Container/a', 'Secret/b']);
    expect(JSON.parse(ms[0]!.text)).toEqual(list.items[0]);
  });
});

describe('loadManifests', () => {
  it('reads only the manifest files directly in a directory unless recursive', async () => {
    const dir = tempTree({ 'a.yaml': web, 'b.json': JSON.stringify({ kind: 'Secret', metadata: { name: 's' } }), 'notes.txt': 'x', 'sub/c.yml': db });
    const flat = await loadManifests([dir]);
    expect(flat.map((m) => m.name)).toEqual(['web', 's']);
    const deep = await loadManifests([dir], { recursive: true });
    expect(deep.map((m) => m.name)).toEqual(['web', 's', 'db']);
    expect(deep[2]!.source).toBe(join(dir, 'sub', 'c.yml'));
  });

  it('reads "-" from the injected stdin reader', async () => {
    const ms = await loadManifests(['-'], { readStdin: async () => web });
    expect(ms.map((m) => [m.source, m.name])).toEqual([['-', 'web']]);
  });

  it('fails on a missing path', async () => {
    await expect(loadManifests(['/nonexistent/persys.yaml'])).rejects.toThrow(/does not exist/);
  });

  it('fails before returning anything when any file has a syntax error', async () => {
    const dir = tempTree({ 'a.yaml': web, 'b.yaml': 'kind: Container\nmetadata: {name: [x\n' });
    await expect(loadManifests([dir])).rejects.toThrow(new RegExp(`${join(dir, 'b.yaml')}:\\d+: invalid YAML`));
  });
});
