// The patches `persys patch` applies on the client: JSON merge patch (RFC 7386) and JSON patch
// (RFC 6902). persys kinds carry no strategic-merge metadata, so merge patch is the default and lists
// are replaced whole. Both work on a copy; a patch that fails changes nothing.

/** A patch that does not apply (a missing path, a failed test op, a malformed op). */
export class PatchError extends Error {
  override name = 'PatchError';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386: objects merge key by key, null removes a key, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

/** The merge patch that turns `from` into `to` (what `edit` re-applies to a newer copy after a conflict). */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return structuredClone(to);
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    if (!(key in from)) patch[key] = structuredClone(value);
    else if (!deepEqual(from[key], value)) patch[key] = createMergePatch(from[key], value);
  }
  return patch;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

/** RFC 6901: "/spec/ports/0" → ["spec", "ports", "0"], with ~1 for "/" and ~0 for "~". */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}: it must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902: the ops in order on a copy of `doc`; the first one that does not apply fails the patch. */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be a list of operations, e.g. [{"op": "replace", "path": "/spec/replicas", "value": 3}]');
  let out = structuredClone(doc);
  ops.forEach((raw, i) => {
    const op = checkOp(raw, i);
    const fail = (why: string): never => {
      throw new PatchError(`jsonpatch ${op.op} operation does not apply: ${why}`);
    };
    switch (op.op) {
      case 'add':
        out = put(out, parsePointer(op.path), structuredClone(op.value), 'add', fail);
        break;
      case 'remove':
        out = take(out, parsePointer(op.path), fail).doc;
        break;
      case 'replace':
        get(out, parsePointer(op.path), fail);
        out = put(out, parsePointer(op.path), structuredClone(op.value), 'replace', fail);
        break;
      case 'move': {
        if (op.path.startsWith(op.from! + '/')) fail(`cannot move ${op.from} into its own child ${op.path}`);
        const taken = take(out, parsePointer(op.from!), fail);
        out = put(taken.doc, parsePointer(op.path), taken.value, 'add', fail);
        break;
      }
      case 'copy':
        out = put(out, parsePointer(op.path), structuredClone(get(out, parsePointer(op.from!), fail)), 'add', fail);
        break;
      case 'test':
        if (!deepEqual(get(out, parsePointer(op.path), fail), op.value)) {
          throw new PatchError(`testing value ${op.path} failed: it is ${JSON.stringify(get(out, parsePointer(op.path), fail))}, not ${JSON.stringify(op.value)}`);
        }
    }
  });
  return out;
}

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

function checkOp(raw: unknown, i: number): JsonPatchOp {
  if (!isObject(raw)) throw new PatchError(`operation ${i}: want an object with "op" and "path"`);
  if (typeof raw.op !== 'string' || !OPS.has(raw.op)) throw new PatchError(`operation ${i}: unknown op ${JSON.stringify(raw.op)}: use add, remove, replace, move, copy or test`);
  if (typeof raw.path !== 'string') throw new PatchError(`operation ${i} (${raw.op}): "path" is required`);
  if ((raw.op === 'move' || raw.op === 'copy') && typeof raw.from !== 'string') throw new PatchError(`operation ${i} (${raw.op}): "from" is required`);
  if ((raw.op === 'add' || raw.op === 'replace' || raw.op === 'test') && !('value' in raw)) {
    throw new PatchError(`operation ${i} (${raw.op}): "value" is required`);
  }
  return raw as unknown as JsonPatchOp;
}

const pointerOf = (tokens: string[]) => '/' + tokens.map((t) => t.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function arrayIndex(arr: unknown[], token: string, forInsert: boolean, fail: (why: string) => never, at: string[]): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) fail(`invalid array index ${JSON.stringify(token)} at ${pointerOf(at)}`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) fail(`index ${i} is out of bounds (length ${arr.length}) at ${pointerOf(at)}`);
  return i;
}

function get(doc: unknown, tokens: string[], fail: (why: string) => never): unknown {
  let cur = doc;
  tokens.forEach((t, n) => {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, fail, tokens.slice(0, n + 1))];
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else fail(`doc is missing path: ${pointerOf(tokens.slice(0, n + 1))}`);
  });
  return cur;
}

/** Sets (add: inserts into arrays) the value at `tokens`; its parent must exist. */
function put(doc: unknown, tokens: string[], value: unknown, mode: 'add' | 'replace', fail: (why: string) => never): unknown {
  if (!tokens.length) return value;
  const parent = get(doc, tokens.slice(0, -1), fail);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, mode === 'add', fail, tokens);
    if (mode === 'add') parent.splice(i, 0, value);
    else parent[i] = value;
  } else if (isObject(parent)) parent[last] = value;
  else fail(`doc is missing path: ${pointerOf(tokens.slice(0, -1))} is not an object or a list`);
  return doc;
}

function take(doc: unknown, tokens: string[], fail: (why: string) => never): { doc: unknown; value: unknown } {
  const value = get(doc, tokens, fail);
  if (!tokens.length) return { doc: undefined, value };
  const parent = get(doc, tokens.slice(0, -1), fail) as Record<string, unknown> | unknown[];
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete parent[last];
  return { doc, value };
}
