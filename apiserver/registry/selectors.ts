// Label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors (= and != on a fixed set
// of fields), parsed once per request and matched against plain objects.
import type { Resource } from '../../lib/api/resource.js';

export class SelectorError extends Error {
  override name = 'SelectorError';
}

type LabelRequirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: Set<string> }
  | { key: string; op: 'exists' | 'notexists' };

export type Matcher = (obj: Resource) => boolean;

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() || terms.length) terms.push(cur.trim());
  return terms;
}

function checkKey(key: string, selector: string): string {
  if (!LABEL_KEY.test(key)) throw new SelectorError(`invalid label selector "${selector}": bad key "${key}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!LABEL_VALUE.test(value) || value.length > 63) {
    throw new SelectorError(`invalid label selector "${selector}": bad value "${value}"`);
  }
  return value;
}

function parseLabelTerm(term: string, selector: string): LabelRequirement {
  let m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (m) {
    const values = m[3]!.split(',').map((v) => checkValue(v.trim(), selector));
    return { key: checkKey(m[1]!, selector), op: m[2] as 'in' | 'notin', values: new Set(values) };
  }
  m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (m) {
    return { key: checkKey(m[1]!, selector), op: m[2] === '!=' ? 'neq' : 'eq', value: checkValue(m[3]!, selector) };
  }
  m = /^!\s*(\S+)$/.exec(term);
  if (m) return { key: checkKey(m[1]!, selector), op: 'notexists' };
  if (/^\S+$/.test(term)) return { key: checkKey(term, selector), op: 'exists' };
  throw new SelectorError(`invalid label selector "${selector}": cannot parse "${term}"`);
}

function matchesRequirement(labels: Record<string, string>, r: LabelRequirement): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case 'eq':
      return has && v === r.value;
    case 'neq':
      return !has || v !== r.value;
    case 'in':
      return has && r.values.has(v!);
    case 'notin':
      return !has || !r.values.has(v!);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

/** "app=web,tier!=db,env in (a,b),!legacy,release" → a matcher on metadata.labels. Empty matches all. */
export function parseLabelSelector(selector: string): Matcher {
  if (!selector.trim()) return () => true;
  const reqs = splitTerms(selector).map((t) => {
    if (!t) throw new SelectorError(`invalid label selector "${selector}": empty term`);
    return parseLabelTerm(t, selector);
  });
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return reqs.every((r) => matchesRequirement(labels, r));
  };
}

/** Fields every kind can be selected on, and how to read them. */
const FIELDS: Record<string, (obj: Resource) => string> = {
  'metadata.name': (o) => o.metadata.name ?? '',
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
  'spec.nodeName': (o) => o.spec?.nodeName ?? '',
  'status.phase': (o) => o.status?.phase ?? '',
};

export const SELECTABLE_FIELDS = Object.keys(FIELDS);

/** "spec.nodeName=node-1,status.phase!=Running" → a matcher. Empty matches all. */
export function parseFieldSelector(selector: string): Matcher {
  if (!selector.trim()) return () => true;
  const reqs = selector.split(',').map((term) => {
    const m = /^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw new SelectorError(`invalid field selector "${selector}": cannot parse "${term}"`);
    const read = FIELDS[m[1]!];
    if (!read) {
      throw new SelectorError(
        `field selector "${m[1]}" is not supported: use one of ${SELECTABLE_FIELDS.join(', ')}`,
      );
    }
    return { read, negate: m[2] === '!=', value: m[3]! };
  });
  return (obj) => reqs.every((r) => (r.read(obj) === r.value) !== r.negate);
}
