// checkListSize: an unpaged List response over the bound fails with an error that names paging.
import { status as Code } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { toWire } from '../../lib/api/resource.js';
import type { ListResponse } from '../../lib/gen/persys/v1/api.js';
import { checkListSize } from './list-size.js';

const response = (n: number): ListResponse => ({
  items: Array.from({ length: n }, (_, i) =>
    toWire({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name: `cm${i}`, namespace: 'default' }, data: { k: 'x'.repeat(1000) } }),
  ),
  resourceVersion: '7',
  continue: '',
  remainingItemCount: '0',
});

describe('checkListSize', () => {
  it('passes a response within the bound', () => {
    expect(() => checkListSize(response(50), 'ConfigMap', 1 << 20, 0)).not.toThrow();
  });

  it('refuses a response over the bound with RESOURCE_EXHAUSTED naming limit and continue', () => {
    let err: unknown;
    try {
      checkListSize(response(2_000), 'ConfigMap', 1 << 20, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    expect((err as Error).message).toMatch(/2000 ConfigMap objects .* over the 1\.0 MiB .*limit .*continue/);
  });

  it('does not measure lists shorter than the threshold', () => {
    expect(() => checkListSize(response(2_000), 'ConfigMap', 1 << 20, 5_000)).not.toThrow();
  });
});
