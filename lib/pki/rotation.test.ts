// Short-lived certificates, renewal CSR checks, certificate inspection and server certificate rotation.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificateInfo,
  certificateMatchesKey,
  createCa,
  createCsr,
  CsrSubjectMismatchError,
  initPki,
  issueCertificate,
  rotateServerCertificate,
  signCsr,
  type CertBundle,
} from './index.js';

let ca: CertBundle;
beforeAll(async () => {
  ca = await createCa();
});

describe('validitySeconds', () => {
  it('issues a 60 s certificate backdated by a tenth of its life, not 5 minutes', async () => {
    const before = Date.now();
    const leaf = await issueCertificate(ca, { commonName: 'short', usage: 'client', validitySeconds: 60 });
    const info = certificateInfo(leaf.certPem);
    // X.509 times have a 1 s resolution.
    expect(info.notAfter.getTime()).toBeGreaterThanOrEqual(Math.floor((before + 60_000) / 1000) * 1000);
    expect(info.notAfter.getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(before - info.notBefore.getTime()).toBeLessThanOrEqual(7_000);
  });

  it('refuses a lifetime of 0', async () => {
    await expect(issueCertificate(ca, { commonName: 'x', usage: 'client', validitySeconds: 0 })).rejects.toThrow(/validitySeconds must be positive/);
  });
});

describe('certificateInfo', () => {
  it('reads serial, CN, O and hosts', async () => {
    const leaf = await issueCertificate(ca, { commonName: 'alice', organizations: ['dev', 'ops'], hosts: ['a.example', '10.1.2.3'], usage: 'both' });
    const info = certificateInfo(leaf.certPem);
    expect(info.commonName).toBe('alice');
    expect(info.organizations).toEqual(['dev', 'ops']);
    expect(info.hosts).toEqual(['a.example', '10.1.2.3']);
    expect(info.serial).toMatch(/^[0-9a-f]{32}$/);
    expect(certificateMatchesKey(leaf.certPem, leaf.keyPem)).toBe(true);
    expect(certificateMatchesKey(leaf.certPem, (await issueCertificate(ca, { commonName: 'b', usage: 'client' })).keyPem)).toBe(false);
  });
});

describe('signCsr with requireSubject', () => {
  it('signs a CSR that names exactly the required CN', async () => {
    const { csrPem } = await createCsr('system:node:n1');
    const pem = await signCsr(ca, csrPem, { commonName: 'system:node:n1', organizations: ['system:nodes'], requireSubject: { commonName: 'system:node:n1', organizations: ['system:nodes'] } });
    expect(certificateInfo(pem).commonName).toBe('system:node:n1');
  });

  it('refuses a CSR for another node', async () => {
    const { csrPem } = await createCsr('system:node:other');
    await expect(
      signCsr(ca, csrPem, { commonName: 'system:node:n1', requireSubject: { commonName: 'system:node:n1' } }),
    ).rejects.toThrow(CsrSubjectMismatchError);
  });
});

describe('rotateServerCertificate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'persys-rotate-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps CN, O and hosts, makes a new key and serial, key mode 0600', async () => {
    const paths = await initPki(dir, { serverHosts: ['api.example.internal', '10.0.0.5'] });
    const before = certificateInfo(await readFile(paths.serverCert));
    const oldKey = await readFile(paths.serverKey, 'utf8');
    const rotated = await rotateServerCertificate(dir);
    const after = certificateInfo(await readFile(paths.serverCert));
    expect(after.serial).not.toBe(before.serial);
    expect(after.serial).toBe(rotated.serial);
    expect(after.hosts).toEqual(before.hosts);
    expect(after.commonName).toBe('persys-apiserver');
    expect(after.organizations).toEqual(['system:apiservers']);
    const newKey = await readFile(paths.serverKey, 'utf8');
    expect(newKey).not.toBe(oldKey);
    expect(certificateMatchesKey(await readFile(paths.serverCert), newKey)).toBe(true);
    expect((await stat(paths.serverKey)).mode & 0o777).toBe(0o600);
  });

  it('says to run pki init when there is no PKI', async () => {
    await expect(rotateServerCertificate(join(dir, 'nothing'))).rejects.toThrow(/persys pki init/);
  });
});
