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

/** One stored value that could not be decrypted, and why (the cipher's message). */
export interface UndecryptableValue {
  /** The etcd key, as etcdctl shows it. */
  etcdKey: string;
  reason: string;
  /** The key the value names, when it names one the server lacks. */
  missingKey?: string;
}

/**
 * → FAILED_PRECONDITION (DATA_LOSS when a value fails authentication): stored values this server
 * cannot decrypt. A list fails as a whole, naming every such value it met: a list that left them
 * out would tell controllers and agents that those objects were deleted.
 */
export class UndecryptableError extends StorageError {
  readonly values: UndecryptableValue[];
  constructor(values: UndecryptableValue[]) {
    const missing = [...new Set(values.flatMap((v) => (v.missingKey ? [v.missingKey] : [])))];
    const shown = values.slice(0, 5).map((v) => `${v.etcdKey}: ${v.reason}`);
    if (values.length > shown.length) shown.push(`and ${values.length - shown.length} more`);
    const fix = missing.length
      ? `add ${missing.map((k) => `key "${k}"`).join(' and ')} back to --encryption-key-file on every API server and restart them`
      : 'restore the value from a backup';
    super(
      `${values.length === 1 ? 'a stored value cannot' : `${values.length} stored values cannot`} be decrypted: ${shown.join('; ')}. ` +
        `To fix: ${fix}; if the key is lost, delete the object from etcd (etcdctl del KEY) and create it again`,
    );
    this.values = values;
  }

  /** Every value names a key the server lacks (a configuration fix), none failed authentication. */
  get onlyMissingKeys(): boolean {
    return this.values.every((v) => v.missingKey !== undefined);
  }
}
