// Semantic validation of a Secret: base64 data under safe keys, a size limit, and immutability.
import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '../../lib/api/resource.js';
import type { FieldErrors } from './errors.js';
import { itemPath } from './field-path.js';
import { secretKeyError } from './names.js';
import { checkName } from './rules.js';

/** Kubernetes' limit, which also keeps one Secret well inside an etcd value. */
const MAX_SECRET_BYTES = 1024 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function validateSecret(obj: Resource, errs: FieldErrors, old?: Resource): void {
  const data = (obj['data'] ?? {}) as Record<string, string>;
  let bytes = 0;
  for (const [key, value] of Object.entries(data)) {
    const p = itemPath('data', key);
    checkName(errs, p, key, secretKeyError);
    if (!BASE64.test(value)) errs.add(p, 'must be valid base64');
    else bytes += Buffer.from(value, 'base64').length;
  }
  if (bytes > MAX_SECRET_BYTES) errs.add('data', `data is ${bytes} bytes, the limit is ${MAX_SECRET_BYTES}`);
  // Keys left in stringData are those defaulting could not merge because they are malformed.
  for (const key of Object.keys((obj['stringData'] ?? {}) as Record<string, string>)) {
    checkName(errs, itemPath('stringData', key), key, secretKeyError);
  }
  if (!obj['type']) errs.add('type', 'required');

  if (old?.['immutable'] === true) {
    if (!isDeepStrictEqual(old['data'] ?? {}, obj['data'] ?? {})) errs.add('data', 'field is immutable');
    if (obj['immutable'] !== true) errs.add('immutable', 'field is immutable when true');
  }
}
