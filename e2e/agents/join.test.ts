// Joining a node and what its certificate may do: token → CSR over the join port (the CA pinned by
// hash) → a node certificate; refused tokens get UNAUTHENTICATED; node certificates reach only the
// agent stream, and admins cannot open one.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { credentials, Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiClient } from '../../lib/client/client.js';
import { ApiError } from '../../lib/client/errors.js';
import { OperationsClient } from '../../lib/client/operations.js';
import { AgentsClient } from '../../lib/gen/persys/v1/agent.js';
import { caCertHash, createCsr } from '../../lib/pki/index.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { callJoin, joinAsNode, joinClient, TestAgent } from './test-agent.js';

let api: TestApiServer;
let ops: OperationsClient;
let caPem: string;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  ops = new OperationsClient(api.config);
  caPem = readFileSync(api.pki.caCert, 'utf8');
});
afterAll(async () => {
  ops?.close();
  await api?.stop();
});

/** The certificates the join port presents, leaf first, read without trusting anything. */
function presentedChain(port: number): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const out: X509Certificate[] = [];
      const seen = new Set<string>();
      for (let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
        seen.add(c.fingerprint256);
        out.push(new X509Certificate(c.raw));
      }
      socket.end();
      resolve(out);
    });
    socket.once('error', reject);
  });
}

async function joinError(token: string, node = 'n-refused'): Promise<ServiceError> {
  const { csrPem } = await createCsr('whatever');
  const client = joinClient(api, caPem);
  try {
    await callJoin(client, token, node, csrPem);
  } catch (e) {
    return e as ServiceError;
  } finally {
    client.close();
  }
  throw new Error('join unexpectedly succeeded');
}

describe('join', () => {
  it('creates a token whose Secret holds only the hash of its secret, and a join command naming the CA hash', async () => {
    const res = await ops.createJoinToken({ ttlSeconds: 3600, description: 'rack 4' });
    expect(res.token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(res.caCertHash).toBe(caCertHash(caPem));
    expect(res.joinCommand).toContain(`--token ${res.token}`);
    expect(res.joinCommand).toContain(`--ca-cert-hash ${res.caCertHash}`);
    expect(res.joinCommand).toContain(`--server 127.0.0.1:${api.server.port}`);
    expect(Date.parse(res.expiresAt) - Date.now()).toBeGreaterThan(3500_000);
    const [id, secret] = res.token.split('.') as [string, string];
    const stored = await api.client.get('Secret', `join-token-${id}`, 'persys-system');
    expect(stored['type']).toBe('persys.dev/join-token');
    const values = Object.values(stored['data'] as Record<string, string>).map((v) => Buffer.from(v, 'base64').toString());
    expect(values).toContain(createHash('sha256').update(secret).digest('hex'));
    expect(values).toContain('rack 4');
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it('presents the server certificate followed by the CA, so a node can pin the CA by hash', async () => {
    const chain = await presentedChain(api.server.joinPort);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(chain[0]!.ca).toBe(false);
    const pinned = chain.slice(1).find((c) => c.ca && caCertHash(c.toString()) === caCertHash(caPem));
    expect(pinned, 'the CA must be in the presented chain').toBeDefined();
    expect(chain[0]!.checkIssued(pinned!)).toBe(true);
  });

  it('signs the CSR for CN=system:node:NAME, O=system:nodes with a valid token', async () => {
    const { token } = await ops.createJoinToken();
    // The requested subject is ignored: the node name decides who the key belongs to.
    const { csrPem } = await createCsr('admin');
    const client = joinClient(api, caPem);
    const res = await callJoin(client, token, 'worker-1', csrPem).finally(() => client.close());
    const cert = new X509Certificate(res.certificatePem);
    expect(cert.subject).toContain('CN=system:node:worker-1');
    expect(cert.subject).toContain('O=system:nodes');
    expect(cert.verify(new X509Certificate(caPem).publicKey)).toBe(true);
    expect(caCertHash(res.caCertificatePem)).toBe(caCertHash(caPem));
  });

  it.each([
    ['garbage', 'not-a-token', /malformed/],
    ['an unknown id', 'zzzzzz.0123456789abcdef', /unknown/],
  ])('refuses %s with UNAUTHENTICATED', async (_what, token, message) => {
    const err = await joinError(token);
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.details).toMatch(message);
  });

  it('refuses a known id with the wrong secret, and a deleted (revoked) token, with UNAUTHENTICATED', async () => {
    const { token } = await ops.createJoinToken();
    const [id, secret] = token.split('.') as [string, string];
    const wrong = `${id}.${secret.slice(1)}${secret[0] === 'a' ? 'b' : 'a'}`;
    const err = await joinError(wrong);
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.details).toMatch(/wrong secret/);
    await api.client.delete('Secret', `join-token-${id}`, 'persys-system');
    expect((await joinError(token)).code).toBe(Code.UNAUTHENTICATED);
  });

  it('refuses an expired token with UNAUTHENTICATED and issues nothing', async () => {
    const { token } = await ops.createJoinToken({ ttlSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1_100));
    const err = await joinError(token);
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.details).toMatch(/expired/);
  });

  it('refuses a node name that is not a DNS subdomain, and a broken CSR, with INVALID_ARGUMENT', async () => {
    const { token } = await ops.createJoinToken();
    expect((await joinError(token, 'Bad_Name')).code).toBe(Code.INVALID_ARGUMENT);
    const client = joinClient(api, caPem);
    const err = await callJoin(client, token, 'ok-name', 'not a csr').then(() => undefined, (e: ServiceError) => e).finally(() => client.close());
    expect(err?.code).toBe(Code.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/csr_pem/);
  });

  it('answers UNAVAILABLE on a server started without the CA key', async () => {
    const keyless = await startTestApiServer(inject('etcdEndpoint'), { withoutCaKey: true });
    try {
      const { token } = await new OperationsClient(keyless.config).createJoinToken();
      const { csrPem } = await createCsr('x');
      const client = joinClient(keyless, readFileSync(keyless.pki.caCert, 'utf8'));
      const err = await callJoin(client, token, 'n1', csrPem).then(() => undefined, (e: ServiceError) => e).finally(() => client.close());
      expect(err?.code).toBe(Code.UNAVAILABLE);
      expect(err?.details).toMatch(/cannot sign node certificates/);
    } finally {
      await keyless.stop();
    }
  });
});

