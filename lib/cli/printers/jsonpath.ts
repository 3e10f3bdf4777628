// kubectl's JSONPath templates (k8s.io/client-go/util/jsonpath), for `get -o jsonpath`, custom columns
// and --sort-by: `{.items[*].metadata.name}`, `[0]`, `[-1]`, `[1:3]`, `..name`, `[?(@.x=="y")]`,
// `{range .items[*]}…{end}` and `{"\n"}` literals. A template is parsed once, then executed on objects.

/** A template that does not parse, or (with missing keys disallowed) a path that finds nothing. */
export class JsonPathError extends Error {
  override name = 'JsonPathError';
}

type Segment =
  | { type: 'field'; name: string }
  | { type: 'recursive'; name: string }
  | { type: 'wildcard' }
  | { type: 'index'; index: number }
  | { type: 'slice'; start?: number; end?: number; step?: number }
  | { type: 'filter'; filter: Filter };

/** `$…` starts at the document; everything else at the current node (the range item, or the document). */
export interface Path {
  fromRoot: boolean;
  segments: Segment[];
}

type Operand = { path: Path } | { value: unknown };
type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=';

interface Filter {
  left: Operand;
  op?: Operator;
  right?: Operand;
}

type Node =
  | { type: 'text'; text: string }
  | { type: 'paths'; paths: Path[] }
  | { type: 'range'; paths: Path[]; body: Node[] };

export interface Template {
  source: string;
  nodes: Node[];
}

export interface ExecuteOptions {
  /** kubectl's --allow-missing-template-keys: a field that is not there prints nothing. @default true */
  allowMissingKeys?: boolean;
}

// ---------- parsing

/** Parses a template; throws JsonPathError naming the problem as kubectl does. */
export function parseTemplate(source: string): Template {
  const fail = (reason: string): never => {
    throw new JsonPathError(`error parsing jsonpath ${source}, ${reason}`);
  };
  const root: Node[] = [];
  const stack: { body: Node[] }[] = [{ body: root }];
  const body = () => stack[stack.length - 1]!.body;
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{', i);
    if (open < 0) {
      body().push({ type: 'text', text: source.slice(i) });
      break;
    }
    if (open > i) body().push({ type: 'text', text: source.slice(i, open) });
    const close = closingBrace(source, open + 1);
    if (close < 0) fail('unclosed action');
    const action = source.slice(open + 1, close).trim();
    i = close + 1;
    try {
      if (action === 'end') {
        if (stack.length === 1) fail('not in range, nothing to end');
        stack.pop();
      } else if (/^range\s/.test(action)) {
        const node: Node = { type: 'range', paths: parseUnion(action.slice(5).trim()), body: [] };
        body().push(node);
        stack.push(node);
      } else if (action.startsWith('"') || action.startsWith("'")) {
        body().push({ type: 'text', text: parseStringLiteral(action) });
      } else {
        body().push({ type: 'paths', paths: parseUnion(action) });
      }
    } catch (err) {
      if (err instanceof JsonPathError && !err.message.startsWith('error parsing')) fail(err.message);
      throw err;
    }
  }
  if (stack.length > 1) fail('unclosed range: missing {end}');
  return { source, nodes: root };
}

/**
 * kubectl's relaxed form for --sort-by and custom columns: `.metadata.name`, `metadata.name` and
 * `{.metadata.name}` all mean the same path.
 */
export function parseRelaxedPath(expr: string): Template {
  let inner = expr.trim();
  if (inner.startsWith('{') && inner.endsWith('}')) inner = inner.slice(1, -1);
  if (inner && !/^[.$@[]/.test(inner)) inner = '.' + inner;
  return parseTemplate(`{${inner}}`);
}

/** Index of the `}` closing an action that starts at `from`, skipping quoted text and brackets; -1 if none. */
function closingBrace(s: string, from: number): number {
  let quote = '';
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === '}' && depth <= 0) return i;
  }
  return -1;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '/': '/' };

function parseStringLiteral(text: string): string {
  const quote = text[0]!;
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const e = ESCAPES[text[i + 1] ?? ''];
      if (e === undefined) throw new JsonPathError(`invalid escape \\${text[i + 1] ?? ''} in ${text}`);
      out += e;
      i++;
    } else if (c === quote) {
      if (i !== text.length - 1) throw new JsonPathError(`unexpected text after string literal ${text}`);
      return out;
    } else out += c;
  }
  throw new JsonPathError(`unterminated quoted string ${text}`);
}

