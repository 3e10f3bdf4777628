// Changes one object by reading it, editing the copy and writing it back with the read's resourceVersion,
// so a concurrent change is never overwritten: on a conflict the edit is re-applied to a fresh read.
import { status as Status } from '@grpc/grpc-js';
import type { Resource } from '../api/resource.js';
import { ApiError } from '../client/errors.js';
import type { CliClient } from './command.js';

/** `edit` returns the object to write, or undefined when nothing needs to change (then nothing is written). */
export async function readModifyWrite(
  client: Pick<CliClient, 'get' | 'update'>,
  kind: string,
  name: string,
  namespace: string,
  edit: (current: Resource) => Resource | undefined,
): Promise<Resource | undefined> {
  for (let attempt = 0; ; attempt++) {
    const next = edit(await client.get(kind, name, namespace));
    if (!next) return undefined;
    try {
      return await client.update(next);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === Status.ABORTED) || attempt >= 5) throw err;
    }
  }
}
