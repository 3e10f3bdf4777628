// Small field rules shared by every kind's validator (ranges, enumerations, paths), each
// reporting to a FieldErrors with the path it was given.
import type { FieldErrors } from './errors.js';

/** Reports `must be min-max` when a set number falls outside [min, max]. */
export function checkRange(errs: FieldErrors, path: string, v: number | undefined, min: number, max: number): void {
  if (v !== undefined && (v < min || v > max)) errs.add(path, `must be ${min}-${max}`);
}

export function checkNonNegative(errs: FieldErrors, path: string, v: number | string | undefined): void {
  if (v !== undefined && Number(v) < 0) errs.add(path, 'must be greater than or equal to 0');
}

/** Reports a value outside `allowed`; an empty or absent value passes (defaults fill those in). */
export function checkOneOf(errs: FieldErrors, path: string, v: string | undefined, allowed: readonly string[]): void {
  if (!v || allowed.includes(v)) return;
  const list = allowed.length === 2 ? `${allowed[0]} or ${allowed[1]}` : `one of ${allowed.join(', ')}`;
  errs.add(path, `must be ${list}, got ${JSON.stringify(v)}`);
}

export function checkAbsolutePath(errs: FieldErrors, path: string, v: string | undefined): void {
  if (v && !v.startsWith('/')) errs.add(path, `must be an absolute path, got ${JSON.stringify(v)}`);
}

/** Runs a name-format check (from names.ts) on a set value and reports its reason. */
export function checkName(
  errs: FieldErrors,
  path: string,
  v: string | undefined,
  format: (v: string) => string | undefined,
): void {
  if (!v) return;
  const reason = format(v);
  if (reason) errs.add(path, `${JSON.stringify(v)} ${reason}`);
}
