// Reads manifests from files, directories and stdin, keeping each document's original text so the
// server can validate exactly what the user wrote (unknown fields included).
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import YAML from 'yaml';

/** One object from a manifest: its original text plus a parsed view for routing and printing. */
export interface Manifest {
  /** File path, or "-" for stdin. */
  source: string;
  /** 1-based line in `source` where the document starts. */
  line: number;
  /** The document's text as written (or re-serialized when the CLI had to add a namespace). */
  text: string;
  kind: string;
  name: string;
  /** metadata.namespace as written; '' when absent. */
  namespace: string;
  /** The parsed document; plain JSON. */
  object: Record<string, any>;
}

/** A manifest that cannot be read or parsed; names the file and line. */
export class ManifestError extends Error {
  override name = 'ManifestError';
  constructor(
    readonly source: string,
    readonly line: number | undefined,
    detail: string,
  ) {
    super(line ? `${source}:${line}: ${detail}` : `${source}: ${detail}`);
  }
}

export interface LoadOptions {
  /** Descend into subdirectories of directory arguments. */
  recursive?: boolean;
  /** Supplies stdin's text for the "-" argument. */
  readStdin?: () => Promise<string>;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Loads every manifest named by `paths`, in order; throws ManifestError before anything is returned. */
export async function loadManifests(paths: string[], opts: LoadOptions = {}): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const p of paths) {
    if (p === '-') {
      if (!opts.readStdin) throw new ManifestError('-', undefined, 'reading stdin is not supported here');
      out.push(...parseManifests(await opts.readStdin(), '-'));
      continue;
    }
    for (const file of await expandPath(p, !!opts.recursive)) {
      out.push(...parseManifests(await readFile(file, 'utf8'), file));
    }
  }
  return out;
}

async function expandPath(p: string, recursive: boolean): Promise<string[]> {
  let st;
  try {
    st = await stat(p);
  } catch {
    throw new ManifestError(p, undefined, 'the path does not exist');
  }
  if (!st.isDirectory()) return [p];
  return listDirectory(p, recursive);
}

async function listDirectory(dir: string, recursive: boolean): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) files.push(...(await listDirectory(full, true)));
    } else if (MANIFEST_EXTENSIONS.has(extname(e.name).toLowerCase())) {
      files.push(full);
    }
  }
  return files;
}

/** Splits a multi-document YAML (or JSON) text into manifests; empty documents are skipped. */
export function parseManifests(text: string, source: string): Manifest[] {
  const lineAt = lineCounter(text);
  const docs = YAML.parseAllDocuments(text);
  // parseAllDocuments returns an EmptyStream (an array-like) for an empty text.
  const list = Array.isArray(docs) ? docs : [];
  const out: Manifest[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line ?? lineAt(err.pos[0]);
      const detail = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new ManifestError(source, line, `invalid YAML: ${detail}`);
    }
    const value = doc.toJS();
    if (value === null || value === undefined) continue;
    const start = doc.contents?.range[0] ?? doc.range[0];
    const line = lineAt(start);
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ManifestError(source, line, 'a manifest document must be a mapping (an object)');
    }
    if (value.kind === 'List' && Array.isArray(value.items)) {
      // A `kind: List` (what `get -o yaml` prints for several objects) expands to its items.
      for (const item of value.items) out.push(toManifest(item, JSON.stringify(item), source, line));
      continue;
    }
    out.push(toManifest(value, text.slice(start, doc.range[2]), source, line));
  }
  return out;
}

function toManifest(object: any, text: string, source: string, line: number): Manifest {
  if (!object || typeof object !== 'object' || Array.isArray(object)) {
    throw new ManifestError(source, line, 'a manifest document must be a mapping (an object)');
  }
  if (typeof object.kind !== 'string' || !object.kind) {
    throw new ManifestError(source, line, "Object 'kind' is missing");
  }
  const meta = object.metadata && typeof object.metadata === 'object' ? object.metadata : {};
  return {
    source,
    line,
    text,
    kind: object.kind,
    name: typeof meta.name === 'string' ? meta.name : '',
    namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
    object,
  };
}

function lineCounter(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}
