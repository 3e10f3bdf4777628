// The layers, enforced: every static and dynamic relative import of every source file (tests aside)
// stays inside what its layer may use. lib/ is the base and imports nothing above it; controllers/,
// node-agent/ and apiserver/ stand on lib/ alone and never on each other; cmd/ wires processes
// together and may use them all.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCE_DIRS = ['lib', 'apiserver', 'controllers', 'node-agent', 'cmd'] as const;
type Layer = (typeof SOURCE_DIRS)[number];

/** What each layer may import, besides itself. */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  lib: [],
  apiserver: ['lib'],
  controllers: ['lib'],
  'node-agent': ['lib'],
  cmd: ['lib', 'apiserver', 'controllers', 'node-agent'],
};

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  let out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out = out.concat(sourceFiles(path));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const layerOf = (path: string): string => relative(ROOT, path).split('/')[0]!;

/** "from → to" for every import that crosses into a layer its file may not use. */
export function layeringViolations(): string[] {
  const violations: string[] = [];
  for (const layer of SOURCE_DIRS) {
    for (const file of sourceFiles(join(ROOT, layer))) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const target = layerOf(resolve(dirname(file), spec!));
        if (target !== layer && !(ALLOWED[layer] as readonly string[]).includes(target)) {
          violations.push(`${relative(ROOT, file)} → ${relative(ROOT, resolve(dirname(file), spec!))}`);
        }
      }
    }
  }
  return violations;
}

describe('layering', () => {
  it('finds the imports of every layer (the scan sees both static and dynamic imports)', () => {
    const seen = readFileSync(join(ROOT, 'lib/cli/commands/index.ts'), 'utf8').match(IMPORT) ?? [];
    expect(seen.length).toBeGreaterThan(5);
  });

  it('lib/ imports nothing above it; apiserver/, controllers/ and node-agent/ use only lib/', () => {
    expect(layeringViolations()).toEqual([]);
  });
});
