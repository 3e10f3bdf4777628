// Checks an object edited on the client (patch, edit) for fields its kind does not have and values of
// the wrong type, before it is sent: the wire form silently drops both, so the server never sees them.
import type { KindInfo } from '../api/kinds.js';
import type { Resource } from '../api/resource.js';

export interface FieldProblem {
  path: string;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Compares `obj` with its decoded message (which has every field of each message it contains) and with
 * its round trip through the wire codec (which drops what does not fit).
 */
export function fieldProblems(info: KindInfo, obj: Resource): FieldProblem[] {
  const message = info.codec.fromJSON(obj);
  const roundTrip = info.codec.toJSON(message);
  const problems: FieldProblem[] = [];
  walk(obj, message, roundTrip, '', problems);
  return problems;
}

// A map (labels, data) decodes to an object of exactly the keys given, so only a message lacks a key:
// whatever `value` has that `message` lacks is a field the kind does not have.
function walk(value: unknown, message: unknown, back: unknown, path: string, out: FieldProblem[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value) || isObject(value)) {
    const fits = Array.isArray(value) ? Array.isArray(message) : isObject(message);
    if (!fits) return void out.push({ path, message: `expected ${kindOf(message)}, got ${kindOf(value)}` });
    const backOf = (k: string | number) => (back as Record<string, unknown> | undefined)?.[k as string];
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined || v === null) continue; // absent in JSON
      const p = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (!Object.hasOwn(message as object, key)) out.push({ path: p, message: `unknown field ${JSON.stringify(key)}` });
      else walk(v, (message as Record<string, unknown>)[key], backOf(key), p, out);
    }
    return;
  }
  if (Array.isArray(message) || isObject(message)) return void out.push({ path, message: `expected ${kindOf(message)}, got ${kindOf(value)}` });
  // The JSON mapping leaves defaults out and writes int64 as a string: compare loosely.
  const isDefault = value === '' || value === 0 || value === false;
  const lost = back === undefined || back === null ? !isDefault : String(back) !== String(value);
  if (lost) out.push({ path, message: `invalid value ${JSON.stringify(value)}: expected ${kindOf(message)}` });
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isObject(v)) return 'an object';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v === 'string' ? 'a string' : 'a value';
}

/** `ContainerSet "web" is invalid: spec.foo: unknown field "foo"; …`, worded as the server words it. */
export function formatFieldProblems(obj: Resource, problems: FieldProblem[]): string {
  return `${obj.kind} ${JSON.stringify(obj.metadata.name ?? '')} is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`;
}

/** An object changed on the client into one the server must not be sent. */
export class InvalidEditError extends Error {
  override name = 'InvalidEditError';
}

/** Throws InvalidEditError when `after` is another object than `before` or has fields its kind lacks. */
export function checkEdited(info: KindInfo, before: Resource, after: unknown): asserts after is Resource {
  const a = after as Partial<Resource> | null;
  if (!isObject(a) || !isObject(a.metadata)) throw new InvalidEditError(`${info.kind} ${JSON.stringify(before.metadata.name ?? '')} is invalid: metadata: required`);
  const same = (x: unknown, y: unknown) => (x ?? '') === (y ?? '');
  if (!same(a.apiVersion, before.apiVersion) || !same(a.kind, before.kind) || !same(a.metadata.name, before.metadata.name) || !same(a.metadata.namespace, before.metadata.namespace)) {
    throw new InvalidEditError('At least one of apiVersion, kind, name and namespace was changed');
  }
  const problems = fieldProblems(info, a as Resource);
  if (problems.length) throw new InvalidEditError(formatFieldProblems(a as Resource, problems));
}
