// Deterministic malformed-input generator for fuzzing the API: structural mutations of a valid
// object and textual corruptions of its YAML, all driven by one seeded PRNG so a failure reproduces.
import YAML from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
type Path = (string | number)[];

/** mulberry32: tiny, fast and the same sequence on every machine for a given seed. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every path to a value below the root, parents before children. */
export function pathsOf(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push([...prefix, i], ...pathsOf(v, [...prefix, i])));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) out.push([...prefix, k], ...pathsOf(v, [...prefix, k]));
  return out;
}

function getAt(root: Json, path: Path): Json | undefined {
  let cur: Json | undefined = root;
  for (const p of path) cur = cur === null || typeof cur !== 'object' ? undefined : (cur as Record<string | number, Json>)[p];
  return cur;
}

function setAt(root: Json, path: Path, value: Json): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, Json>;
  parent[path[path.length - 1]!] = value;
}

function deleteAt(root: Json, path: Path): void {
  const parent = getAt(root, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(last as number, 1);
  else if (isObject(parent)) delete parent[last as string];
}

const fmt = (path: Path) => path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');

const typeOf = (v: Json | undefined) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function valueOfOtherType(rng: Rng, current: Json | undefined): Json {
  const makers: Record<string, () => Json> = {
    string: () => rng.pick(['', 'x', 'true', '42', '-1', 'null', '[]', '{}', 'ünïcødé ☃', ' lead', 'a\nb', '0x1F']),
    number: () => rng.pick([0, 1, -1, 42, 3.14, 65536, 2 ** 31, -(2 ** 31) - 1, 1e21]),
    boolean: () => rng.chance(0.5),
    array: () => rng.pick<Json>([[], ['x'], [1, 2], [{ a: 1 }], [null], [[]]]),
    object: () => rng.pick<Json>([{}, { a: 'b' }, { name: 1 }, { nested: { deep: [1] } }]),
    null: () => null,
  };
  const others = Object.keys(makers).filter((t) => t !== typeOf(current));
  return makers[rng.pick(others)]!();
}

export const BAD_NUMBERS: readonly number[] = [
  -1, -80, 0, -0.5, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53 + 2, -(2 ** 53) - 2, 1e300, -1e300, Number.MAX_VALUE,
  Number.MIN_VALUE, Infinity, -Infinity, NaN,
];

/** Names that break DNS-1123 rules; each keeps the variant's unique name inside so nothing collides. */
export function invalidNames(unique: string): string[] {
  return [
    '',
    unique.toUpperCase(),
    `${unique}_x`,
    `-${unique}`,
    `${unique}-`,
    `${unique}.`,
    `.${unique}`,
    `${unique}/x`,
    `${unique} x`,
    `${unique}\u0000`,
    `${unique}ü`,
    `${unique}-${'a'.repeat(260)}`,
    `${unique}..x`,
    '..',
    `${unique}\n`,
  ];
}

function deepJunk(rng: Rng, depth: number): Json {
  let v: Json = rng.pick<Json>(['leaf', 1, null, true]);
  for (let i = 0; i < depth; i++) v = rng.chance(0.5) ? [v] : { [rng.pick(['a', 'spec', 'metadata', 'x'])]: v };
  return v;
}

export interface Mutation {
  value: Json;
  what: string;
}

type Mutator = (rng: Rng, obj: JsonObject, unique: string) => string;

const randomPath = (rng: Rng, obj: JsonObject) => {
  const all = pathsOf(obj);
  return all.length ? rng.pick(all) : ['metadata'];
};

const objectNodes = (obj: JsonObject): Path[] => [[], ...pathsOf(obj).filter((p) => isObject(getAt(obj, p)))];

const MUTATORS: Record<string, Mutator> = {
  deleteField(rng, obj) {
    const path = randomPath(rng, obj);
    deleteAt(obj, path);
    return `delete ${fmt(path)}`;
  },
  wrongType(rng, obj) {
    const path = randomPath(rng, obj);
    const value = valueOfOtherType(rng, getAt(obj, path));
    setAt(obj, path, value);
    return `${fmt(path)} = ${JSON.stringify(value)}`;
  },
  unknownField(rng, obj) {
    const at = rng.pick(objectNodes(obj));
    const key = rng.pick(['extra', 'imagePullPolicy', 'Image', 'spec', 'metadata', '__proto__', 'constructor', '', ' ', 'x.y', `f${rng.int(1000)}`]);
    const value = valueOfOtherType(rng, undefined);
    const parent = getAt(obj, at) as JsonObject;
    // Assign through defineProperty so '__proto__' becomes an own key, as a JSON/YAML parser makes it.
    Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
    return `add ${fmt([...at, key]) || key} = ${JSON.stringify(value)}`;
  },
  renameKey(rng, obj) {
    const keyed = pathsOf(obj).filter((p) => typeof p[p.length - 1] === 'string');
    if (!keyed.length) return 'renameKey: nothing to rename';
    const path = rng.pick(keyed);
    const old = path[path.length - 1] as string;
    const renamed = rng.pick([old.toUpperCase(), `${old}s`, old.slice(1), `${old}_`, old.replace(/[aeiou]/, '')]);
    const value = getAt(obj, path)!;
    deleteAt(obj, path);
    if (renamed) setAt(obj, [...path.slice(0, -1), renamed], value);
    return `rename ${fmt(path)} -> ${renamed}`;
  },
  badNumber(rng, obj) {
    const numeric = pathsOf(obj).filter((p) => typeof getAt(obj, p) === 'number');
    const path = numeric.length && rng.chance(0.8) ? rng.pick(numeric) : randomPath(rng, obj);
    const value = rng.pick(BAD_NUMBERS);
    setAt(obj, path, value);
    return `${fmt(path)} = ${value}`;
  },
  invalidName(rng, obj, unique) {
    const meta = isObject(obj['metadata']) ? obj['metadata'] : (obj['metadata'] = {});
    const name = rng.pick(invalidNames(unique));
    meta['name'] = name;
    return `metadata.name = ${JSON.stringify(name)}`;
  },
  deepNesting(rng, obj) {
    const at = rng.pick(objectNodes(obj));
    const depth = rng.pick([5, 50, 200, 1000]);
    const key = rng.pick(['junk', 'spec', 'labels', 'template', 'env']);
    (getAt(obj, at) as JsonObject)[key] = deepJunk(rng, depth);
    return `${fmt([...at, key]) || key} = junk nested ${depth} deep`;
  },
  wrongApiVersionOrKind(rng, obj) {
    if (rng.chance(0.5)) {
      const v = rng.pick<Json>(['v1', 'persys.dev/v2', 'persys.dev', '', 'PERSYS.DEV/V1', 'persys.dev/v1 ', null, 1, ['persys.dev/v1']]);
      obj['apiVersion'] = v;
      return `apiVersion = ${JSON.stringify(v)}`;
    }
    const k = rng.pick<Json>([
      'Pod', 'container', 'containers', 'ct', 'CONTAINER', '', 'Namespace', 'Container', 'ContainerSet', 'Secret', 'CronJob',
      'SwarmService', 'ComposeStack', 'Node', 'Event', 'Lease', null, 7, {},
    ]);
    obj['kind'] = k;
    return `kind = ${JSON.stringify(k)}`;
  },
  badString(rng, obj) {
    const strings = pathsOf(obj).filter((p) => typeof getAt(obj, p) === 'string');
    const path = strings.length ? rng.pick(strings) : randomPath(rng, obj);
    const value = rng.pick(['', ' ', '\u0000', '\t\n', '☃'.repeat(300), 'x'.repeat(70_000), '../../etc/passwd', '$(rm -rf /)', '*/0 * * * *', '-1', '1e999']);
    setAt(obj, path, value);
    return `${fmt(path)} = ${JSON.stringify(value.length > 40 ? `${value.slice(0, 10)}…(${value.length})` : value)}`;
  },
};

export const MUTATOR_NAMES = Object.keys(MUTATORS);

/** Applies 1–3 random structural mutations to a deep copy of `seed`. */
export function mutateObject(rng: Rng, seed: Json, unique: string): Mutation {
  const value = structuredClone(seed) as JsonObject;
  const whats: string[] = [];
  const count = 1 + (rng.chance(0.3) ? rng.int(3) : 0);
  for (let i = 0; i < count; i++) whats.push(MUTATORS[rng.pick(MUTATOR_NAMES)]!(rng, value, unique));
  return { value, what: whats.join('; ') };
}

/** Sets one string field (or a new annotation) to `bytes` characters: tests the object size limit. */
export function withHugeString(rng: Rng, seed: Json, bytes: number): Mutation {
  const value = structuredClone(seed) as JsonObject;
  const huge = 'h'.repeat(bytes);
  const strings = pathsOf(value).filter((p) => typeof getAt(value, p) === 'string' && !['apiVersion', 'kind'].includes(String(p[0])));
  if (strings.length && rng.chance(0.5)) {
    const path = rng.pick(strings);
    setAt(value, path, huge);
    return { value, what: `${fmt(path)} = ${bytes} bytes` };
  }
  const meta = value['metadata'] as JsonObject;
  meta['annotations'] = { ...(isObject(meta['annotations']) ? meta['annotations'] : {}), 'fuzz/big': huge };
  return { value, what: `metadata.annotations["fuzz/big"] = ${bytes} bytes` };
}

type TextCorruptor = (rng: Rng, text: string) => [string, string];

const TEXT_CORRUPTORS: TextCorruptor[] = [
  (rng, t) => {
    const at = rng.int(t.length);
    return [t.slice(0, at), `truncate at ${at}`];
  },
  (rng, t) => {
    const at = rng.int(Math.max(1, t.length - 1));
    return [t.slice(0, at) + t[at + 1] + t[at] + t.slice(at + 2), `swap chars at ${at}`];
  },
  (rng, t) => {
    const lines = t.split('\n');
    const i = rng.int(lines.length);
    const indent = rng.pick(['', ' ', '   ', '\t', '      ']);
    lines[i] = rng.chance(0.5) ? indent + lines[i] : lines[i]!.trimStart();
    return [lines.join('\n'), `re-indent line ${i + 1} with ${JSON.stringify(indent)}`];
  },
  (rng, t) => {
    const at = rng.int(t.length);
    const junk = rng.pick([':', '{', '}', '[', '"', "'", '&a', '*a', '!!binary', '!!python/object', '%', '@', '`', '|', '>', '\u0000', '\uFFFE', '\t', '- ', '? ']);
    return [t.slice(0, at) + junk + t.slice(at), `insert ${JSON.stringify(junk)} at ${at}`];
  },
  (rng, t) => {
    const lines = t.split('\n').filter((l) => l.trim());
    const dup = rng.pick(lines);
    return [`${t}\n${dup}\n`, `duplicate line ${JSON.stringify(dup.slice(0, 40))}`];
  },
  (rng, t) => [rng.chance(0.5) ? `${t}\n---\n${t}` : `---\n${t}\n---\n`, 'extra document separators'],
  (rng, t) => [rng.pick(['', '# only a comment\n', '---\n', 'null', '[]', '42', '"a string"', '- a\n- b\n', '~']), 'not a mapping'],
  (_rng, t) => {
    const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 0; i < 9; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
    return [`${t.trimEnd()}\n${bomb.join('\n')}\n`, 'alias bomb'];
  },
  (rng, t) => {
    const i = rng.int(t.length);
    return [t.slice(0, i) + t.slice(i).replace(/: /, ':'), `drop a space after a colon near ${i}`];
  },
];

/** YAML (or JSON, also YAML) text for `value`, then optionally one textual corruption. */
export function manifestText(rng: Rng, value: Json, corrupt: boolean): { text: string; what: string } {
  const json = rng.chance(0.2);
  let text: string;
  try {
    text = json ? JSON.stringify(value, null, rng.chance(0.5) ? 2 : undefined) : YAML.stringify(value, { aliasDuplicateObjects: false });
  } catch {
    text = JSON.stringify(value);
  }
  if (!corrupt) return { text, what: json ? 'as JSON' : 'as YAML' };
  const [out, what] = rng.pick(TEXT_CORRUPTORS)(rng, text);
  return { text: out, what: `${json ? 'JSON' : 'YAML'} text: ${what}` };
}

/** One malformed input: sent as manifest text, or as an object through the typed client. */
export interface Variant {
  i: number;
  /** What was done to the seed, for the failure message. */
  what: string;
  send: string | JsonObject;
}

export interface VariantOptions {
  seed: number;
  count: number;
  /** Variants (by index) whose one field is made larger than the object size limit. */
  oversizedAt?: number[];
  /** Variants (by index) with one field just below the limit. */
  nearLimitAt?: number[];
  limitBytes: number;
  /** Each variant is named `${namePrefix}${i}` before mutation, so its outcome can be traced in storage. */
  namePrefix: string;
}

/** All variants come from one PRNG up front, so the set never depends on how they are scheduled. */
export function generateVariants(seeds: Json[], opts: VariantOptions): Variant[] {
  const rng = new Rng(opts.seed);
  const oversized = new Set(opts.oversizedAt ?? []);
  const nearLimit = new Set(opts.nearLimitAt ?? []);
  const out: Variant[] = [];
  for (let i = 0; i < opts.count; i++) {
    const seed = structuredClone(rng.pick(seeds)) as JsonObject;
    const unique = `${opts.namePrefix}${i}`;
    seed['metadata'] = { ...(seed['metadata'] as JsonObject), name: unique };
    if (oversized.has(i) || nearLimit.has(i)) {
      const bytes = oversized.has(i) ? opts.limitBytes + 1 + rng.int(400_000) : Math.floor(opts.limitBytes * (0.4 + 0.5 * rng.next()));
      const m = withHugeString(rng, seed, bytes);
      out.push({ i, what: m.what, send: JSON.stringify(m.value) });
      continue;
    }
    const roll = rng.next();
    if (roll < 0.2) {
      const base = rng.chance(0.5) ? mutateObject(rng, seed, unique) : { value: seed, what: 'unmutated' };
      const t = manifestText(rng, base.value, true);
      out.push({ i, what: `${base.what}; ${t.what}`, send: t.text });
    } else {
      const m = mutateObject(rng, seed, unique);
      if (roll < 0.35) out.push({ i, what: `${m.what} (as object)`, send: m.value as JsonObject });
      else {
        const t = manifestText(rng, m.value, false);
        out.push({ i, what: `${m.what} (${t.what})`, send: t.text });
      }
    }
  }
  return out;
}