describe('authorization', () => {
  it('refuses a node certificate on Resources and Operations with PERMISSION_DENIED, writing nothing', async () => {
    const creds = await joinAsNode(api, caPem, 'nosy');
    const dir = api.dir;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/nosy.crt`, creds.certPem);
    writeFileSync(`${dir}/nosy.key`, creds.keyPem);
    const cfg = { ...api.config, clientCert: `${dir}/nosy.crt`, clientKey: `${dir}/nosy.key` };
    const asNode = new ApiClient(cfg);
    const nodeOps = new OperationsClient(cfg);
    try {
      for (const call of [
        () => asNode.list('Container'),
        () => asNode.create({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'from-node', namespace: 'default' }, stringData: { a: 'b' } }),
        () => nodeOps.createJoinToken(),
        () => nodeOps.top('nodes'),
      ]) {
        const err = (await call().then(() => undefined, (e: unknown) => e)) as ApiError;
        expect(err).toBeInstanceOf(ApiError);
        expect(err.code).toBe(Code.PERMISSION_DENIED);
        expect(err.message).toContain('node certificates may only use the agent stream');
      }
      const secrets = (await api.client.list('Secret', { namespace: 'default' })).items.map((s) => s.metadata.name);
      expect(secrets).not.toContain('from-node');
    } finally {
      asNode.close();
      nodeOps.close();
    }
  });

  it('refuses the admin certificate on the agent stream with PERMISSION_DENIED', async () => {
    const admin = {
      caPem,
      certPem: readFileSync(api.pki.adminCert, 'utf8'),
      keyPem: readFileSync(api.pki.adminKey, 'utf8'),
    };
    const agent = new TestAgent(api, admin);
    agent.hello();
    const err = await agent.ended;
    agent.close();
    expect(err?.code).toBe(Code.PERMISSION_DENIED);
    expect(err?.details).toMatch(/only node certificates/);
  });

  it('does not serve Join on the mTLS port, nor the Resources API on the join port', async () => {
    const { token } = await ops.createJoinToken();
    const { csrPem } = await createCsr('x');
    const onApiPort = new AgentsClient(
      `127.0.0.1:${api.server.port}`,
      credentials.createSsl(Buffer.from(caPem), readFileSync(api.pki.adminKey), readFileSync(api.pki.adminCert)),
    );
    const err = await new Promise<ServiceError | null>((r) =>
      onApiPort.join({ token, nodeName: 'x', csrPem }, new Metadata(), { deadline: Date.now() + 10_000 }, (e) => r(e)),
    ).finally(() => onApiPort.close());
    expect(err?.code).toBe(Code.UNIMPLEMENTED);

    const onJoinPort = new ApiClient({ ...api.config, server: `127.0.0.1:${api.server.joinPort}` });
    const listErr = (await onJoinPort.list('Secret').then(() => undefined, (e: unknown) => e)) as ApiError;
    onJoinPort.close();
    expect(listErr.code).toBe(Code.UNIMPLEMENTED);
  });
});
