// What `persys wait --for=…` waits for, as kubectl reads it: `delete`, `condition=Ready` (status True),
// `condition=Ready=False`, or `jsonpath={.status.phase}=Running` (a bare `jsonpath={…}` waits for the
// field to exist). A pure check of one object, so it is tested without a server.
import type { Condition, Resource } from '../api/resource.js';
import { parseRelaxedPath } from './printers/jsonpath-parse.js';
import { formatValue, templateValues } from './printers/jsonpath.js';
import { scanTopLevel } from './printers/jsonpath-parse.js';

export type WaitFor =
  | { type: 'delete' }
  | { type: 'condition'; condition: string; status: string }
  | { type: 'jsonpath'; path: string; value?: string; check: (obj: Resource) => boolean };

export class WaitForError extends Error {
  override name = 'WaitForError';
}

export function parseWaitFor(text: string): WaitFor {
  if (text === 'delete') return { type: 'delete' };
  if (text.startsWith('condition=')) {
    const [condition, status = 'True', extra] = text.slice('condition='.length).split('=');
    if (!condition || extra !== undefined) throw new WaitForError(`unrecognized condition: "${text}": use condition=NAME or condition=NAME=VALUE`);
    return { type: 'condition', condition, status };
  }
  if (text.startsWith('jsonpath=')) {
    const spec = text.slice('jsonpath='.length);
    // {.status.phase}=Running: the value follows the closing brace of the expression.
    const close = spec.startsWith('{') ? scanTopLevel(spec, 1, (c) => c === '}') : spec.indexOf('=');
    const end = close < 0 ? spec.length : spec.startsWith('{') ? close + 1 : close;
    const path = spec.slice(0, end);
    const rest = spec.slice(end);
    if (!path) throw new WaitForError(`jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3`);
    if (rest && !rest.startsWith('=')) throw new WaitForError(`unexpected "${rest}" after the JSONPath expression in --for=${text}`);
    const value = rest ? rest.slice(1) : undefined;
    let template;
    try {
      template = parseRelaxedPath(path);
    } catch (err) {
      throw new WaitForError(`error parsing jsonpath ${path}: ${(err as Error).message}`);
    }
    const check = (obj: Resource) => {
      const found = templateValues(template, obj);
      if (value === undefined) return found.length > 0;
      return found.length > 0 && found.every((v) => formatValue(v) === value);
    };
    return { type: 'jsonpath', path, value, check };
  }
  throw new WaitForError(`unrecognized condition: "${text}": use delete, condition=NAME[=VALUE] or jsonpath={PATH}[=VALUE]`);
}

/** Whether `obj` (undefined: it does not exist) satisfies the wait. */
export function waitMet(want: WaitFor, obj: Resource | undefined): boolean {
  if (want.type === 'delete') return obj === undefined;
  if (!obj) return false;
  if (want.type === 'jsonpath') return want.check(obj);
  const conditions = (obj.status?.conditions ?? []) as Condition[];
  const c = conditions.find((x) => x.type.toLowerCase() === want.condition.toLowerCase());
  return !!c && c.status.toLowerCase() === want.status.toLowerCase();
}
