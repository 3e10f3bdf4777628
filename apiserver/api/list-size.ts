// The bound on one List response: persys clients accept 64 MiB (lib/client), so an unpaged list that
// would be larger gets an error that names the fix instead of a transport error at the client.
import { status as Code } from '@grpc/grpc-js';
import { MAX_RECEIVE_BYTES } from '../../lib/client/client.js';
import { ApiStatusError } from './status.js';

/** The most a List response may carry: what persys clients accept. */
export const MAX_LIST_RESPONSE_BYTES = MAX_RECEIVE_BYTES;

/** Throws RESOURCE_EXHAUSTED when an encoded List response of `bytes` exceeds MAX_LIST_RESPONSE_BYTES. */
export function checkListSize(bytes: number, items: number, kind: string, maxBytes = MAX_LIST_RESPONSE_BYTES): void {
  if (bytes <= maxBytes) return;
  throw new ApiStatusError(
    Code.RESOURCE_EXHAUSTED,
    `the list of ${items} ${kind} objects is ${mib(bytes)} MiB, over the ${mib(maxBytes)} MiB one response may carry: ` +
      `list in pages with limit (e.g. 500) and continue (persys get and ApiClient.listPages page by themselves)`,
  );
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