/** `.a,.b`: several paths whose results print together. */
function parseUnion(text: string): Path[] {
  if (!text) throw new JsonPathError('empty action');
  const parts: string[] = [];
  let start = 0;
  let quote = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => parsePath(p.trim()));
}

const NAME_END = /[.[\]\s,()=!<>&|]/;

export function parsePath(text: string): Path {
  const path: Path = { fromRoot: false, segments: [] };
  let i = 0;
  if (text[0] === '$') {
    path.fromRoot = true;
    i = 1;
  } else if (text[0] === '@') i = 1;
  else if (text[0] !== '.' && text[0] !== '[') {
    throw new JsonPathError(`unrecognized character in action: ${JSON.stringify(text[0] ?? '')}`);
  }
  const readName = (): string => {
    let name = '';
    while (i < text.length && !NAME_END.test(text[i]!)) {
      if (text[i] === '\\' && i + 1 < text.length) i++;
      name += text[i++];
    }
    return name;
  };
  while (i < text.length) {
    if (text.startsWith('..', i)) {
      i += 2;
      const name = readName();
      if (!name) throw new JsonPathError(`a name must follow .. in ${text}`);
      path.segments.push({ type: 'recursive', name });
    } else if (text[i] === '.') {
      i++;
      if (text[i] === '[' || i === text.length) continue;
      const name = readName();
      if (!name) throw new JsonPathError(`unrecognized character in action: ${JSON.stringify(text[i])}`);
      path.segments.push(name === '*' ? { type: 'wildcard' } : { type: 'field', name });
    } else if (text[i] === '[') {
      const close = closingBracket(text, i + 1);
      if (close < 0) throw new JsonPathError('unclosed array expect ]');
      path.segments.push(parseBracket(text.slice(i + 1, close).trim()));
      i = close + 1;
    } else {
      throw new JsonPathError(`unrecognized character in action: ${JSON.stringify(text[i])}`);
    }
  }
  return path;
}

function closingBracket(s: string, from: number): number {
  let quote = '';
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ']') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

const INT = /^-?\d+$/;

function parseBracket(content: string): Segment {
  if (content === '*') return { type: 'wildcard' };
  if (content.startsWith('?')) {
    const m = /^\?\((.*)\)$/s.exec(content);
    if (!m) throw new JsonPathError(`invalid filter ${content}: want ?(@.field OP value)`);
    return { type: 'filter', filter: parseFilter(m[1]!.trim()) };
  }
  if (content.startsWith("'") || content.startsWith('"')) return { type: 'field', name: parseStringLiteral(content) };
  if (INT.test(content)) return { type: 'index', index: Number(content) };
  const parts = content.split(':');
  if (parts.length >= 2 && parts.length <= 3 && parts.every((p) => p.trim() === '' || INT.test(p.trim()))) {
    const n = (p: string | undefined) => (p === undefined || p.trim() === '' ? undefined : Number(p));
    const step = n(parts[2]);
    if (step === 0) throw new JsonPathError('step of a slice cannot be 0');
    return { type: 'slice', start: n(parts[0]), end: n(parts[1]), step };
  }
  throw new JsonPathError(`invalid array index ${content}`);
}

const OPERATOR = /(==|!=|<=|>=|<|>)/;

function parseFilter(text: string): Filter {
  // The operator is the first one outside quotes.
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      continue;
    }
    const m = OPERATOR.exec(text.slice(i, i + 2));
    if (m && m.index === 0) {
      const op = m[1] as Operator;
      return { left: parseOperand(text.slice(0, i).trim()), op, right: parseOperand(text.slice(i + op.length).trim()) };
    }
  }
  return { left: parseOperand(text) };
}

function parseOperand(text: string): Operand {
  if (!text) throw new JsonPathError('a filter needs a value on each side of its operator');
  if (/^[@$.[]/.test(text)) return { path: parsePath(text) };
  if (text.startsWith('"') || text.startsWith("'")) return { value: parseStringLiteral(text) };
  if (text === 'true' || text === 'false') return { value: text === 'true' };
  if (text === 'null') return { value: null };
  if (!Number.isNaN(Number(text))) return { value: Number(text) };
  throw new JsonPathError(`unrecognized value ${text} in filter`);
}

// ---------- evaluation

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
