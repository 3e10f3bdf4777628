// checkListSize: an unpaged List response over the bound fails with an error that names paging.
import { status as Code } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { checkListSize } from './list-size.js';
import { encodeList } from './wire-encode.js';

const response = (n: number): Buffer =>
  encodeList({
    items: Array.from({ length: n }, (_, i) => ({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name: `cm${i}`, namespace: 'default' }, data: { k: 'x'.repeat(1000) } })),
    resourceVersion: '7',
    continue: '',
    remainingItemCount: '0',
  });

describe('checkListSize', () => {
  it('passes a response within the bound', () => {
    expect(() => checkListSize(response(50).length, 50, 'ConfigMap', 1 << 20)).not.toThrow();
  });

  it('refuses a response over the bound with RESOURCE_EXHAUSTED naming limit and continue', () => {
    let err: unknown;
    try {
      checkListSize(response(2_000).length, 2_000, 'ConfigMap', 1 << 20);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    expect((err as Error).message).toMatch(/2000 ConfigMap objects .* over the 1\.0 MiB .*limit .*continue/);
  });
});
