// Exercises the PKI over real mTLS: a grpc-js server with client-certificate checking, real clients.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  caCertHash,
  createCa,
  createCsr,
  identityFromPeerCertificate,
  initPki,
  InvalidCsrError,
  issueCertificate,
  signCsr,
  type CertBundle,
  type Identity,
} from './index.js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v ?? null)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()),
};
// A one-method service with JSON messages: enough to carry the caller's identity back to the test.
const whoAmIService = {
  whoAmI: {
    path: '/pki.test.WhoAmI/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;
const WhoAmIClient = grpc.makeGenericClientConstructor(whoAmIService, 'WhoAmI');

let ca: CertBundle;
let port: number;
let handled = 0;
const servers: grpc.Server[] = [];

/** Starts a WhoAmI server on 127.0.0.1 that requires a client certificate signed by `caPem`. */
async function startServer(caPem: string, serverCert: CertBundle): Promise<number> {
  const server = new grpc.Server();
  server.addService(whoAmIService, {
    whoAmI: (call: grpc.ServerUnaryCall<unknown, Identity | null>, cb: grpc.sendUnaryData<Identity | null>) => {
      handled++;
      cb(null, identityFromPeerCertificate(call.getAuthContext().sslPeerCertificate) ?? null);
    },
  });
  const creds = grpc.ServerCredentials.createSsl(
    Buffer.from(caPem),
    [{ private_key: Buffer.from(serverCert.keyPem), cert_chain: Buffer.from(serverCert.certPem) }],
    true,
  );
  servers.push(server);
  return new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
}

beforeAll(async () => {
  ca = await createCa();
  const serverCert = await issueCertificate(ca, {
    commonName: 'persys-apiserver',
    hosts: ['localhost', '127.0.0.1', '::1'],
    usage: 'server',
  });
  port = await startServer(ca.certPem, serverCert);
});

afterAll(() => servers.forEach((s) => s.forceShutdown()));

/** Calls WhoAmI over TLS; `serverName` checks the server certificate against that name. */
async function whoAmI(opts: {
  client?: CertBundle;
  trust?: string;
  serverName?: string;
  port?: number;
}): Promise<Identity | null> {
  const creds = grpc.credentials.createSsl(
    Buffer.from(opts.trust ?? ca.certPem),
    opts.client ? Buffer.from(opts.client.keyPem) : null,
    opts.client ? Buffer.from(opts.client.certPem) : null,
  );
  const channelOpts = opts.serverName ? { 'grpc.ssl_target_name_override': opts.serverName } : {};
  const client = new WhoAmIClient(`127.0.0.1:${opts.port ?? port}`, creds, channelOpts);
  try {
    return await new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        whoAmIService.whoAmI.path,
        json.serialize,
        json.deserialize,
        {},
        { deadline: Date.now() + 10_000 },
        (err: grpc.ServiceError | null, res?: Identity | null) => (err ? reject(err) : resolve(res ?? null)),
      ),
    );
  } finally {
    client.close();
  }
}

async function expectRefused(call: Promise<unknown>): Promise<void> {
  const before = handled;
  await expect(call).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  expect(handled).toBe(before);
}

describe('mTLS with certificates from the cluster CA', () => {
  it('accepts the admin client certificate and the server sees user admin in group system:masters', async () => {
    const admin = await issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
    expect(await whoAmI({ client: admin })).toEqual({ user: 'admin', groups: ['system:masters'] });
  });

  it('reports every organization of a client certificate as a group', async () => {
    const c = await issueCertificate(ca, { commonName: 'ops', organizations: ['team-a', 'team-b'], usage: 'both' });
    expect(await whoAmI({ client: c })).toEqual({ user: 'ops', groups: ['team-a', 'team-b'] });
  });

  it('refuses a client that presents no certificate', async () => {
    await expectRefused(whoAmI({}));
  });

  it('refuses a client certificate issued by another CA', async () => {
    const otherCa = await createCa('intruder-ca');
    const forged = await issueCertificate(otherCa, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
    await expectRefused(whoAmI({ client: forged }));
  });

  it('refuses a server-only certificate used as a client certificate', async () => {
    const serverOnly = await issueCertificate(ca, { commonName: 'admin', usage: 'server' });
    await expectRefused(whoAmI({ client: serverOnly }));
  });

  it('the server certificate validates for localhost and 127.0.0.1 but not for another name', async () => {
    const admin = await issueCertificate(ca, { commonName: 'admin', usage: 'client' });
    expect(await whoAmI({ client: admin })).toMatchObject({ user: 'admin' }); // dialled as 127.0.0.1
    expect(await whoAmI({ client: admin, serverName: 'localhost' })).toMatchObject({ user: 'admin' });
    await expectRefused(whoAmI({ client: admin, serverName: 'example.com' }));
  });

  it('a client that trusts another CA refuses the server', async () => {
    const admin = await issueCertificate(ca, { commonName: 'admin', usage: 'client' });
    await expectRefused(whoAmI({ client: admin, trust: (await createCa()).certPem }));
  });
});

describe('issueCertificate', () => {
  it('writes DNS and IP hosts as subject alternative names, signed by the CA', async () => {
    const c = await issueCertificate(ca, { commonName: 'srv', hosts: ['localhost', '10.0.0.7', '::1'], usage: 'server' });
    const cert = new X509Certificate(c.certPem);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('10.0.0.7')).toBe('10.0.0.7');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.checkHost('other.example')).toBeUndefined();
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.ca).toBe(false);
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
  });

  it('honours validityDays', async () => {
    const c = await issueCertificate(ca, { commonName: 'short', usage: 'client', validityDays: 2 });
    const days = (Date.parse(new X509Certificate(c.certPem).validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(1.9);
    expect(days).toBeLessThanOrEqual(2);
  });
});

