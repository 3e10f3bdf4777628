// The join's CA pinning against a real TLS server presenting [server cert, CA cert], and the use of
// credentials already stored in the data dir.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caCertHash, createCa, issueCertificate, type CertBundle } from '../lib/pki/index.js';
import { CaPinMismatchError, credentialPaths, ensureNodeCredentials, fetchPinnedCa, JoinError } from './join.js';

let ca: CertBundle;
let otherCa: CertBundle;
const servers: Server[] = [];
const dirs: string[] = [];

async function tlsServer(signer: CertBundle, presentCa = true): Promise<string> {
  const leaf = await issueCertificate(signer, { commonName: 'apiserver', hosts: ['127.0.0.1', 'localhost'], usage: 'server' });
  const server = createServer({ key: leaf.keyPem, cert: presentCa ? `${leaf.certPem}\n${signer.certPem}` : leaf.certPem }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'persys-join-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  ca = await createCa('cluster-ca');
  otherCa = await createCa('attacker-ca');
});

afterAll(() => {
  for (const s of servers) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('fetchPinnedCa', () => {
  it('returns the presented CA when its hash matches the pin', async () => {
    const addr = await tlsServer(ca);
    const pem = await fetchPinnedCa(addr, caCertHash(ca.certPem));
    expect(caCertHash(pem)).toBe(caCertHash(ca.certPem));
  });

  it('refuses a join port whose CA does not match the pin, naming both hashes', async () => {
    const addr = await tlsServer(otherCa);
    const err = await fetchPinnedCa(addr, caCertHash(ca.certPem)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaPinMismatchError);
    expect((err as Error).message).toContain(caCertHash(otherCa.certPem));
    expect((err as Error).message).toContain(caCertHash(ca.certPem));
  });

  it('refuses a wrong hash even when the server is genuine', async () => {
    const addr = await tlsServer(ca);
    await expect(fetchPinnedCa(addr, 'sha256:' + '0'.repeat(64))).rejects.toBeInstanceOf(CaPinMismatchError);
  });

  it('does not accept the pinned hash for the leaf when no CA is presented', async () => {
    const addr = await tlsServer(ca, false);
    await expect(fetchPinnedCa(addr, caCertHash(ca.certPem))).rejects.toThrow(/no CA certificate/);
  });

  it('reports an unreachable join port as a JoinError', async () => {
    const addr = await tlsServer(ca);
    const port = Number(addr.split(':')[1]);
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    await expect(fetchPinnedCa(`127.0.0.1:${port}`, caCertHash(ca.certPem), 2_000)).rejects.toBeInstanceOf(JoinError);
  });
});

describe('ensureNodeCredentials', () => {
  it('uses the stored certificate, key and CA without contacting any server', async () => {
    const dir = tempDir();
    const node = await issueCertificate(ca, { commonName: 'system:node:n1', organizations: ['system:nodes'], usage: 'client' });
    const p = credentialPaths(dir);
    writeFileSync(p.cert, node.certPem);
    writeFileSync(p.key, node.keyPem, { mode: 0o600 });
    writeFileSync(p.ca, ca.certPem);
    const creds = await ensureNodeCredentials({ dataDir: dir, nodeName: 'n1', joinServer: '127.0.0.1:1' });
    expect(creds).toEqual({ certPem: node.certPem, keyPem: node.keyPem, caPem: ca.certPem });
    expect(statSync(p.key).mode & 0o777).toBe(0o600);
  });

  it("refuses stored credentials of another node's name", async () => {
    const dir = tempDir();
    const node = await issueCertificate(ca, { commonName: 'system:node:n1', usage: 'client' });
    const p = credentialPaths(dir);
    writeFileSync(p.cert, node.certPem);
    writeFileSync(p.key, node.keyPem);
    writeFileSync(p.ca, ca.certPem);
    await expect(ensureNodeCredentials({ dataDir: dir, nodeName: 'n2', joinServer: '127.0.0.1:1' })).rejects.toThrow(
      /system:node:n1, not of node n2/,
    );
  });

  it('needs a token and a CA hash when nothing is stored', async () => {
    const dir = tempDir();
    await expect(ensureNodeCredentials({ dataDir: dir, nodeName: 'n1', joinServer: '127.0.0.1:1' })).rejects.toThrow(/--token/);
    await expect(
      ensureNodeCredentials({ dataDir: dir, nodeName: 'n1', joinServer: '127.0.0.1:1', token: 'a.b' }),
    ).rejects.toThrow(/--ca-cert-hash/);
  });

  it('refuses to send the token to a join port presenting a CA other than the pinned one', async () => {
    const dir = tempDir();
    const addr = await tlsServer(otherCa);
    await expect(
      ensureNodeCredentials({ dataDir: dir, nodeName: 'n1', joinServer: addr, token: 'a.b', caCertHash: caCertHash(ca.certPem) }),
    ).rejects.toBeInstanceOf(CaPinMismatchError);
  });
});
