// Node certificate lifetime, renewal over the agent stream, revocation and the collection of expired
// join tokens, against a real API server on real etcd, with a real gRPC peer as the agent.
import { readFileSync } from 'node:fs';
import { status as Code } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OperationsClient } from '../../lib/client/operations.js';
import { captureIo } from '../../lib/cli/io.js';
import { main } from '../../cmd/commands.js';
import { certificateInfo, createCsr } from '../../lib/pki/index.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/wait.js';
import { joinAsNode, TestAgent, type NodeCredentials } from './test-agent.js';

const TTL_SECONDS = 600;
let api: TestApiServer;
let ops: OperationsClient;
let caPem: string;

const PREFIX = `/test-certs-${process.pid}`;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'), {
    etcdPrefix: PREFIX,
    serverOptions: { nodeCertTtlSeconds: TTL_SECONDS, credentialGcIntervalMs: 3_600_000 },
  });
  ops = new OperationsClient(api.config);
  caPem = readFileSync(api.pki.caCert, 'utf8');
});
afterAll(async () => {
  ops?.close();
  await api?.stop();
});

/** A connected agent: Hello sent and the desired state received. */
async function connected(creds: NodeCredentials): Promise<TestAgent> {
  const agent = new TestAgent(api, creds);
  agent.hello();
  await agent.desired();
  return agent;
}

/** Sends a CertificateRenewal for a CSR naming `cn`; resolves with the answer. */
async function renew(agent: TestAgent, cn: string) {
  const from = agent.received.length;
  const { csrPem, keyPem } = await createCsr(cn);
  agent.send({ $case: 'renewal', value: { csrPem } });
  const answer = await agent.waitFor((m) => (m.message?.$case === 'certificate' ? m.message.value : undefined), from);
  return { ...answer, keyPem };
}

const record = (node: string) => api.client.get('ConfigMap', `node-certificates-${node}`, 'persys-system');

