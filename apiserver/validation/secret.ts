// Semantic validation of a Secret: base64 data under safe keys, a size limit, immutability, and for
// registry credentials (type persys.dev/dockerconfigjson) a .dockerconfigjson that parses.
import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '../../lib/api/resource.js';
import {
  DOCKER_CONFIG_JSON_KEY,
  DockerConfigError,
  isDockerConfigSecretType,
  parseDockerConfigJson,
} from '../../lib/registry/credentials.js';
import { BASE64, MAX_CONFIG_BYTES, sizeMessage } from './config-data.js';
import type { FieldErrors } from './errors.js';
import { itemPath } from './field-path.js';
import { configKeyError } from './names.js';
import { checkName } from './rules.js';

export function validateSecret(obj: Resource, errs: FieldErrors, old?: Resource): void {
  const data = (obj['data'] ?? {}) as Record<string, string>;
  let bytes = 0;
  for (const [key, value] of Object.entries(data)) {
    const p = itemPath('data', key);
    checkName(errs, p, key, configKeyError);
    if (!BASE64.test(value)) errs.add(p, 'must be valid base64');
    else bytes += Buffer.from(value, 'base64').length;
  }
  if (bytes > MAX_CONFIG_BYTES) errs.add('data', sizeMessage('data is', bytes));
  // Keys left in stringData are those defaulting could not merge because they are malformed.
  for (const key of Object.keys((obj['stringData'] ?? {}) as Record<string, string>)) {
    checkName(errs, itemPath('stringData', key), key, configKeyError);
  }
  if (!obj['type']) errs.add('type', 'required');
  // stringData is merged into data by defaulting, so this sees a .dockerconfigjson given either way.
  else if (isDockerConfigSecretType(obj['type'])) validateDockerConfigJson(obj['type'] as string, data, errs);

  if (old?.['immutable'] === true) {
    if (!isDeepStrictEqual(old['data'] ?? {}, obj['data'] ?? {})) errs.add('data', 'field is immutable');
    if (obj['immutable'] !== true) errs.add('immutable', 'field is immutable when true');
  }
}

/** Registry credentials must parse as the agent will read them; the message never repeats the value. */
function validateDockerConfigJson(type: string, data: Record<string, string>, errs: FieldErrors): void {
  const p = itemPath('data', DOCKER_CONFIG_JSON_KEY);
  const value = Object.hasOwn(data, DOCKER_CONFIG_JSON_KEY) ? data[DOCKER_CONFIG_JSON_KEY] : undefined;
  if (value === undefined) {
    errs.add(p, `required for a Secret of type ${type}`);
    return;
  }
  if (!BASE64.test(value)) return; // reported above
  try {
    parseDockerConfigJson(Buffer.from(value, 'base64').toString('utf8'));
  } catch (e) {
    if (!(e instanceof DockerConfigError)) throw e;
    errs.add(p, `${e.message} (expected the JSON of a Docker config file: {"auths": {"SERVER": {"username": …, "password": …}}})`);
  }
}
