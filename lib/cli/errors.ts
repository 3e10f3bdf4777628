// How failures reach the user: usage mistakes, and API errors worded the way kubectl words them.
import { status as Status } from '@grpc/grpc-js';
import { ApiError } from '../client/errors.js';

// kubectl's names for HTTP statuses, which users already know, keyed by the gRPC code we get.
const REASONS: Partial<Record<number, string>> = {
  [Status.NOT_FOUND]: 'NotFound',
  [Status.ALREADY_EXISTS]: 'AlreadyExists',
  [Status.ABORTED]: 'Conflict',
  [Status.INVALID_ARGUMENT]: 'Invalid',
  [Status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [Status.PERMISSION_DENIED]: 'Forbidden',
  [Status.UNAUTHENTICATED]: 'Unauthorized',
  [Status.OUT_OF_RANGE]: 'Expired',
  [Status.DEADLINE_EXCEEDED]: 'Timeout',
  [Status.RESOURCE_EXHAUSTED]: 'TooManyRequests',
  [Status.UNIMPLEMENTED]: 'MethodNotAllowed',
  [Status.INTERNAL]: 'InternalError',
};

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.code === Status.NOT_FOUND;

/**
 * One line for stderr: `Error from server (NotFound): …` for API errors, `error: …` otherwise.
 * `server` names the address in connection errors; `doing` ("applying container/web") says which
 * of several operations failed.
 */
export function formatError(err: unknown, server?: string, doing?: string): string {
  const prefix = doing ? `error when ${doing}: ` : '';
  if (err instanceof ApiError) {
    if (err.code === Status.UNAVAILABLE) {
      return `error: ${prefix}unable to connect to the server${server ? ` ${server}` : ''}: ${err.message}`;
    }
    const reason = REASONS[err.code] ?? err.codeName;
    return `Error from server (${reason}): ${prefix}${err.message}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `error: ${prefix}${message}`;
}