describe('node certificates', () => {
  it('are signed at join for --node-cert-ttl and recorded by serial', async () => {
    const creds = await joinAsNode(api, caPem, 'life-1');
    const info = certificateInfo(creds.certPem);
    const lifetime = (info.notAfter.getTime() - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(TTL_SECONDS - 5);
    expect(lifetime).toBeLessThanOrEqual(TTL_SECONDS + 1);
    const stored = await record('life-1');
    expect(Object.keys(stored['data'] as object)).toEqual([info.serial]);
  });

  it('renews over the stream for the same node, keeping the stream and the Lease; the new one has a later notAfter', async () => {
    const creds = await joinAsNode(api, caPem, 'renew-1');
    const agent = await connected(creds);
    agent.heartbeat();
    await waitFor(async () => (await api.client.get('Lease', 'renew-1', 'persys-node-lease').catch(() => undefined))?.spec?.renewTime, 'the node Lease');
    await new Promise((r) => setTimeout(r, 1100)); // notAfter has a 1 s resolution
    const answer = await renew(agent, 'system:node:renew-1');
    expect(answer.error).toBe('');
    const next = certificateInfo(answer.certificatePem);
    const old = certificateInfo(creds.certPem);
    expect(next.commonName).toBe('system:node:renew-1');
    expect(next.organizations).toEqual(['system:nodes']);
    expect(next.notAfter.getTime()).toBeGreaterThan(old.notAfter.getTime());
    expect(next.serial).not.toBe(old.serial);
    expect(answer.caCertificatePem).toBe(caPem);
    expect(Object.keys((await record('renew-1'))['data'] as object).sort()).toEqual([old.serial, next.serial].sort());
    // The stream is still the same one, and still renews the Lease.
    const before = (await api.client.get('Lease', 'renew-1', 'persys-node-lease')).spec?.renewTime;
    await new Promise((r) => setTimeout(r, 1100));
    agent.heartbeat();
    await waitFor(async () => (await api.client.get('Lease', 'renew-1', 'persys-node-lease')).spec?.renewTime !== before, 'a Lease renewal after the certificate renewal');
    // The new certificate opens a stream of its own.
    agent.close();
    const again = await connected({ certPem: answer.certificatePem, keyPem: answer.keyPem, caPem });
    again.close();
  });

  it('refuses a renewal CSR for another node on the stream, and the stream stays open', async () => {
    const creds = await joinAsNode(api, caPem, 'renew-2');
    const agent = await connected(creds);
    const answer = await renew(agent, 'system:node:someone-else');
    expect(answer.certificatePem).toBe('');
    expect(answer.error).toMatch(/^PERMISSION_DENIED: csr_pem: the CSR asks for CN=system:node:someone-else, but its sender is system:node:renew-2/);
    const ok = await renew(agent, 'system:node:renew-2');
    expect(ok.error).toBe('');
    agent.close();
  });
});

describe('persys node revoke', () => {
  it('closes the stream at once and refuses reconnects with UNAUTHENTICATED naming the revocation, until the node joins again', async () => {
    const creds = await joinAsNode(api, caPem, 'revoke-1');
    const agent = await connected(creds);
    const renewed = await renew(agent, 'system:node:revoke-1');
    const res = await ops.revokeNode('revoke-1');
    const serials = [certificateInfo(creds.certPem).serial, certificateInfo(renewed.certificatePem).serial].sort();
    expect(res.serials).toEqual(serials);

    const ended = await agent.ended;
    expect(ended?.code).toBe(Code.UNAUTHENTICATED);
    expect(ended?.details).toBe(`certificate serial ${certificateInfo(creds.certPem).serial} of node revoke-1 was revoked at ${res.revokedAt}: the node must join again with a new token`);

    for (const c of [creds, { certPem: renewed.certificatePem, keyPem: renewed.keyPem, caPem }]) {
      const retry = new TestAgent(api, c);
      retry.hello();
      const err = await retry.ended;
      expect(err?.code).toBe(Code.UNAUTHENTICATED);
      expect(err?.details).toMatch(/^certificate serial [0-9a-f]+ of node revoke-1 was revoked at .*: the node must join again with a new token$/);
      retry.close();
    }

    // A new token, a new certificate: the node is back.
    const fresh = await connected(await joinAsNode(api, caPem, 'revoke-1'));
    fresh.close();
  });

  it('is what `persys node revoke NAME` does, printing the serials denied', async () => {
    const creds = await joinAsNode(api, caPem, 'revoke-cli');
    const agent = await connected(creds);
    const io = captureIo();
    const cfg = api.config;
    const code = await main(
      ['node', 'revoke', 'revoke-cli', '--server', cfg.server, '--ca-cert', cfg.caCert, '--client-cert', cfg.clientCert, '--client-key', cfg.clientKey],
      io,
      { env: {} },
    );
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    expect(io.stdout()).toMatch(new RegExp(`^node/revoke-cli revoked at \\S+: certificate serial ${certificateInfo(creds.certPem).serial} denied until expiry\\n$`));
    expect((await agent.ended)?.code).toBe(Code.UNAUTHENTICATED);
  });

  it('closes the stream another API server holds, which sees the revocation through its watch cache', async () => {
    const other = await startTestApiServer(inject('etcdEndpoint'), { etcdPrefix: PREFIX, pki: api.pki });
    try {
      const agent = new TestAgent(other, await joinAsNode(api, caPem, 'revoke-far'));
      agent.hello();
      await agent.desired();
      await ops.revokeNode('revoke-far');
      const ended = await agent.ended;
      expect(ended?.code).toBe(Code.UNAUTHENTICATED);
      expect(ended?.details).toMatch(/of node revoke-far was revoked at/);
    } finally {
      await other.stop();
    }
  });

  it('says NOT_FOUND for a node that never joined', async () => {
    await expect(ops.revokeNode('never-joined')).rejects.toMatchObject({ code: Code.NOT_FOUND });
  });

  it('drops revocation entries once their certificates have expired', async () => {
    const creds = await joinAsNode(api, caPem, 'revoke-2');
    await ops.revokeNode('revoke-2');
    await api.server.collectCredentials();
    expect(Object.keys((await record('revoke-2'))['data'] as object)).toEqual([certificateInfo(creds.certPem).serial]);
    // As seen after notAfter: nothing is left to deny, and the record goes.
    const later = new Date(Date.now() + (TTL_SECONDS + 60) * 1000);
    const { pruneNodeCertificates } = await import('../../apiserver/agents/node-certificates.js');
    expect(await pruneNodeCertificates(api.server.store, await record('revoke-2'), { identity: 'test', now: later })).toBe(true);
    await expect(record('revoke-2')).rejects.toMatchObject({ code: Code.NOT_FOUND });
  });
});

describe('expired join tokens', () => {
  it('are deleted by the collector; unexpired ones stay', async () => {
    const short = await ops.createJoinToken({ ttlSeconds: 1, description: 'short' });
    const long = await ops.createJoinToken({ ttlSeconds: 3600, description: 'long' });
    const secretOf = (t: string) => `join-token-${t.split('.')[0]}`;
    await new Promise((r) => setTimeout(r, 1500));
    const swept = await api.server.collectCredentials();
    expect(swept.tokens).toBeGreaterThanOrEqual(1);
    await expect(api.client.get('Secret', secretOf(short.token), 'persys-system')).rejects.toMatchObject({ code: Code.NOT_FOUND });
    expect((await api.client.get('Secret', secretOf(long.token), 'persys-system')).metadata.name).toBe(secretOf(long.token));
  });
});
