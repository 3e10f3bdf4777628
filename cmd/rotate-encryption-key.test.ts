import { status as Code } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../lib/api/resource.js';
import { ApiError } from '../lib/client/errors.js';
import { rotateEncryptionKey } from './rotate-encryption-key.js';

const secret = (name: string, rv: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name, namespace: 'default', resourceVersion: rv } });
const apiError = (code: Code) => new ApiError(code, Code[code]!, 'x');

/** A server whose Secrets `stale` are rewritten (new resourceVersion) by an update that changes nothing. */
function server(secrets: Resource[], stale: Set<string>, failFirst: Record<string, Code> = {}) {
  let rv = 100;
  const updates: string[] = [];
  return {
    updates,
    list: async () => ({ items: secrets, resourceVersion: '99', continue: '', remainingItemCount: 0 }),
    get: async (_kind: string, name: string) => {
      const s = secrets.find((x) => x.metadata.name === name);
      if (!s) throw apiError(Code.NOT_FOUND);
      return { ...s, metadata: { ...s.metadata, resourceVersion: String(++rv) } };
    },
    update: async (obj: Resource) => {
      const name = obj.metadata.name!;
      updates.push(`${name}@${obj.metadata.resourceVersion}`);
      const fail = failFirst[name];
      if (fail !== undefined) {
        delete failFirst[name];
        throw apiError(fail);
      }
      if (!stale.has(name)) return obj;
      stale.delete(name);
      return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
    },
  };
}

describe('rotateEncryptionKey', () => {
  it('counts the Secrets the server rewrote and those already under the current key', async () => {
    const s = server([secret('a', '1'), secret('b', '2'), secret('c', '3')], new Set(['a', 'c']));
    expect(await rotateEncryptionKey(s)).toEqual({ rewritten: 2, unchanged: 1, gone: 0 });
    // Each Secret is written back as read, resourceVersion included.
    expect(s.updates.sort()).toEqual(['a@1', 'b@2', 'c@3']);
  });

  it('reads a Secret again after a conflict, and counts one deleted meanwhile as gone', async () => {
    const s = server([secret('a', '1'), secret('b', '2')], new Set(['a']), { a: Code.ABORTED, b: Code.NOT_FOUND });
    expect(await rotateEncryptionKey(s)).toEqual({ rewritten: 1, unchanged: 0, gone: 1 });
    expect(s.updates[0]).toBe('a@1');
    expect(s.updates).toContain('a@101');
  });

  it('stops on other errors', async () => {
    const s = server([secret('a', '1')], new Set(), { a: Code.FAILED_PRECONDITION });
    await expect(rotateEncryptionKey(s)).rejects.toThrow(ApiError);
  });
});
