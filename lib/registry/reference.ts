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
