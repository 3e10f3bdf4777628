// When a node certificate is renewed, and how a renewed pair is stored so that no crash leaves a
// key without its certificate.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueCertificate, type CertBundle } from '../lib/pki/index.js';
import { credentialPaths, ensureNodeCredentials, JoinError, loadCredentials, storeRenewedCredentials } from './join.js';
import { renewalTime } from './renewal.js';

describe('renewalTime', () => {
  const notBefore = new Date('2030-01-01T00:00:00Z');
  const notAfter = new Date('2030-01-31T00:00:00Z'); // 30 days
  it.each([
    [0, '2030-01-22T00:00:00.000Z'], // 70 %
    [0.5, '2030-01-25T00:00:00.000Z'], // 80 %
    [1, '2030-01-28T00:00:00.000Z'], // 90 %
    [7, '2030-01-28T00:00:00.000Z'], // a random source out of range is clamped
  ])('with random %s renews at %s', (r, at) => {
    expect(renewalTime(notBefore, notAfter, () => r).toISOString()).toBe(at);
  });

  it('renews a 60 s certificate 42-54 s after notBefore', () => {
    const nb = new Date(0);
    const na = new Date(60_000);
    expect(renewalTime(nb, na, () => 0).getTime()).toBe(42_000);
    expect(renewalTime(nb, na, () => 1).getTime()).toBe(54_000);
  });
});

describe('storeRenewedCredentials', () => {
  let ca: CertBundle;
  let dir: string;
  let first: CertBundle;
  let second: CertBundle;
  beforeAll(async () => {
    ca = await createCa();
    first = await issueCertificate(ca, { commonName: 'system:node:n', organizations: ['system:nodes'], usage: 'client' });
    second = await issueCertificate(ca, { commonName: 'system:node:n', organizations: ['system:nodes'], usage: 'client' });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const joined = () => {
    dir = mkdtempSync(join(tmpdir(), 'persys-renew-'));
    const p = credentialPaths(dir);
    writeFileSync(p.ca, ca.certPem);
    writeFileSync(p.key, first.keyPem, { mode: 0o600 });
    writeFileSync(p.cert, first.certPem);
    return p;
  };

  it('replaces key and certificate, the key readable by its owner only, with nothing left over', () => {
    const p = joined();
    storeRenewedCredentials(dir, { certPem: second.certPem, keyPem: second.keyPem, caPem: ca.certPem });
    expect(loadCredentials(dir)).toEqual({ certPem: second.certPem, keyPem: second.keyPem, caPem: ca.certPem });
    expect(statSync(p.key).mode & 0o777).toBe(0o600);
    expect(existsSync(`${p.key}.new`) || existsSync(`${p.cert}.new`)).toBe(false);
  });

  it('completes a renewal interrupted between the two renames', () => {
    const p = joined();
    writeFileSync(p.key, second.keyPem); // the key was renamed into place …
    writeFileSync(`${p.cert}.new`, second.certPem); // … the certificate not yet
    expect(loadCredentials(dir)?.certPem).toBe(second.certPem);
    expect(loadCredentials(dir)?.keyPem).toBe(second.keyPem);
  });

  it('completes a renewal whose files were both written but not renamed', () => {
    const p = joined();
    writeFileSync(`${p.key}.new`, second.keyPem);
    writeFileSync(`${p.cert}.new`, second.certPem);
    expect(loadCredentials(dir)?.certPem).toBe(second.certPem);
  });

  it('drops a renewal interrupted while writing, keeping the old pair', () => {
    const p = joined();
    writeFileSync(`${p.key}.new`, second.keyPem);
    writeFileSync(`${p.cert}.new`, second.certPem.slice(0, 100)); // cut off
    expect(loadCredentials(dir)).toEqual({ certPem: first.certPem, keyPem: first.keyPem, caPem: ca.certPem });
    expect(readFileSync(p.key, 'utf8')).toBe(first.keyPem);
    expect(existsSync(`${p.key}.new`) || existsSync(`${p.cert}.new`)).toBe(false);
  });
});

describe('an expired node certificate', () => {
  it('is refused at start without a token, with the way back in the message', async () => {
    const ca = await createCa();
    const leaf = await issueCertificate(ca, { commonName: 'system:node:late', organizations: ['system:nodes'], usage: 'client', validitySeconds: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'persys-expired-'));
    try {
      const p = credentialPaths(dir);
      writeFileSync(p.ca, ca.certPem);
      writeFileSync(p.key, leaf.keyPem);
      writeFileSync(p.cert, leaf.certPem);
      await new Promise((r) => setTimeout(r, 1_200));
      const joining = ensureNodeCredentials({ dataDir: dir, nodeName: 'late', joinServer: '127.0.0.1:1' });
      await expect(joining).rejects.toThrow(JoinError);
      await expect(joining).rejects.toThrow(/expired at .*: start the agent with a new --token/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
