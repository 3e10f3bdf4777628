// The agent process as `persys agent` assembles it, on this machine's Docker engine against a real API
// server: its /metrics carries the build info and, from the first heartbeat on, the node's usage.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createJoinToken } from '../apiserver/agents/tokens.js';
import { ensureDocker } from '../e2e/harness/docker.js';
import { startTestApiServer, type TestApiServer } from '../e2e/harness/apiserver.js';
import { waitFor } from '../e2e/harness/wait.js';
import { caCertHash } from '../lib/pki/index.js';
import { startNodeAgent } from './run.js';

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
