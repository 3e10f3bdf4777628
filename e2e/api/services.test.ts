// Services on real API servers: validation errors naming the field, and cluster IPs allocated from
// the service range, unique across two API servers of one cluster, immutable, given back on delete,
// and a clear RESOURCE_EXHAUSTED when the range is full.
import { randomBytes } from 'node:crypto';
import { status as Code } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

// /29: six addresses, 10.99.0.1 - 10.99.0.6.
const RANGE = '10.99.0.0/29';
let a: TestApiServer;
let b: TestApiServer;

beforeAll(async () => {
  const etcdPrefix = `/test-svc-${randomBytes(6).toString('hex')}`;
  a = await startTestApiServer(inject('etcdEndpoint'), { etcdPrefix, serverOptions: { serviceClusterIpRange: RANGE } });
  b = await startTestApiServer(inject('etcdEndpoint'), { etcdPrefix, pki: a.pki, serverOptions: { serviceClusterIpRange: RANGE } });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const service = (name: string, spec: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }], ...spec },
});

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('the call succeeded');
}

async function deleteAll(): Promise<void> {
  for (const s of (await a.client.list('Service', { namespace: 'default' })).items) await a.client.delete('Service', s.metadata.name!, 'default');
}

describe('Service validation over the API', () => {
  it('refuses duplicate port names with INVALID_ARGUMENT naming spec.ports[1].name', async () => {
    const err = await refusal(a.client.create(service('dup', { ports: [{ name: 'http', port: 80 }, { name: 'http', port: 8080 }] })));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('spec.ports[1].name: duplicate port name "http"');
  });

  it('refuses a Service without ports, naming spec.ports', async () => {
    const err = await refusal(a.client.create(service('noports', { ports: [] })));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('spec.ports: required: at least one port');
  });
});

describe('cluster IPs', () => {
  it('allocates a free address in the range, keeps it on update and apply, and refuses a change', async () => {
    const web = await a.client.create(service('web'));
    const ip = web.spec.clusterIp as string;
    expect(ip).toMatch(/^10\.99\.0\.[1-6]$/);
    // An update that leaves it out keeps it; another value is refused.
    const { clusterIp: _ip, ...withoutIp } = web.spec;
    const updated = await a.client.update({ ...web, spec: { ...withoutIp, selector: { app: 'web2' } } });
    expect(updated.spec.clusterIp).toBe(ip);
    const other = ip === '10.99.0.6' ? '10.99.0.5' : '10.99.0.6';
    const err = await refusal(a.client.update({ ...updated, spec: { ...updated.spec, clusterIp: other } }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain(`spec.clusterIp: field is immutable (is ${ip})`);
    const applied = await a.client.apply(
      'apiVersion: persys.dev/v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  selector: {app: web3}\n  ports: [{name: http, port: 80}]\n',
    );
    expect(applied.object.spec.clusterIp).toBe(ip);
    await deleteAll();
  });

  it('accepts a chosen free address, refuses a taken one and one outside the range, naming spec.clusterIp', async () => {
    const chosen = await a.client.create(service('chosen', { clusterIp: '10.99.0.3' }));
    expect(chosen.spec.clusterIp).toBe('10.99.0.3');
    let err = await refusal(b.client.create(service('taken', { clusterIp: '10.99.0.3' })));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('spec.clusterIp: 10.99.0.3 is already allocated to Service default/chosen');
    err = await refusal(a.client.create(service('outside', { clusterIp: '10.100.0.1' })));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain(`spec.clusterIp: 10.100.0.1 is not in the service cluster IP range ${RANGE}`);
    // The broadcast address is not in the usable range.
    err = await refusal(a.client.create(service('broadcast', { clusterIp: '10.99.0.7' })));
    expect(err.message).toContain('is not in the service cluster IP range');
    await deleteAll();
  });

  it('gives distinct addresses across two API servers until the range is exhausted, then RESOURCE_EXHAUSTED; a delete frees one', async () => {
    // Headless Services take no address.
    await a.client.create(service('headless', { clusterIp: 'None' }));
    const created = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).client.create(service(`s${i}`))),
    );
    const ips = created.map((s) => s.spec.clusterIp as string);
    expect(new Set(ips).size).toBe(6);
    const err = await refusal(a.client.create(service('seventh')));
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.message).toContain(`spec.clusterIp: the service cluster IP range ${RANGE} is exhausted (all 6 addresses are allocated)`);
    // A failed create leaves nothing behind.
    expect((await a.client.list('Service', { namespace: 'default' })).items.map((s) => s.metadata.name)).not.toContain('seventh');

    await b.client.delete('Service', 's2', 'default');
    const again = await a.client.create(service('seventh'));
    expect(again.spec.clusterIp).toBe(ips[2]);
    // A name clash gives its fresh allocation back: the range is still full, not leaking.
    expect((await refusal(a.client.create(service('seventh')))).code).toBe(Code.ALREADY_EXISTS);
    await b.client.delete('Service', 's3', 'default');
    expect((await b.client.create(service('eighth'))).spec.clusterIp).toBe(ips[3]);
    await deleteAll();
  });

  it('a dry-run create allocates nothing', async () => {
    const dry = await a.client.create(service('dry'), { dryRun: true });
    expect(dry.spec.clusterIp ?? '').toBe('');
    const all = await Promise.all(Array.from({ length: 6 }, (_, i) => a.client.create(service(`d${i}`))));
    expect(new Set(all.map((s) => s.spec.clusterIp)).size).toBe(6);
    await deleteAll();
  });
});
