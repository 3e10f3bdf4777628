// Typed errors of the agent's Docker runtime, so callers branch on a class instead of on an engine
// message, and so the circuit breaker can tell an engine failure from a caller's mistake.
import type { ConfigKind } from '../../lib/api/references.js';
import type { NotAnEngineFailure } from '../../lib/docker/engine-guard.js';

/**
 * The container's configuration cannot be assembled from what the node has (a referenced ConfigMap,
 * Secret or key is missing, a projected file path is unusable): status reason CreateContainerConfigError,
 * and nothing was created. Messages name objects and keys, never values.
 */
export class ContainerConfigError extends Error {
  override readonly name: string = 'ContainerConfigError';
}

/** A non-optional reference (env, envFrom or a volume) names a ConfigMap or Secret, or a key of one, that does not exist (yet). */
export class MissingConfigError extends ContainerConfigError {
  override readonly name = 'MissingConfigError';
  constructor(
    readonly kind: ConfigKind,
    readonly namespace: string,
    readonly objectName: string,
    /** Undefined when the whole object is missing. */
    readonly key: string | undefined,
    /** What needed it: `env PW`, `envFrom[0]`, `volume /etc/app`. */
    readonly usage: string,
  ) {
    super(
      key === undefined
        ? `${usage}: ${kind} ${namespace}/${objectName} not found`
        : `${usage}: ${kind} ${namespace}/${objectName} has no key ${JSON.stringify(key)}`,
    );
  }
}

/** A file path of a ConfigMap/Secret volume (item path or subPath) that is absolute, climbs out with "..", or is absent. */
export class ProjectionPathError extends ContainerConfigError {
  override readonly name = 'ProjectionPathError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`projected path ${JSON.stringify(path)} ${problem}`);
  }
}

/** Create found no such image on the node (it was removed after the pull, or never pulled). */
export class ImageNotFoundError extends Error implements NotAnEngineFailure {
  override readonly name = 'ImageNotFoundError';
  readonly notAnEngineFailure = true;
  constructor(
    readonly image: string,
    readonly node: string,
    options?: { cause?: unknown },
  ) {
    super(`Container image "${image}" is not present on node ${node}`, options);
  }
}

/**
 * A pull failed on the registry's side or on the caller's (unauthorized, manifest unknown, denied, a
 * registry that does not answer, a pull deadline): never an engine failure for the circuit breaker.
 * `registryMessage` is the engine's or registry's own text, with any credential removed.
 */
export class ImagePullError extends Error implements NotAnEngineFailure {
  override readonly name = 'ImagePullError';
  readonly notAnEngineFailure = true;
  constructor(
    readonly image: string,
    readonly registryMessage: string,
    /** The engine's HTTP status when it refused the pull before streaming (404, 500). */
    readonly statusCode?: number,
  ) {
    super(`failed to pull image "${image}": ${registryMessage}`);
  }
}

/** The image is missing and the pull policy is Never (kubelet's ErrImageNeverPull). */
export class ImageNeverPullError extends Error {
  override readonly name = 'ImageNeverPullError';
  constructor(readonly image: string) {
    super(`Container image "${image}" is not present with pull policy of Never`);
  }
}

/** Refusal to act on a container persys did not create (it has no dev.persys.uid label). */
export class UnmanagedContainerError extends Error implements NotAnEngineFailure {
  override readonly name = 'UnmanagedContainerError';
  readonly notAnEngineFailure = true;
  constructor(readonly id: string) {
    super(`container ${id} is not managed by persys (no dev.persys.uid label); refusing to touch it`);
  }
}
