// Semantic validation of a ConfigMap: keys that are safe file names, text in data and base64 in
// binaryData (never the same key in both), Kubernetes' 1 MiB limit, and immutability.
import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '../../lib/api/resource.js';
import { BASE64, MAX_CONFIG_BYTES, sizeMessage } from './config-data.js';
import type { FieldErrors } from './errors.js';
import { itemPath } from './field-path.js';
import { configKeyError } from './names.js';
import { checkName } from './rules.js';

export function validateConfigMap(obj: Resource, errs: FieldErrors, old?: Resource): void {
  const data = (obj['data'] ?? {}) as Record<string, string>;
  const binaryData = (obj['binaryData'] ?? {}) as Record<string, string>;
  let bytes = 0;
  for (const [key, value] of Object.entries(data)) {
    checkName(errs, itemPath('data', key), key, configKeyError);
    bytes += Buffer.byteLength(value, 'utf8');
  }
  for (const [key, value] of Object.entries(binaryData)) {
    const p = itemPath('binaryData', key);
    checkName(errs, p, key, configKeyError);
    if (Object.hasOwn(data, key)) errs.add(p, `duplicate of data[${key}]: a key may be in data or binaryData, not both`);
    if (!BASE64.test(value)) errs.add(p, 'must be valid base64');
    else bytes += Buffer.from(value, 'base64').length;
  }
  if (bytes > MAX_CONFIG_BYTES) {
    errs.add('data', sizeMessage('data and binaryData are', bytes));
  }

  if (old?.['immutable'] === true) {
    if (!isDeepStrictEqual(old['data'] ?? {}, obj['data'] ?? {})) errs.add('data', 'field is immutable');
    if (!isDeepStrictEqual(old['binaryData'] ?? {}, obj['binaryData'] ?? {})) errs.add('binaryData', 'field is immutable');
    if (obj['immutable'] !== true) errs.add('immutable', 'field is immutable when true');
  }
}
