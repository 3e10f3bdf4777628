// The agent process as `persys agent` assembles it, on this machine's Docker engine against a real API
// server: its /metrics carries the build info and, from the first heartbeat on, the node's usage; and it
// programs Service VIPs (into a network namespace of the test's own) even with its DNS server off.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createJoinToken } from '../apiserver/agents/tokens.js';
import { ensureDocker } from '../e2e/harness/docker.js';
import { startTestApiServer, type TestApiServer } from '../e2e/harness/apiserver.js';
import { waitFor } from '../e2e/harness/wait.js';
import { caCertHash } from '../lib/pki/index.js';
import { startNodeAgent } from './run.js';
import { iptablesHost } from './vip/iptables.js';

const run = promisify(execFile);

const NODE = `run-metrics-${process.pid}`;
let api: TestApiServer;
let dataDir: string;

beforeAll(async () => {
  await ensureDocker();
  api = await startTestApiServer(inject('etcdEndpoint'));
  dataDir = mkdtempSync(join(tmpdir(), 'persys-agent-run-'));
});
afterAll(async () => {
  await api?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('startNodeAgent', () => {
  it("serves persys_build_info and the node's usage on /metrics once it sends heartbeats", async () => {
    const { token } = await createJoinToken(api.server.store, { ttlSeconds: 600, description: 'run metrics test' });
    const running = await startNodeAgent({
      nodeName: NODE,
      servers: [api.config.server],
      joinServer: `127.0.0.1:${api.server.joinPort}`,
      token,
      caCertHash: caCertHash(readFileSync(api.pki.caCert, 'utf8')),
      dataDir,
      heartbeatIntervalMs: 200,
      metricsListen: '127.0.0.1:0',
    });
    try {
      const metrics = await waitFor(async () => {
        const text = await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text();
        return text.includes(`persys_node_memory_usage_bytes{node="${NODE}"}`) ? text : undefined;
      }, 'usage on /metrics');
      expect(metrics).toMatch(/^persys_build_info\{version="[^"]+",node_version="v[^"]+",platform="linux\/[^"]+"\} 1$/m);
      const memory = Number(new RegExp(`^persys_node_memory_usage_bytes\\{node="${NODE}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
      expect(memory).toBeGreaterThan(1024 * 1024);
      expect(metrics).toMatch(new RegExp(`^persys_node_cpu_usage_percent\\{node="${NODE}"\\} [\\d.]+$`, 'm'));
      expect(metrics).toMatch(/^persys_agent_stream_connected 1$/m);
    } finally {
      await running.stop();
    }
  });
});

describe('startNodeAgent with --dns-listen off and --proxy-mode iptables', () => {
  const netns = `persys-run-${process.pid}`;
  const netnsPath = `/var/run/netns/${netns}`;
  beforeAll(async () => {
    await run('ip', ['netns', 'add', netns]);
  });
  afterAll(async () => {
    await run('ip', ['netns', 'del', netns]).catch(() => undefined);
  });

  it("is sent Services and EndpointSlices and writes a Service's VIP rule", async () => {
    const node = `${NODE}-vip`;
    const { token } = await createJoinToken(api.server.store, { ttlSeconds: 600, description: 'run vip test' });
    const running = await startNodeAgent({
      nodeName: node,
      servers: [api.config.server],
      joinServer: `127.0.0.1:${api.server.joinPort}`,
      token,
      caCertHash: caCertHash(readFileSync(api.pki.caCert, 'utf8')),
      dataDir: mkdtempSync(join(dataDir, 'vip-')),
      heartbeatIntervalMs: 200,
      dnsListen: 'off',
      proxyMode: 'iptables',
      vipHost: iptablesHost(netnsPath),
    });
    try {
      const svc = await api.client.create({
        apiVersion: 'persys.dev/v1',
        kind: 'Service',
        metadata: { name: 'run-vip', namespace: 'default' },
        spec: { selector: { app: 'run-vip' }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      });
      const vip = svc.spec?.clusterIp as string;
      expect(vip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      await api.client.create({
        apiVersion: 'persys.dev/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'run-vip', namespace: 'default' },
        endpoints: [{ containerName: 'run-vip-0', nodeName: 'elsewhere', nodeAddress: '10.0.0.2', containerIp: '172.17.0.2', ready: true, ports: [{ name: 'http', port: 8080, hostPort: 32000, protocol: 'TCP' }] }],
      } as never);
      const rule = new RegExp(`-A PERSYS-SERVICES -d ${vip.replace(/\./g, '\\.')}/32 -p tcp .*--dport 80 `);
      await waitFor(async () => rule.test((await run('nsenter', [`--net=${netnsPath}`, 'iptables-save', '-t', 'nat'])).stdout) || undefined, `the VIP rule for ${vip}`);
      const status = (await api.client.get('Node', node)).status as { conditions?: { type: string; status: string }[] };
      expect(status.conditions?.find((c) => c.type === 'ServiceDNSReady')).toBeUndefined();
      await waitFor(async () => {
        const conditions = ((await api.client.get('Node', node)).status as typeof status).conditions ?? [];
        return conditions.find((c) => c.type === 'ServiceVIPsReady' && c.status === 'True');
      }, 'ServiceVIPsReady True');
    } finally {
      await running.stop();
      await api.client.delete('Service', 'run-vip', 'default').catch(() => undefined);
      await api.client.delete('EndpointSlice', 'run-vip', 'default').catch(() => undefined);
    }
  });
});
