// `persys pki rotate-server` against a running API server: new connections on both ports get the new
// certificate within the poll interval, an open agent stream stays up, and a pair whose key does not
// match is never taken into use.
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { joinAsNode, TestAgent } from '../agents/test-agent.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/wait.js';
import { ApiClient } from '../../lib/client/client.js';
import { captureIo } from '../../lib/cli/io.js';
import { certificateInfo, createCa, issueCertificate, normalizeSerial } from '../../lib/pki/index.js';
import { main } from '../../cmd/commands.js';

let api: TestApiServer;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'), { serverOptions: { servingCertPollMs: 200 } });
});
afterAll(async () => api?.stop());

/** The serial of the certificate a new TLS connection to `port` is served (as the admin client). */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(api.pki.caCert),
      cert: readFileSync(api.pki.adminCert),
      key: readFileSync(api.pki.adminKey),
      ALPNProtocols: ['h2'],
      checkServerIdentity: () => undefined,
    });
    socket.once('secureConnect', () => {
      const c = socket.getPeerCertificate(true) as DetailedPeerCertificate;
      socket.end();
      resolve(normalizeSerial(c.serialNumber));
    });
    socket.once('error', reject);
  });
}

describe('persys pki rotate-server', () => {
  it('serves the new certificate on both ports without dropping an open agent stream', async () => {
    const caPem = readFileSync(api.pki.caCert, 'utf8');
    const agent = new TestAgent(api, await joinAsNode(api, caPem, 'rotate-1'));
    agent.hello();
    await agent.desired();
    const before = certificateInfo(readFileSync(api.pki.serverCert));
    expect(await servedSerial(api.server.port)).toBe(before.serial);

    const io = captureIo();
    expect(await main(['pki', 'rotate-server', '--data-dir', api.dir], io, { env: {} })).toBe(0);
    expect(io.stdout()).toContain('server certificate renewed with a new key');
    expect(io.stdout()).toContain('picks it up within 10 s');
    const after = certificateInfo(readFileSync(api.pki.serverCert));
    expect(after.serial).not.toBe(before.serial);
    expect(after.hosts).toEqual(before.hosts);

    await waitFor(async () => (await servedSerial(api.server.port)) === after.serial, 'the API port serving the new certificate');
    await waitFor(async () => (await servedSerial(api.server.joinPort)) === after.serial, 'the join port serving the new certificate');
    // A new client verifies the new certificate against the CA for 127.0.0.1.
    const client = new ApiClient(api.config);
    try {
      expect((await client.list('Namespace')).items.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
    // The stream opened before the rotation is still there and still renews its Lease.
    agent.heartbeat();
    await waitFor(async () => (await api.client.get('Lease', 'rotate-1', 'persys-node-lease').catch(() => undefined))?.spec?.renewTime, 'a Lease renewal after the rotation');
    expect(api.server.agents.session('rotate-1')).toBeDefined();
    agent.close();
  });

  it('keeps the current pair when the key does not match the certificate', async () => {
    const current = await servedSerial(api.server.port);
    const stranger = await issueCertificate(await createCa(), { commonName: 'persys-apiserver', usage: 'server', hosts: ['127.0.0.1'] });
    const keep = readFileSync(api.pki.serverCert);
    writeFileSync(api.pki.serverCert, stranger.certPem);
    try {
      expect(await api.server.reloadServingCertificate()).toBe(false);
      expect(await servedSerial(api.server.port)).toBe(current);
    } finally {
      writeFileSync(api.pki.serverCert, keep);
    }
    expect(await api.server.reloadServingCertificate()).toBe(false);
  });
});
