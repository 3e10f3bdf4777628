// Image references as Docker reads them ("nginx", "nginx:1.27", "127.0.0.1:5000/team/app@sha256:…"):
// the registry host a reference pulls from, and Kubernetes' default pull policy for it.

export const DOCKER_HUB = 'docker.io';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';
export const PULL_POLICIES: readonly PullPolicy[] = ['Always', 'IfNotPresent', 'Never'];

export interface ImageReference {
  /** Registry host[:port]; docker.io for Docker Hub. */
  registry: string;
  /** Repository path within the registry (library/nginx for the official images). */
  repository: string;
  /** Empty when the reference has none (Docker then means latest, unless a digest is given). */
  tag: string;
  /** sha256:… when pinned. */
  digest: string;
}

/** Docker's rule: the first path component is a registry host when it has a dot or a port, or is localhost. */
function isRegistryHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

export function parseImageReference(image: string): ImageReference {
  let rest = image.trim();
  let digest = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = '';
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && isRegistryHost(parts[0]!)) registry = parts.shift()!;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  return { registry, repository: parts.join('/'), tag, digest };
}

/** Kubernetes' default: Always for :latest or no tag (and no digest), IfNotPresent otherwise. */
export function defaultPullPolicy(image: string): PullPolicy {
  const ref = parseImageReference(image);
  if (ref.digest && !ref.tag) return 'IfNotPresent';
  return !ref.tag || ref.tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** The spec's policy when it sets one, else the default for the image. */
export function effectivePullPolicy(image: string, policy: string | undefined): PullPolicy {
  return (PULL_POLICIES as readonly string[]).includes(policy ?? '') ? (policy as PullPolicy) : defaultPullPolicy(image);
}

/** The reference Docker pulls when none of tag or digest is given: the latest tag. */
export function withDefaultTag(image: string): string {
  const ref = parseImageReference(image);
  return ref.tag || ref.digest ? image : `${image}:latest`;
}

// Docker's reference grammar (distribution/reference): name [":" tag] ["@" digest].
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Docker's limit on the name part (registry and repository). */
export const MAX_IMAGE_NAME_LENGTH = 255;

/** References found valid lately: most objects share a few images, and the name grammar is a costly regex. */
const validReferences = new Set<string>();
const MAX_VALID_REFERENCES = 1024;

/** Why Docker would refuse this reference ("invalid reference format"), or undefined when it is one. */
export function imageReferenceError(image: string): string | undefined {
  if (validReferences.has(image)) return undefined;
  const why = referenceError(image);
  if (why === undefined) {
    if (validReferences.size >= MAX_VALID_REFERENCES) validReferences.clear();
    validReferences.add(image);
  }
  return why;
}

function referenceError(image: string): string | undefined {
  if (image === '') return 'must not be empty';
  let name = image;
  let digest = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
  }
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  if (name.length > MAX_IMAGE_NAME_LENGTH) return `the name must be no more than ${MAX_IMAGE_NAME_LENGTH} characters, got ${name.length}`;
  if (!NAME.test(name)) {
    const path = name.slice(name.indexOf('/') + 1);
    if (NAME.test(name.toLowerCase()) && path !== path.toLowerCase()) return `repository name must be lowercase, got ${JSON.stringify(name)}`;
    return `invalid reference format: ${JSON.stringify(truncated(image))} is not [registry[:port]/]name[:tag][@digest], where name is lowercase letters, digits and separators (. _ __ -)`;
  }
  if (tag !== undefined && !TAG.test(tag)) return `invalid tag ${JSON.stringify(truncated(tag))}: up to 128 letters, digits, _ . or -, not starting with . or -`;
  if (at >= 0) {
    if (!DIGEST.test(digest)) return `invalid digest ${JSON.stringify(truncated(digest))}: expected algorithm:hex, e.g. sha256: and 64 hex digits`;
    if (digest.startsWith('sha256:') && !SHA256_HEX.test(digest.slice('sha256:'.length))) return 'invalid digest: sha256 takes 64 lowercase hex digits';
  }
  return undefined;
}

function truncated(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
