// Registry credentials for one image from a workload's imagePullSecrets, as the node has them: used by
// the Container reconciler and the Compose engine alike. Only Secret names ever leave this module in logs.
import { credentialsFor, DOCKER_CONFIG_JSON_KEY, type RegistryAuth } from '../../lib/registry/credentials.js';
import type { ConfigLookup } from '../desired.js';

export interface PullCredentials {
  /** Every credential for the image's registry, in the order of the secrets (kubelet tries them in turn). */
  credentials: RegistryAuth[];
  /** namespace/name of pull secrets the node does not have, or that hold no .dockerconfigjson. */
  missing: string[];
}

export function pullCredentials(
  image: string,
  namespace: string,
  refs: readonly { name?: string }[] | undefined,
  lookup: ConfigLookup,
): PullCredentials {
  const configs: string[] = [];
  const missing: string[] = [];
  for (const ref of refs ?? []) {
    if (!ref?.name) continue;
    const json = lookup('Secret', namespace, ref.name)?.get(DOCKER_CONFIG_JSON_KEY);
    if (json === undefined) missing.push(`${namespace}/${ref.name}`);
    else configs.push(json.toString('utf8'));
  }
  return { credentials: credentialsFor(image, configs), missing };
}
