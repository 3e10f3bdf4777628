// Typed storage errors; the API edge maps them to gRPC status codes.
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** → NOT_FOUND */
export class NotFoundError extends StorageError {
  constructor(readonly key: string) {
    super(`${key} not found`);
  }
}

/** → ALREADY_EXISTS */
export class AlreadyExistsError extends StorageError {
  constructor(readonly key: string) {
    super(`${key} already exists`);
  }
}

/** → ABORTED: the object was modified since the revision the caller read. */
export class ConflictError extends StorageError {
  constructor(
    readonly key: string,
    readonly expectedRevision: string,
    readonly actualRevision: string,
  ) {
    super(`${key} was modified (expected revision ${expectedRevision}, found ${actualRevision})`);
  }
}

/** → OUT_OF_RANGE (Kubernetes: 410 Gone): the revision asked for was compacted. */
export class TooOldError extends StorageError {
  constructor(readonly revision: string, readonly compactRevision?: string) {
    super(
      `resource version ${revision} is too old (compacted${compactRevision ? ` at ${compactRevision}` : ''}): list again and watch from the list's resourceVersion`,
    );
  }
}

/** → INVALID_ARGUMENT: a revision or continue token the caller sent cannot be used. */
export class InvalidRequestError extends StorageError {}
