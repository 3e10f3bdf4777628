// Node certificate renewal as `persys agent` does it, on this machine's Docker engine against a real API
// server that signs 60 s certificates: the agent renews over its stream (after 4 s here, through the
// test option), stores the new pair, reconnects with it, and its container and Lease never notice.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type Dockerode from 'dockerode';
import { createJoinToken } from '../apiserver/agents/tokens.js';
import { ensureDocker, removeNamespaceContainers, TEST_IMAGE } from '../e2e/harness/docker.js';
import { startTestApiServer, type TestApiServer } from '../e2e/harness/apiserver.js';
import { waitFor } from '../e2e/harness/wait.js';
import { caCertHash, certificateInfo } from '../lib/pki/index.js';
import { credentialPaths } from './join.js';
import { startNodeAgent } from './run.js';

const NODE = `renew-docker-${process.pid}`;
const NS = `renewal-${process.pid}`;
let api: TestApiServer;
let docker: Dockerode;
let dataDir: string;

beforeAll(async () => {
  docker = await ensureDocker();
  api = await startTestApiServer(inject('etcdEndpoint'), { serverOptions: { nodeCertTtlSeconds: 60 } });
  dataDir = mkdtempSync(join(tmpdir(), 'persys-agent-renew-'));
});
afterAll(async () => {
  await removeNamespaceContainers([docker], NS);
  await api?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const metric = async (port: number, name: string) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} ([\\d.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

describe('node certificate renewal', () => {
  it('renews a 60 s certificate over the stream and reconnects with it while its container keeps running and the node stays Ready', async () => {
    const { token } = await createJoinToken(api.server.store, { ttlSeconds: 600, description: 'renewal test' });
    const running = await startNodeAgent({
      nodeName: NODE,
      servers: [api.config.server],
      joinServer: `127.0.0.1:${api.server.joinPort}`,
      token,
      caCertHash: caCertHash(readFileSync(api.pki.caCert, 'utf8')),
      dataDir,
      heartbeatIntervalMs: 300,
      metricsListen: '127.0.0.1:0',
      certificateRenewAfterMs: 4_000,
    });
    try {
      const port = running.metricsPort!;
      const first = certificateInfo(readFileSync(credentialPaths(dataDir).cert));
      expect((first.notAfter.getTime() - Date.now()) / 1000).toBeLessThanOrEqual(60);
      expect(await metric(port, 'persys_agent_certificate_expiry_timestamp_seconds')).toBe(first.notAfter.getTime() / 1000);

      await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
      await api.client.create({
        apiVersion: 'persys.dev/v1',
        kind: 'Container',
        metadata: { name: 'steady', namespace: NS },
        spec: { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"], nodeName: NODE },
      });
      const before = await waitFor(async () => {
        const [c] = await docker.listContainers({ filters: { label: [`dev.persys.namespace=${NS}`] } });
        return c?.State === 'running' ? await docker.getContainer(c.Id).inspect() : undefined;
      }, 'the container running');

      // The renewed pair lands in the data dir, and the agent opens its next stream with it.
      const renewed = await waitFor(() => {
        const info = certificateInfo(readFileSync(credentialPaths(dataDir).cert));
        return info.serial !== first.serial ? info : undefined;
      }, 'a renewed node certificate', 30_000, 100);
      expect(renewed.commonName).toBe(`system:node:${NODE}`);
      expect(renewed.notAfter.getTime()).toBeGreaterThan(first.notAfter.getTime());
      await waitFor(async () => (await metric(port, 'persys_agent_stream_connects_total{result="connected"}')) === 2, 'a reconnect with the new certificate');
      await waitFor(async () => (await metric(port, 'persys_agent_stream_connected')) === 1, 'the stream up again');
      expect(await metric(port, 'persys_agent_certificate_expiry_timestamp_seconds')).toBeGreaterThanOrEqual(renewed.notAfter.getTime() / 1000);
      expect(await metric(port, 'persys_agent_certificate_renewals_total{result="renewed"}')).toBeGreaterThanOrEqual(1);
      const record = await api.client.get('ConfigMap', `node-certificates-${NODE}`, 'persys-system');
      expect(Object.keys(record['data'] as object)).toContain(renewed.serial);

      // The container was never touched; the Lease kept being renewed; the node is Ready.
      const after = await docker.getContainer(before.Id).inspect();
      expect(after.State.Running).toBe(true);
      expect(after.State.StartedAt).toBe(before.State.StartedAt);
      const renewTime = (await api.client.get('Lease', NODE, 'persys-node-lease')).spec?.renewTime;
      await waitFor(async () => (await api.client.get('Lease', NODE, 'persys-node-lease')).spec?.renewTime !== renewTime, 'a Lease renewal on the new stream');
      const lease = await api.client.get('Lease', NODE, 'persys-node-lease');
      expect(lease.metadata.annotations?.['persys.dev/agent-stream-lost']).toBeUndefined();
      const node = await api.client.get('Node', NODE);
      expect((node.status?.conditions as { type: string; status: string }[]).find((c) => c.type === 'Ready')?.status).toBe('True');
      expect((await api.client.get('Container', 'steady', NS)).status?.phase).toBe('Running');
    } finally {
      await running.stop();
    }
  });
});
