// The continue token of a paged list: the revision the first page was read at and the key the next
// page starts at. Shared by etcd and the watch cache, so either can serve any page of a list.
import { InvalidRequestError } from './errors.js';

export interface ContinueToken {
  rev: string;
  /** Relative key the next page starts at (inclusive). */
  start: string;
}

/** The token for the page after `lastKey`. */
export function encodeContinue(rev: string, lastKey: string): string {
  const token: ContinueToken = { rev, start: `${lastKey}\x00` };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

/** Throws InvalidRequestError for a token that is malformed or belongs to another prefix. */
export function parseContinue(token: string, prefix: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const t = parsed as Partial<ContinueToken> | undefined;
  if (
    !t ||
    typeof t.rev !== 'string' ||
    !/^[1-9]\d*$/.test(t.rev) ||
    typeof t.start !== 'string' ||
    !t.start.startsWith(prefix)
  ) {
    throw new InvalidRequestError(`invalid continue token for prefix ${JSON.stringify(prefix)}`);
  }
  return { rev: t.rev, start: t.start };
}
