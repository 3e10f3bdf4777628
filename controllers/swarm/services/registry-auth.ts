// Which registry credentials a SwarmService's manager call carries: from the service's imagePullSecrets,
// the first whose dockerconfigjson has the image's registry, as X-Registry-Auth (what `docker service
// create --with-registry-auth` sends), and the PullSecrets condition saying what was found. Pure.
import type { Resource } from '../../../lib/api/resource.js';
import { credentialsFor, DOCKER_CONFIG_JSON_KEY, DOCKER_CONFIG_JSON_TYPE, DockerConfigError, encodeRegistryAuth, isDockerConfigSecretType, parseDockerConfigJson } from '../../../lib/registry/credentials.js';
import { parseImageReference } from '../../../lib/registry/reference.js';
import type { ConditionDraft } from '../membership/membership.js';

/** The SwarmService condition about its imagePullSecrets (set only when it names some). */
export const PULL_SECRETS_CONDITION = 'PullSecrets';

/** One named imagePullSecret and the Secret read for it (undefined: there is none). */
export interface PullSecretLookup {
  name: string;
  secret?: Resource;
}

export interface RegistryAuthChoice {
  /** Docker's X-Registry-Auth value, or undefined to pull anonymously. Never log it. */
  registryAuth?: string;
  /** The Secret the credentials came from. */
  from?: string;
  /** undefined when the service names no imagePullSecrets. */
  condition?: ConditionDraft;
}

/** The dockerconfigjson of a Secret, or why it has none usable (never echoing a value). */
function dockerConfigOf(lookup: PullSecretLookup): { json: string } | { problem: string; missing?: true } {
  const quoted = JSON.stringify(lookup.name);
  const secret = lookup.secret;
  if (!secret) return { problem: `Secret ${quoted} not found`, missing: true };
  if (!isDockerConfigSecretType(secret['type'])) {
    return { problem: `Secret ${quoted} is of type ${JSON.stringify(secret['type'] ?? '')}, not ${DOCKER_CONFIG_JSON_TYPE}` };
  }
  const data = (secret['data'] ?? {}) as Record<string, unknown>;
  const encoded = data[DOCKER_CONFIG_JSON_KEY];
  if (typeof encoded !== 'string' || encoded === '') return { problem: `Secret ${quoted} has no ${DOCKER_CONFIG_JSON_KEY} key` };
  const json = Buffer.from(encoded, 'base64').toString('utf8');
  try {
    parseDockerConfigJson(json);
  } catch (e) {
    if (!(e instanceof DockerConfigError)) throw e;
    return { problem: `Secret ${quoted}: ${DOCKER_CONFIG_JSON_KEY} ${e.message}` };
  }
  return { json };
}

/**
 * The credentials for `image` among `lookups` (in the service's order). A missing or unusable Secret
 * does not stop the apply (the others may still serve, or the image may be public, as with kubelet);
 * the condition says which and why.
 */
export function chooseRegistryAuth(image: string, lookups: PullSecretLookup[]): RegistryAuthChoice {
  if (lookups.length === 0) return {};
  const registry = parseImageReference(image).registry;
  const problems: string[] = [];
  let anyMissing = false;
  let chosen: RegistryAuthChoice | undefined;
  for (const lookup of lookups) {
    const config = dockerConfigOf(lookup);
    if ('problem' in config) {
      problems.push(config.problem);
      if (config.missing) anyMissing = true;
      continue;
    }
    const auth = credentialsFor(image, [config.json])[0];
    if (auth && !chosen) chosen = { registryAuth: encodeRegistryAuth(auth), from: lookup.name };
  }
  const found = chosen ? `credentials for ${registry} from Secret ${JSON.stringify(chosen.from)}` : `no imagePullSecret has credentials for ${registry}; pulling without`;
  const condition: ConditionDraft =
    problems.length > 0
      ? { status: 'False', reason: anyMissing ? 'PullSecretNotFound' : 'PullSecretInvalid', message: `${problems.join('; ')}; ${found}` }
      : { status: 'True', reason: chosen ? 'CredentialsFound' : 'NoCredentialsForRegistry', message: found };
  return { ...chosen, condition };
}
