// Parsing of kubectl's JSONPath templates (k8s.io/client-go/util/jsonpath) into a small tree: text,
// paths (fields, `..name`, `[*]`, indexes, slices, `[?(@.x=="y")]` filters), unions and ranges.

/** A template that does not parse, or (with missing keys disallowed) a path that finds nothing. */
export class JsonPathError extends Error {
  override name = 'JsonPathError';
}

export type Segment =
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

export type Operand = { path: Path } | { value: unknown };
export type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface Filter {
  left: Operand;
  op?: Operator;
  right?: Operand;
}

export type Node =
  | { type: 'text'; text: string }
  | { type: 'paths'; paths: Path[] }
  | { type: 'range'; paths: Path[]; body: Node[] };

export interface Template {
  source: string;
  nodes: Node[];
}

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
    const close = scanTopLevel(source, open + 1, (c) => c === '}');
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

/**
 * The first index from `from` where `stop(c)` holds outside quotes and brackets, or -1: finds the `}`
 * closing an action, the `]` closing an index, the commas between union members or custom columns.
 */
export function scanTopLevel(s: string, from: number, stop: (c: string) => boolean): number {
  let quote = '';
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (depth === 0 && stop(c)) return i;
    else if (c === '[' || c === '(' || c === '{') depth++;
    else if (c === ']' || c === ')' || c === '}') depth--;
  }
  return -1;
}

/** `text` cut at the commas outside quotes and brackets. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let comma = scanTopLevel(text, 0, (c) => c === ','); comma >= 0; comma = scanTopLevel(text, start, (c) => c === ',')) {
    parts.push(text.slice(start, comma));
    start = comma + 1;
  }
  parts.push(text.slice(start));
  return parts;
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
  return splitTopLevel(text).map((p) => parsePath(p.trim()));
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
      const close = scanTopLevel(text, i + 1, (c) => c === ']');
      if (close < 0) throw new JsonPathError('unclosed array expect ]');
      path.segments.push(parseBracket(text.slice(i + 1, close).trim()));
      i = close + 1;
    } else {
      throw new JsonPathError(`unrecognized character in action: ${JSON.stringify(text[i])}`);
    }
  }
  return path;
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
