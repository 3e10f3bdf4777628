// --sort-by: orders objects by the value one JSONPath finds in each, as kubectl does: numbers by value,
// timestamps by time, other text by code point; objects without the field first.
import type { Resource } from '../../api/resource.js';
import { parseRelaxedPath, templateValues } from './jsonpath.js';

const NUMBER = /^-?\d+(\.\d+)?$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Compares two field values; undefined (absent) sorts before anything. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === undefined || a === null) return b === undefined || b === null ? 0 : -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const [x, y] = [typeof a === 'object' ? JSON.stringify(a) : String(a), typeof b === 'object' ? JSON.stringify(b) : String(b)];
  // int64 fields are strings in the JSON mapping (resourceVersion, byte counts): still numbers.
  if (NUMBER.test(x) && NUMBER.test(y)) return Number(x) - Number(y);
  if (TIMESTAMP.test(x) && TIMESTAMP.test(y)) return Date.parse(x) - Date.parse(y);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A sorted copy of `objs` by the first value `expr` finds in each; the sort is stable. Throws JsonPathError. */
export function sortByPath(objs: Resource[], expr: string): Resource[] {
  const path = parseRelaxedPath(expr);
  const keyed = objs.map((o) => ({ o, key: templateValues(path, o)[0] }));
  return keyed.sort((p, q) => compareValues(p.key, q.key)).map((k) => k.o);
}
