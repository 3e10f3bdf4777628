// The API's error vocabulary: typed errors inside the server, gRPC status codes at the edge.
import { status as Code, type ServiceError, Metadata } from '@grpc/grpc-js';
import { AlreadyExistsError, ConflictError, InvalidRequestError, NotFoundError, TooOldError, UndecryptableError } from '../storage/errors.js';
import { SelectorError } from '../registry/selectors.js';
import { ValidationError } from '../validation/index.js';
import { CacheUnavailableError, SlowWatcherError, TooLargeRevisionError } from '../watch/errors.js';

/** An error that already carries the gRPC code the client must see. */
export class ApiStatusError extends Error {
  override name = 'ApiStatusError';
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

const where = (namespace: string) => (namespace ? ` in namespace "${namespace}"` : '');

export const notFound = (kind: string, name: string, namespace = '') =>
  new ApiStatusError(Code.NOT_FOUND, `${kind} "${name}" not found${where(namespace)}`);

export const alreadyExists = (kind: string, name: string, namespace = '') =>
  new ApiStatusError(Code.ALREADY_EXISTS, `${kind} "${name}" already exists${where(namespace)}`);

export const conflict = (kind: string, name: string, detail = 'the object has been modified') =>
  new ApiStatusError(
    Code.ABORTED,
    `Operation cannot be fulfilled on ${kind} "${name}": ${detail}; please apply your changes to the latest version and try again`,
  );

export const invalid = (message: string) => new ApiStatusError(Code.INVALID_ARGUMENT, message);

export const failedPrecondition = (message: string) => new ApiStatusError(Code.FAILED_PRECONDITION, message);

export const permissionDenied = (message: string) => new ApiStatusError(Code.PERMISSION_DENIED, message);

/** Maps any error thrown inside the server to the status a client sees. Unknown errors become INTERNAL. */
/**
 * Status details travel in an HTTP/2 header: a message over the peer's header limit (~64 KiB) would
 * drop the whole connection, so no message may come close.
 */
const MAX_DETAILS = 4096;

export function toServiceError(err: unknown): Partial<ServiceError> & { code: Code; details: string } {
  const mk = (code: Code, text: string) => {
    const details = text.length > MAX_DETAILS ? `${text.slice(0, MAX_DETAILS)}… (message truncated)` : text;
    return { code, details, message: details, metadata: new Metadata() };
  };
  if (err instanceof ApiStatusError) return mk(err.code, err.message);
  if (err instanceof ValidationError) return mk(Code.INVALID_ARGUMENT, err.message);
  if (err instanceof SelectorError) return mk(Code.INVALID_ARGUMENT, err.message);
  if (err instanceof InvalidRequestError) return mk(Code.INVALID_ARGUMENT, err.message);
  if (err instanceof SlowWatcherError) return mk(Code.RESOURCE_EXHAUSTED, err.message);
  if (err instanceof CacheUnavailableError || err instanceof TooLargeRevisionError) return mk(Code.UNAVAILABLE, err.message);
  if (err instanceof TooOldError) return mk(Code.OUT_OF_RANGE, err.message);
  if (err instanceof ConflictError) return mk(Code.ABORTED, err.message);
  if (err instanceof NotFoundError) return mk(Code.NOT_FOUND, err.message);
  if (err instanceof AlreadyExistsError) return mk(Code.ALREADY_EXISTS, err.message);
  if (err instanceof UndecryptableError) return mk(err.onlyMissingKeys ? Code.FAILED_PRECONDITION : Code.DATA_LOSS, err.message);
  return mk(Code.INTERNAL, `internal error: ${err instanceof Error ? err.message : String(err)}`);
}

export function codeName(code: Code): string {
  return Code[code] ?? String(code);
}
