// Label selectors (matchLabels + matchExpressions): their validation and whether one matches a label set.
import type { LabelSelector } from '../../lib/gen/persys/v1/meta.js';
import type { FieldErrors } from './errors.js';
import { fieldPath, itemPath } from './field-path.js';
import { validateLabels } from './metadata.js';
import { labelValueError, qualifiedNameError } from './names.js';
import { checkName, checkOneOf } from './rules.js';
import type { Conformed } from './schema.js';

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export function isEmptySelector(s: Conformed<LabelSelector> | undefined): boolean {
  return !s || (Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0);
}

export function validateLabelSelector(s: Conformed<LabelSelector> | undefined, path: string, errs: FieldErrors): void {
  if (!s) return;
  validateLabels(s.matchLabels, fieldPath(path, 'matchLabels'), errs);
  (s.matchExpressions ?? []).forEach((req, i) => {
    const p = itemPath(fieldPath(path, 'matchExpressions'), i);
    if (!req.key) errs.add(fieldPath(p, 'key'), 'required');
    checkName(errs, fieldPath(p, 'key'), req.key, qualifiedNameError);
    if (!req.operator) errs.add(fieldPath(p, 'operator'), 'required');
    checkOneOf(errs, fieldPath(p, 'operator'), req.operator, OPERATORS);
    const values = req.values ?? [];
    if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) {
      errs.add(fieldPath(p, 'values'), `must be non-empty for operator ${req.operator}`);
    }
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) {
      errs.add(fieldPath(p, 'values'), `must be empty for operator ${req.operator}`);
    }
    values.forEach((v, j) => checkName(errs, itemPath(fieldPath(p, 'values'), j), v, labelValueError));
  });
}

/** Whether `labels` satisfy every term of the selector. */
export function selectorMatches(s: Conformed<LabelSelector>, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const req of s.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key ?? '');
    const value = has ? labels[req.key!] : undefined;
    const inValues = value !== undefined && (req.values ?? []).includes(value);
    const ok =
      req.operator === 'In' ? inValues
      : req.operator === 'NotIn' ? !inValues
      : req.operator === 'Exists' ? has
      : req.operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}
