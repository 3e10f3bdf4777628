// Errors of API calls: ApiError (a gRPC status code, its name and the server's message) and
// predicates in client-go's style (apierrors.IsNotFound, …) that read the code of any error a client
// or a raw gRPC call throws.
import { status as Status, type ServiceError } from '@grpc/grpc-js';

/** A failed API call: the gRPC status code, its name and the server's message. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: Status,
    readonly codeName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static from(err: ServiceError): ApiError {
    const codeName = Status[err.code] ?? String(err.code);
    return new ApiError(err.code, codeName, err.details || err.message, { cause: err });
  }
}

/** The gRPC status code of an error from a client or a raw gRPC call; undefined for other errors. */
export function codeOf(err: unknown): Status | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The object does not exist (gRPC NOT_FOUND). */
export const isNotFound = (err: unknown): boolean => codeOf(err) === Status.NOT_FOUND;
/** A create found the name taken (ALREADY_EXISTS). */
export const isAlreadyExists = (err: unknown): boolean => codeOf(err) === Status.ALREADY_EXISTS;
/** A write lost a race: the object changed since it was read (ABORTED; Kubernetes' 409 Conflict). */
export const isConflict = (err: unknown): boolean => codeOf(err) === Status.ABORTED;
/** The object failed validation (INVALID_ARGUMENT). */
export const isInvalid = (err: unknown): boolean => codeOf(err) === Status.INVALID_ARGUMENT;
/** The server refused the caller (PERMISSION_DENIED). */
export const isForbidden = (err: unknown): boolean => codeOf(err) === Status.PERMISSION_DENIED;
/** The server does not know the call (UNIMPLEMENTED): an older version. */
export const isUnimplemented = (err: unknown): boolean => codeOf(err) === Status.UNIMPLEMENTED;
