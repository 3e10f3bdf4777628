// `persys pki rotate-encryption-key`: writes every Secret back through the API unchanged. The API
// server rewrites any Secret whose stored bytes are stale (under a key that is no longer first in its
// --encryption-key-file, or not encrypted yet) and leaves the rest alone, so each write moves the
// object's resourceVersion and watchers see it, as for any update.
import type { Resource } from '../lib/api/resource.js';
import { isConflict, isNotFound } from '../lib/client/errors.js';
import { listPages } from '../lib/client/pages.js';
import type { CliClient, CommandContext } from '../lib/cli/command.js';

export interface RotationResult {
  /** Secrets the server stored again (under its current first key). */
  rewritten: number;
  /** Secrets already stored under the current key. */
  unchanged: number;
  /** Secrets deleted while the rotation ran. */
  gone: number;
}

/** Writes in flight at once: enough to hide round trips, few enough not to crowd other clients. */
const CONCURRENCY = 8;
/** Tries per Secret that keeps changing under us. */
const ATTEMPTS = 5;

/** Rewrites every Secret of every namespace, as each API server's current key asks. */
export async function rotateEncryptionKey(client: Pick<CliClient, 'list' | 'get' | 'update'>): Promise<RotationResult> {
  const result: RotationResult = { rewritten: 0, unchanged: 0, gone: 0 };
  for await (const page of listPages(client, 'Secret', { namespace: '' })) {
    let next = 0;
    const worker = async () => {
      while (next < page.items.length) {
        result[await rewrite(client, page.items[next++]!)]++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, page.items.length) }, worker));
  }
  return result;
}

async function rewrite(client: Pick<CliClient, 'get' | 'update'>, listed: Resource): Promise<keyof RotationResult> {
  let secret = listed;
  for (let attempt = 1; ; attempt++) {
    try {
      // As read, resourceVersion included: a Secret changed since is left to the next try.
      const written = await client.update(secret);
      return written.metadata.resourceVersion === secret.metadata.resourceVersion ? 'unchanged' : 'rewritten';
    } catch (err) {
      if (isNotFound(err)) return 'gone';
      // Changed since it was read, so some API server wrote it again: read it and try once more, in
      // case that server's key file is not this one's.
      if (!isConflict(err) || attempt >= ATTEMPTS) throw err;
      try {
        secret = await client.get('Secret', secret.metadata.name!, secret.metadata.namespace ?? '');
      } catch (getErr) {
        if (isNotFound(getErr)) return 'gone';
        throw getErr;
      }
    }
  }
}

export async function runRotateEncryptionKey(ctx: CommandContext): Promise<number> {
  const { rewritten, unchanged, gone } = await rotateEncryptionKey(ctx.client());
  ctx.io.out(
    `${rewritten} Secret${rewritten === 1 ? '' : 's'} rewritten under the current encryption key, ${unchanged} already under it` +
      (gone ? `, ${gone} deleted meanwhile` : ''),
  );
  if (rewritten === 0 && unchanged > 0) {
    ctx.io.out('(if you expected rewrites: does every API server run with the new key first in its --encryption-key-file, and was it restarted?)');
  }
  return 0;
}
