// Typed errors of the swarm engine. Their messages go back to the swarm controller as the failure of
// the operation, so each says what is wrong and what to do about it.

/** A manager-only operation was sent to a node whose engine is not a swarm manager. */
export class NotSwarmManagerError extends Error {
  override readonly name = 'NotSwarmManagerError';
  constructor(readonly node: string) {
    super(`node ${node} is not a swarm manager`);
  }
}

/** init or join on an engine that is already in a swarm. */
export class AlreadyInSwarmError extends Error {
  override readonly name = 'AlreadyInSwarmError';
  constructor(
    readonly node: string,
    readonly nodeId: string,
    readonly state: string,
  ) {
    super(`node ${node} is already part of a swarm (node ID ${nodeId || 'not yet assigned'}, state ${state}); leave it first`);
  }
}

/** A Docker service has the name persys would give a SwarmService, but persys did not create it. */
export class ForeignServiceError extends Error {
  override readonly name = 'ForeignServiceError';
  constructor(readonly serviceName: string) {
    super(
      `a Docker service named ${serviceName} exists and was not created by persys; persys leaves it alone — ` +
        'delete it or rename the SwarmService',
    );
  }
}

/** The SwarmService cannot be expressed as a Docker service spec (admission should have refused it). */
export class InvalidSwarmServiceError extends Error {
  override readonly name = 'InvalidSwarmServiceError';
  constructor(
    readonly object: string,
    readonly field: string,
    detail: string,
  ) {
    super(`SwarmService ${object}: ${field}: ${detail}`);
  }
}

/** A Docker call failed; the message is the engine's own, prefixed with what persys was doing. */
export class SwarmOperationError extends Error {
  override readonly name = 'SwarmOperationError';
  constructor(
    readonly operation: string,
    readonly node: string,
    options: { cause: unknown },
  ) {
    super(`${operation} on node ${node} failed: ${engineMessage(options.cause)}`, options);
  }
}

/** The engine's own error text (dockerode wraps it in "(HTTP code 503) unexpected - …"). */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === 'string' && json.message) return json.message.trim();
  return err instanceof Error ? err.message : String(err);
}
