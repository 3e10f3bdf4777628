// The etcd client's fault handling against a real etcd: requests etcd refuses (here: larger than its
// gRPC receive limit, RESOURCE_EXHAUSTED) must not open the breaker that guards every other call.
import { randomUUID } from 'node:crypto';
import { Etcd3, GRPCUnavailableError } from 'etcd3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { isMemberUnreachable, newEtcdClient } from './etcd-client.js';
import { EtcdStorage, MAX_REQUEST_BYTES } from './etcd.js';
import { InvalidRequestError } from './errors.js';

const endpoint = inject('etcdEndpoint');
const prefix = `/persys-test/etcd-client-${randomUUID()}`;
// Over etcd's gRPC receive limit (--max-request-bytes + 512 KiB): etcd answers RESOURCE_EXHAUSTED.
const oversized = Buffer.alloc(3 * 1024 * 1024, 'x');

async function refuseOversizedPuts(client: Etcd3, times: number): Promise<string[]> {
  const errors: string[] = [];
  for (let i = 0; i < times; i++) {
    const err = await client.put(`${prefix}/big`).value(oversized).then(() => undefined, (e: Error) => e);
    errors.push(err ? `${err.name}: ${err.message}` : 'accepted');
  }
  return errors;
}

describe('which failures open a member\'s breaker', () => {
  it('counts a member that cannot be reached, not one that says the cluster is between leaders', () => {
    expect(isMemberUnreachable(new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED'))).toBe(true);
    expect(isMemberUnreachable(Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), { code: 14 }))).toBe(true);
    for (const busy of ['etcdserver: no leader', 'etcdserver: leader changed', 'etcdserver: request timed out']) {
      expect(isMemberUnreachable(new GRPCUnavailableError(`14 UNAVAILABLE: ${busy}`))).toBe(false);
    }
    expect(isMemberUnreachable(new Error('etcdserver: mvcc: required revision has been compacted'))).toBe(false);
  });
});

describe('etcd client fault handling', () => {
  const clients: Etcd3[] = [];
  afterAll(async () => {
    const raw = new Etcd3({ hosts: endpoint });
    await raw.delete().prefix(`${prefix}/`);
    raw.close();
    for (const c of clients) c.close();
  });

  it("shows the problem: etcd3's default breaker opens after oversized requests and refuses a normal get", async () => {
    const client = new Etcd3({ hosts: endpoint });
    clients.push(client);
    await client.put(`${prefix}/small`).value('ok');
    const errors = await refuseOversizedPuts(client, 3);
    // The first is etcd's refusal (retried twice more by the default policy); then the breaker is open.
    expect(errors[0]).toMatch(/RESOURCE_EXHAUSTED|ResourceExhast/i);
    expect(errors.slice(1).every((e) => /circuit breaker is open/i.test(e))).toBe(true);
    await expect(client.get(`${prefix}/small`).string()).rejects.toThrow(/circuit breaker is open/i);
  });

  it('keeps serving normal requests after many oversized requests were refused', async () => {
    const client = newEtcdClient([endpoint]);
    clients.push(client);
    await client.put(`${prefix}/small`).value('ok');
    const errors = await refuseOversizedPuts(client, 10);
    expect(errors).toHaveLength(10);
    for (const e of errors) expect(e).toMatch(/RESOURCE_EXHAUSTED|ResourceExhast/i);
    for (let i = 0; i < 5; i++) expect(await client.get(`${prefix}/small`).string()).toBe('ok');
  });

  it('refuses an object over etcd\'s request limit in storage with InvalidRequestError, before sending it', async () => {
    const storage = new EtcdStorage({ endpoints: [endpoint], prefix });
    try {
      const big = { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'big' }, spec: { data: 'x'.repeat(MAX_REQUEST_BYTES) } };
      for (let i = 0; i < 5; i++) await expect(storage.create('secrets/big', big)).rejects.toBeInstanceOf(InvalidRequestError);
      const small = await storage.create('secrets/small', { ...big, metadata: { name: 'small' }, spec: { data: 'ok' } });
      expect((await storage.get('secrets/small'))?.revision).toBe(small.revision);
    } finally {
      await storage.close();
    }
  });
});
