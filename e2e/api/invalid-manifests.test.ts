// Every manifest of the validation rejection table, sent to a real API server through Apply: each is
// refused with INVALID_ARGUMENT naming its field path, and afterwards nothing at all was stored.
import { builtinRbacObjects } from '../../lib/rbac/builtin.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { status as Code } from '@grpc/grpc-js';
import { KINDS } from '../../lib/api/kinds.js';
import { ApiError } from '../../lib/client/errors.js';
import { INVALID_MANIFESTS } from '../../apiserver/validation/invalid-manifests.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

let api: TestApiServer;
beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
});
afterAll(async () => api?.stop());

// Cases about UpdateStatus or an existing object need more than one Apply; the unit table covers them.
const applyCases = INVALID_MANIFESTS.filter((c) => !c.opts);

describe('Apply refuses every invalid manifest of the table', () => {
  it('has at least 40 cases to send', () => {
    expect(applyCases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(applyCases)('refuses $name with INVALID_ARGUMENT at "$path"', async ({ manifest, path, message }) => {
    const text = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
    const err = await api.client.apply(text).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as ApiError).message).toContain(path ? `${path}: ` : message);
    expect((err as ApiError).message).toContain(message);
  });

  it('stored nothing: every kind is empty but for the bootstrap namespaces and the built-in RBAC objects', async () => {
    const bootstrap = [
      ...['default', 'persys-node-lease', 'persys-system'].map((n) => `Namespace/${n}`),
      ...builtinRbacObjects().map((o) => `${o.kind}/${o.metadata.name}`),
    ];
    for (const info of KINDS) {
      const { items } = await api.client.list(info.kind);
      const names = items.map((i) => `${i.kind}/${i.metadata.name}`);
      expect(names.sort()).toEqual(bootstrap.filter((n) => n.startsWith(`${info.kind}/`)).sort());
    }
  });
});
