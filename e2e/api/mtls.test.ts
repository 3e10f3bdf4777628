// The API server's mTLS gate: only clients holding a valid client certificate from the cluster CA,
// and trusting that CA, get to call anything; every refused call must leave storage untouched.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { credentials, Metadata, status as Code, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toWire, type Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/errors.js';
import { ResourcesClient } from '../../lib/gen/persys/v1/api.js';
import { createCa, issueCertificate, type CertBundle, type LeafOptions } from '../../lib/pki/index.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

let api: TestApiServer;
let clusterCa: CertBundle;
let otherCa: CertBundle;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  clusterCa = { certPem: readFileSync(api.pki.caCert, 'utf8'), keyPem: readFileSync(api.pki.caKey, 'utf8') };
  otherCa = await createCa('impostor-ca');
});
afterAll(async () => api?.stop());

const adminLike: LeafOptions = { commonName: 'admin', organizations: ['system:masters'], usage: 'client' };

const secret = (name: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name, namespace: 'default' }, stringData: { k: 'v' } });

/** One Create over a raw channel with the given credentials; resolves to the error (or null on success). */
function createWith(creds: ChannelCredentials, obj: Resource): Promise<ServiceError | null> {
  const client = new ResourcesClient(`127.0.0.1:${api.server.port}`, creds);
  return new Promise<ServiceError | null>((resolve) => {
    client.create({ object: toWire(obj), dryRun: false }, new Metadata(), { deadline: new Date(Date.now() + 10_000) }, (err) => resolve(err));
  }).finally(() => client.close());
}

async function storedNames(): Promise<string[]> {
  return (await api.client.list('Secret', { namespace: 'default' })).items.map((i) => i.metadata.name!);
}

async function expectRefused(creds: ChannelCredentials, name: string): Promise<void> {
  const err = await createWith(creds, secret(name));
  expect(err, 'the call must fail').not.toBeNull();
  expect([Code.UNAVAILABLE, Code.UNAUTHENTICATED]).toContain(err!.code);
  expect(await storedNames()).not.toContain(name);
  const lookup = await api.client.get('Secret', name, 'default').catch((e: ApiError) => e);
  expect((lookup as ApiError).code).toBe(Code.NOT_FOUND);
}

const caPem = () => readFileSync(api.pki.caCert);
const pem = (s: string) => Buffer.from(s);

describe('mTLS', () => {
  it('lets the admin client create and read', async () => {
    await api.client.create(secret('mtls-admin'));
    expect(await storedNames()).toContain('mtls-admin');
    const viaRaw = await createWith(
      credentials.createSsl(caPem(), readFileSync(api.pki.adminKey), readFileSync(api.pki.adminCert)),
      secret('mtls-admin-raw'),
    );
    expect(viaRaw).toBeNull();
    expect(await storedNames()).toContain('mtls-admin-raw');
  });

  it('refuses a client that presents no certificate, and stores nothing', async () => {
    await expectRefused(credentials.createSsl(caPem()), 'mtls-nocert');
  });

  it('refuses a client whose certificate another CA signed, even with the admin subject', async () => {
    const impostor = await issueCertificate(otherCa, adminLike);
    await expectRefused(credentials.createSsl(caPem(), pem(impostor.keyPem), pem(impostor.certPem)), 'mtls-otherca');
  });

  it('refuses a self-signed client certificate', async () => {
    // A CA certificate used as its own client certificate: signed by nobody the server trusts.
    await expectRefused(credentials.createSsl(caPem(), pem(otherCa.keyPem), pem(otherCa.certPem)), 'mtls-selfsigned');
  });

  it('refuses a certificate from the cluster CA that is not for client authentication', async () => {
    const serverOnly = await issueCertificate(clusterCa, { ...adminLike, usage: 'server' });
    await expectRefused(credentials.createSsl(caPem(), pem(serverOnly.keyPem), pem(serverOnly.certPem)), 'mtls-serverusage');
  });

  it('refuses an expired client certificate from the cluster CA', async () => {
    const shortLived = await issueCertificate(clusterCa, { ...adminLike, validityDays: 1 / 86_400_000 });
    const notAfter = new Date(new X509Certificate(shortLived.certPem).validTo).getTime();
    // X.509 times have whole seconds: wait until the certificate has certainly expired.
    await new Promise((r) => setTimeout(r, Math.max(0, notAfter - Date.now()) + 1_100));
    await expectRefused(credentials.createSsl(caPem(), pem(shortLived.keyPem), pem(shortLived.certPem)), 'mtls-expired');
  });

  it('fails when the client does not trust the server CA, even holding the admin certificate', async () => {
    await expectRefused(
      credentials.createSsl(pem(otherCa.certPem), readFileSync(api.pki.adminKey), readFileSync(api.pki.adminCert)),
      'mtls-untrusted-server',
    );
  });

  it('refuses a client certificate whose key does not match', async () => {
    const other = await issueCertificate(clusterCa, adminLike);
    // Node refuses to build such a context itself; either way the call must not get through.
    let creds: ChannelCredentials | undefined;
    try {
      creds = credentials.createSsl(caPem(), pem(other.keyPem), readFileSync(api.pki.adminCert));
    } catch (err) {
      expect(String(err)).toMatch(/key/i);
      return;
    }
    await expectRefused(creds, 'mtls-keymismatch');
  });
});
