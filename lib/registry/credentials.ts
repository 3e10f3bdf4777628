// Registry credentials from Secrets of type persys.dev/dockerconfigjson (the same JSON as
// kubernetes.io/dockerconfigjson, the file `docker login` writes): parsing, matching an image's registry,
// and Docker's X-Registry-Auth encoding. Nothing here logs; callers must not log what it returns.
import { createHash } from 'node:crypto';
import { DOCKER_HUB, parseImageReference } from './reference.js';

export const DOCKER_CONFIG_JSON_TYPE = 'persys.dev/dockerconfigjson';
/** Accepted as well, so Kubernetes manifests apply unchanged. */
export const KUBERNETES_DOCKER_CONFIG_JSON_TYPE = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';

export const isDockerConfigSecretType = (type: unknown): boolean =>
  type === DOCKER_CONFIG_JSON_TYPE || type === KUBERNETES_DOCKER_CONFIG_JSON_TYPE;

/** What Docker's API takes as credentials for one registry (dockerode's `authconfig`). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** An OAuth identity token, instead of username and password. */
  identitytoken?: string;
  serveraddress: string;
}

interface DockerConfigEntry {
  username?: unknown;
  password?: unknown;
  auth?: unknown;
  identitytoken?: unknown;
}

export class DockerConfigError extends Error {
  override readonly name = 'DockerConfigError';
}

/** The host[:port] a key of `auths` names: "https://index.docker.io/v1/" → "docker.io". */
export function registryHostOf(server: string): string {
  let host = server.trim().replace(/^[a-z]+:\/\//i, '');
  host = host.split('/')[0]!.toLowerCase();
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') return DOCKER_HUB;
  return host;
}

/**
 * Parses a .dockerconfigjson value into credentials by registry host. Throws DockerConfigError naming
 * what is wrong (never echoing a value).
 */
export function parseDockerConfigJson(json: string): Map<string, RegistryAuth> {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new DockerConfigError('is not valid JSON');
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (!auths || typeof auths !== 'object' || Array.isArray(auths)) throw new DockerConfigError('must be an object with "auths"');
  const out = new Map<string, RegistryAuth>();
  for (const [server, raw] of Object.entries(auths as Record<string, unknown>)) {
    const entry = (raw ?? {}) as DockerConfigEntry;
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new DockerConfigError(`auths[${JSON.stringify(server)}] must be an object`);
    const auth: RegistryAuth = { serveraddress: server };
    if (typeof entry.auth === 'string' && entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const sep = decoded.indexOf(':');
      if (sep < 0) throw new DockerConfigError(`auths[${JSON.stringify(server)}].auth must be base64 of "username:password"`);
      auth.username = decoded.slice(0, sep);
      auth.password = decoded.slice(sep + 1);
    }
    if (typeof entry.username === 'string') auth.username = entry.username;
    if (typeof entry.password === 'string') auth.password = entry.password;
    if (typeof entry.identitytoken === 'string' && entry.identitytoken) auth.identitytoken = entry.identitytoken;
    if (!auth.username && !auth.identitytoken) {
      throw new DockerConfigError(`auths[${JSON.stringify(server)}] needs username and password, auth, or identitytoken`);
    }
    out.set(registryHostOf(server), auth);
  }
  return out;
}

/** The .dockerconfigjson for one registry, as `persys create secret docker-registry` writes it. */
export function dockerConfigJson(server: string, username: string, password: string, email?: string): string {
  const entry: Record<string, string> = { username, password, auth: Buffer.from(`${username}:${password}`).toString('base64') };
  if (email) entry['email'] = email;
  return JSON.stringify({ auths: { [server]: entry } });
}

/**
 * The credentials for `image` among several dockerconfigjson values (one per imagePullSecret, in order):
 * every entry whose registry is the image's, in order, as kubelet tries them.
 */
export function credentialsFor(image: string, configs: string[]): RegistryAuth[] {
  const host = parseImageReference(image).registry.toLowerCase();
  const out: RegistryAuth[] = [];
  for (const json of configs) {
    let parsed: Map<string, RegistryAuth>;
    try {
      parsed = parseDockerConfigJson(json);
    } catch {
      continue; // validation refuses such Secrets; one written before that is skipped
    }
    const auth = parsed.get(host);
    if (auth) out.push(auth);
  }
  return out;
}

/**
 * Docker's X-Registry-Auth header value: base64url of the JSON credentials, padded. The engine decodes
 * it with Go's base64.URLEncoding, which needs the padding: without it the last bytes of the JSON are
 * lost whenever its length is not a multiple of 3, and the engine pulls anonymously.
 */
export function encodeRegistryAuth(auth: RegistryAuth): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** A stable, secret-free key for one set of credentials (to share a pull only between equal credentials). */
export function credentialsKey(auth: RegistryAuth | undefined): string {
  if (!auth) return 'anonymous';
  return `${auth.serveraddress}|${auth.username ?? ''}|${createHash('sha256').update(JSON.stringify(auth)).digest('hex').slice(0, 16)}`;
}
