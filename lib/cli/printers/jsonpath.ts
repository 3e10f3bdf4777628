// kubectl's JSONPath templates (k8s.io/client-go/util/jsonpath), for `get -o jsonpath`, custom columns
// and --sort-by: a template parsed once (jsonpath-parse.ts), then executed on objects or a `List`.
import { JsonPathError, type Filter, type Node, type Operand, type Operator, type Path, type Segment, type Template } from './jsonpath-parse.js';

export { JsonPathError, parseRelaxedPath, parseTemplate, type Template } from './jsonpath-parse.js';

export interface ExecuteOptions {
  /** kubectl's --allow-missing-template-keys: a field that is not there prints nothing. @default true */
  allowMissingKeys?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The values `path` selects from `current` (`root` for `$` paths). */
export function evaluatePath(path: Path, root: unknown, current: unknown, opts: ExecuteOptions = {}): unknown[] {
  let nodes: unknown[] = [path.fromRoot ? root : current];
  for (const seg of path.segments) {
    const next: unknown[] = [];
    for (const n of nodes) step(seg, n, root, next, opts);
    nodes = next;
  }
  return nodes;
}

function step(seg: Segment, node: unknown, root: unknown, out: unknown[], opts: ExecuteOptions): void {
  switch (seg.type) {
    case 'field':
      if (isObject(node) && Object.hasOwn(node, seg.name)) out.push(node[seg.name]);
      else if (opts.allowMissingKeys === false) throw new JsonPathError(`${seg.name} is not found`);
      return;
    case 'recursive':
      collect(node, seg.name, out);
      return;
    case 'wildcard':
      if (Array.isArray(node)) out.push(...node);
      else if (isObject(node)) out.push(...Object.values(node));
      return;
    case 'index':
      if (Array.isArray(node)) {
        const i = seg.index < 0 ? node.length + seg.index : seg.index;
        if (i >= 0 && i < node.length) out.push(node[i]);
        else if (opts.allowMissingKeys === false) throw new JsonPathError(`array index out of bounds: index ${seg.index}, length ${node.length}`);
      }
      return;
    case 'slice':
      if (Array.isArray(node)) out.push(...slice(node, seg.start, seg.end, seg.step ?? 1));
      return;
    case 'filter':
      for (const item of Array.isArray(node) ? node : isObject(node) ? Object.values(node) : []) {
        if (matches(seg.filter, item, root)) out.push(item);
      }
  }
}

function slice(arr: unknown[], start: number | undefined, end: number | undefined, stepBy: number): unknown[] {
  const len = arr.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? len + v : v, stepBy > 0 ? 0 : -1), stepBy > 0 ? len : len - 1);
  const from = start === undefined ? (stepBy > 0 ? 0 : len - 1) : clamp(start);
  const to = end === undefined ? (stepBy > 0 ? len : -1) : clamp(end);
  const out: unknown[] = [];
  for (let i = from; stepBy > 0 ? i < to : i > to; i += stepBy) out.push(arr[i]);
  return out;
}

/** Every value of a key `name` at any depth under `node`, in document order. */
function collect(node: unknown, name: string, out: unknown[]): void {
  if (Array.isArray(node)) {
    for (const v of node) collect(v, name, out);
  } else if (isObject(node)) {
    if (Object.hasOwn(node, name)) out.push(node[name]);
    for (const v of Object.values(node)) collect(v, name, out);
  }
}

function operandValues(o: Operand, item: unknown, root: unknown): unknown[] {
  return 'path' in o ? evaluatePath(o.path, root, item) : [o.value];
}

function matches(f: Filter, item: unknown, root: unknown): boolean {
  const left = operandValues(f.left, item, root);
  if (!f.op) return left.some((v) => v !== undefined && v !== null && v !== false);
  const right = operandValues(f.right!, item, root);
  return left.some((l) => right.some((r) => compareWith(f.op!, l, r)));
}

function compareWith(op: Operator, l: unknown, r: unknown): boolean {
  if (op === '==') return JSON.stringify(l) === JSON.stringify(r);
  if (op === '!=') return JSON.stringify(l) !== JSON.stringify(r);
  const a = typeof l === 'string' && typeof r === 'number' ? Number(l) : l;
  const b = typeof r === 'string' && typeof l === 'number' ? Number(r) : r;
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) return false;
  const [x, y] = [a as number | string, b as number | string];
  return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
}

/** A value as kubectl prints it: strings bare, objects and arrays as compact JSON. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Runs the template on `data`; a path's several results are separated by spaces, as kubectl does. */
export function executeTemplate(t: Template, data: unknown, opts: ExecuteOptions = {}): string {
  const run = (nodes: Node[], current: unknown): string => {
    let out = '';
    for (const n of nodes) {
      if (n.type === 'text') out += n.text;
      else if (n.type === 'paths') out += resultsOf(n.paths, current).map(formatValue).join(' ');
      else {
        const results = resultsOf(n.paths, current);
        const items = results.length === 1 && Array.isArray(results[0]) ? results[0] : results;
        for (const item of items) out += run(n.body, item);
      }
    }
    return out;
  };
  const resultsOf = (paths: Path[], current: unknown) => paths.flatMap((p) => evaluatePath(p, data, current, opts));
  try {
    return run(t.nodes, data);
  } catch (err) {
    if (err instanceof JsonPathError) throw new JsonPathError(`error executing jsonpath ${JSON.stringify(t.source)}: ${err.message}`);
    throw err;
  }
}

/** The values a one-path template (custom column, --sort-by) selects from `obj`. */
export function templateValues(t: Template, obj: unknown): unknown[] {
  const node = t.nodes.find((n) => n.type === 'paths');
  return node && node.type === 'paths' ? node.paths.flatMap((p) => evaluatePath(p, obj, obj)) : [];
}
