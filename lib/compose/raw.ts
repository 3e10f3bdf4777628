// Typed reads of a compose file's raw (parsed, interpolated) values: each read either returns the
// value in the shape persys needs or records why not, at the value's place ("services.web.ports[0]").

export type RawMap = Record<string, unknown>;

export const isMap = (v: unknown): v is RawMap => typeof v === 'object' && v !== null && !Array.isArray(v);

export const child = (path: string, key: string): string => (path ? `${path}.${key}` : key);
export const item = (path: string, i: number): string => `${path}[${i}]`;

/** Every problem found in one file, each already naming its place. */
export class Problems {
  readonly list: string[] = [];

  /** "services.web.ports[0]: invalid port \"abc\"". */
  at(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }

  /** A message that names its place itself, as Compose's own schema errors do. */
  add(message: string): void {
    this.list.push(message);
  }
}

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `a ${typeof v}`);

/** Compose's schema wording: "services.web.image must be a string". */
export function wrongType(p: Problems, path: string, expected: string, got: unknown): void {
  p.add(`${path} must be ${expected}, got ${typeName(got)}`);
}

export function readString(v: unknown, path: string, p: Problems): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  wrongType(p, path, 'a string', v);
  return undefined;
}

/** Scalars that YAML typed (`- 10`, `true`) become the strings Compose passes on. */
export function readScalarString(v: unknown, path: string, p: Problems): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  wrongType(p, path, 'a string', v);
  return undefined;
}

export function readMap(v: unknown, path: string, p: Problems): RawMap | undefined {
  if (v === undefined || v === null) return undefined;
  if (isMap(v)) return v;
  wrongType(p, path, 'a mapping', v);
  return undefined;
}

export function readList(v: unknown, path: string, p: Problems): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v;
  wrongType(p, path, 'a list', v);
  return undefined;
}

export function readBoolean(v: unknown, path: string, p: Problems): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  wrongType(p, path, 'a boolean', v);
  return undefined;
}

/** A non-negative integer; Compose also takes one written as a string ("3"). */
export function readCount(v: unknown, path: string, p: Problems): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
  p.add(`${path} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return undefined;
}

/**
 * The two forms Compose takes for labels and environment: a list of "KEY=VALUE" (or bare "KEY") or a
 * mapping. A bare key or null value is passed to `bare`, which returns its value or undefined to omit it.
 */
export function readKeyValues(v: unknown, path: string, p: Problems, bare: (key: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (key: string, value: string | undefined, at: string) => {
    if (key === '') p.at(at, 'empty key');
    else if (value !== undefined) out[key] = value;
  };
  if (v === undefined || v === null) return out;
  if (Array.isArray(v)) {
    v.forEach((entry, i) => {
      const s = readScalarString(entry, item(path, i), p);
      if (s === undefined) return;
      const eq = s.indexOf('=');
      if (eq < 0) set(s, bare(s), item(path, i));
      else set(s.slice(0, eq), s.slice(eq + 1), item(path, i));
    });
  } else if (isMap(v)) {
    for (const [key, value] of Object.entries(v)) {
      if (value === null || value === undefined) set(key, bare(key), child(path, key));
      else {
        const s = readScalarString(value, child(path, key), p);
        if (s !== undefined) set(key, s, child(path, key));
      }
    }
  } else wrongType(p, path, 'a list or a mapping', v);
  return out;
}

/**
 * Reports keys outside `known` the way Compose does, and keys persys knows but refuses with why.
 * `x-*` extension keys are always allowed (and ignored).
 */
export function checkKeys(obj: RawMap, path: string, known: ReadonlySet<string>, p: Problems, unsupported: Readonly<Record<string, string>> = {}): void {
  for (const key of Object.keys(obj)) {
    if (key.startsWith('x-')) continue;
    if (Object.hasOwn(unsupported, key)) p.at(child(path, key), `persys does not support ${key}: ${unsupported[key]}`);
    else if (!known.has(key)) p.add(`${path || '(root)'} additional property '${key}' is not allowed`);
  }
}
