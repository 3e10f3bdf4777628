// Tests of the swarm record in its Secret (base64 keys clusterId, worker, manager; created with its
// namespace, updated as a compare-and-swap, forgotten by uid) and of token redaction.
import { status as Code } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../../lib/api/resource.js';
import { JOIN_TOKENS_TYPE, JoinTokenStore, recordOfSecret, redactTokens, secretData, type JoinTokenClient } from './join-tokens.js';

const record = { clusterId: 'c1', workerToken: 'SWMTKN-1-abc-def', managerToken: 'SWMTKN-1-abc-ghi' };

/** An in-memory stand-in for the API: objects by kind/namespace/name, with resourceVersion checks. */
function memoryApi() {
  const objects = new Map<string, Resource>();
  let rv = 1;
  const key = (kind: string, ns: string, name: string) => `${kind}/${ns}/${name}`;
  const fail = (code: Code) => Object.assign(new Error(Code[code]), { code });
  const client: JoinTokenClient = {
    async get(kind, name, namespace = '') {
      const o = objects.get(key(kind, namespace, name));
      if (!o) throw fail(Code.NOT_FOUND);
      return structuredClone(o);
    },
    async create(obj) {
      const k = key(obj.kind, obj.metadata.namespace ?? '', obj.metadata.name!);
      if (objects.has(k)) throw fail(Code.ALREADY_EXISTS);
      const stored = { ...structuredClone(obj), metadata: { ...obj.metadata, uid: `uid-${rv}`, resourceVersion: String(rv++) } };
      objects.set(k, stored);
      return structuredClone(stored);
    },
    async update(obj) {
      const k = key(obj.kind, obj.metadata.namespace ?? '', obj.metadata.name!);
      const cur = objects.get(k);
      if (!cur) throw fail(Code.NOT_FOUND);
      if (cur.metadata.resourceVersion !== obj.metadata.resourceVersion) throw fail(Code.ABORTED);
      const stored = { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(rv++) } };
      objects.set(k, stored);
      return structuredClone(stored);
    },
    async delete(kind, name, namespace = '') {
      const k = key(kind, namespace, name);
      const cur = objects.get(k);
      if (!cur) throw fail(Code.NOT_FOUND);
      objects.delete(k);
      return cur;
    },
  };
  return { client, objects };
}

describe('the record in its Secret', () => {
  it('round-trips through base64 data keys clusterId, worker and manager', () => {
    const data = secretData(record);
    expect(data).toEqual({ clusterId: 'YzE=', worker: Buffer.from(record.workerToken).toString('base64'), manager: Buffer.from(record.managerToken).toString('base64') });
    expect(recordOfSecret({ data })).toEqual(record);
    expect(recordOfSecret({ data: {} })).toBeUndefined();
    expect(recordOfSecret(undefined)).toBeUndefined();
  });

  it('creates the Secret and its namespace, then updates it and forgets it', async () => {
    const api = memoryApi();
    const store = new JoinTokenStore(api.client);
    expect(await store.read()).toBeUndefined();
    await store.write(record);
    expect(api.objects.has('Namespace//persys-system')).toBe(true);
    const secret = api.objects.get('Secret/persys-system/swarm-join-tokens')!;
    expect(secret['type']).toBe(JOIN_TOKENS_TYPE);

    const again = new JoinTokenStore(api.client);
    expect(await again.read()).toEqual(record);
    await again.write({ ...record, workerToken: 'SWMTKN-1-new' });
    expect((await new JoinTokenStore(api.client).read())!.workerToken).toBe('SWMTKN-1-new');

    await again.forget();
    expect(api.objects.has('Secret/persys-system/swarm-join-tokens')).toBe(false);
  });

  it('fails on a concurrent change instead of overwriting it', async () => {
    const api = memoryApi();
    const a = new JoinTokenStore(api.client);
    await a.write(record);
    const b = new JoinTokenStore(api.client);
    await b.read();
    await a.write({ ...record, managerToken: 'SWMTKN-1-a' });
    await expect(b.write({ ...record, managerToken: 'SWMTKN-1-b' })).rejects.toMatchObject({ code: Code.ABORTED });
  });
});

describe('redactTokens', () => {
  it('cuts every join token out of a message', () => {
    expect(redactTokens('join with SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx failed; SWMTKN-1-a-b too')).toBe(
      'join with SWMTKN-[redacted] failed; SWMTKN-[redacted] too',
    );
  });
});