describe('a CA made outside persys', () => {
  it.each([
    ['an EC key in SEC1 PEM', (out: string) => ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', out]],
    ['an RSA key in PKCS#1 PEM', (out: string) => ['genrsa', '-traditional', '-out', out, '2048']],
  ])('issues certificates that chain to a CA with %s from openssl', async (_, keygen) => {
    const dir = await mkdtemp(join(tmpdir(), 'persys-extca-'));
    const keyPath = join(dir, 'ca.key');
    execFileSync('openssl', keygen(keyPath));
    const keyPem = await readFile(keyPath, 'utf8');
    const certPem = execFileSync('openssl', ['req', '-new', '-x509', '-key', keyPath, '-subj', '/CN=ext-ca', '-days', '2']).toString();
    await rm(dir, { recursive: true });
    const leaf = await issueCertificate({ certPem, keyPem }, { commonName: 'n', usage: 'client' });
    expect(new X509Certificate(leaf.certPem).verify(new X509Certificate(certPem).publicKey)).toBe(true);
    const csr = await createCsr('n2');
    const signed = await signCsr({ certPem, keyPem }, csr.csrPem, { commonName: 'n2' });
    expect(new X509Certificate(signed).checkIssued(new X509Certificate(certPem))).toBe(true);
  });
});

describe('signCsr', () => {
  it('forces the subject to the given CN and O and the certificate works as a client', async () => {
    const { csrPem, keyPem } = await createCsr('i-would-like-to-be-admin');
    const certPem = await signCsr(ca, csrPem, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
    expect(new X509Certificate(certPem).subject).not.toContain('i-would-like-to-be-admin');
    expect(await whoAmI({ client: { certPem, keyPem } })).toEqual({ user: 'system:node:n1', groups: ['system:nodes'] });
  });

  it('rejects a CSR whose content was altered after signing', async () => {
    const { csrPem } = await createCsr('node-1');
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const at = der.indexOf('node-1');
    expect(at).toBeGreaterThan(0);
    der.write('node-2', at);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(signCsr(ca, tampered, { commonName: 'node-2' })).rejects.toBeInstanceOf(InvalidCsrError);
  });

  it('rejects text that is not a CSR', async () => {
    await expect(signCsr(ca, 'hello', { commonName: 'x' })).rejects.toBeInstanceOf(InvalidCsrError);
  });
});

describe('caCertHash', () => {
  it('is stable and equals the SHA-256 of the DER public key that openssl computes', () => {
    const hash = caCertHash(ca.certPem);
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(caCertHash(ca.certPem)).toBe(hash);
    const pubkey = execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: ca.certPem });
    const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pubkey });
    const sum = execFileSync('sha256sum', { input: der }).toString().split(' ')[0];
    expect(hash).toBe(`sha256:${sum}`);
  });

  it('differs between CAs', async () => {
    expect(caCertHash((await createCa()).certPem)).not.toBe(caCertHash(ca.certPem));
  });
});

describe('initPki', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'persys-pki-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('creates a CA, a server and an admin certificate, keys mode 0600, usable for mTLS', async () => {
    const p = await initPki(join(dir, 'a'), { serverHosts: ['api.example', '192.0.2.10'] });
    for (const key of [p.caKey, p.serverKey, p.adminKey]) expect((await stat(key)).mode & 0o777).toBe(0o600);
    const caPem = await readFile(p.caCert, 'utf8');
    const server = new X509Certificate(await readFile(p.serverCert, 'utf8'));
    expect(server.checkIssued(new X509Certificate(caPem))).toBe(true);
    for (const h of ['localhost', 'api.example']) expect(server.checkHost(h)).toBe(h);
    for (const ip of ['127.0.0.1', '::1', '192.0.2.10']) expect(server.checkIP(ip)).toBe(ip);


    const read = async (certPath: string, keyPath: string): Promise<CertBundle> => ({
      certPem: await readFile(certPath, 'utf8'),
      keyPem: await readFile(keyPath, 'utf8'),
    });
    const filePort = await startServer(caPem, await read(p.serverCert, p.serverKey));
    const admin = await read(p.adminCert, p.adminKey);
    const call = { client: admin, trust: caPem, port: filePort };
    expect(await whoAmI(call)).toEqual({ user: 'admin', groups: ['system:masters'] });
    expect(await whoAmI({ ...call, serverName: 'localhost' })).toEqual({ user: 'admin', groups: ['system:masters'] });
    // The files' CA is not the one the shared test server trusts.
    await expectRefused(whoAmI({ client: admin }));
  });

  it('is idempotent: a second call keeps every file', async () => {
    const p = await initPki(join(dir, 'b'));
    const before = await Promise.all(Object.values(p).slice(1).map((f) => readFile(f, 'utf8')));
    await initPki(join(dir, 'b'));
    const after = await Promise.all(Object.values(p).slice(1).map((f) => readFile(f, 'utf8')));
    expect(after).toEqual(before);
  });

  it('reissues a missing admin certificate from the existing CA', async () => {
    const p = await initPki(join(dir, 'c'));
    const caPem = await readFile(p.caCert, 'utf8');
    const oldAdmin = await readFile(p.adminCert, 'utf8');
    await unlink(p.adminCert);
    await initPki(join(dir, 'c'));
    expect(await readFile(p.caCert, 'utf8')).toBe(caPem);
    const admin = new X509Certificate(await readFile(p.adminCert, 'utf8'));
    expect(admin.toString()).not.toBe(oldAdmin);
    expect(admin.checkIssued(new X509Certificate(caPem))).toBe(true);
    expect(admin.checkPrivateKey(createPrivateKey(await readFile(p.adminKey, 'utf8')))).toBe(true);
  });
});
