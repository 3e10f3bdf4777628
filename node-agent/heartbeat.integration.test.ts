// Liveness independent of work: the real AgentConnection against a real API server keeps renewing the
// node's Lease while every Docker stats call hangs, and the usage sampler keeps no more calls in flight
// than its concurrency. The engine is the only fake: one whose stats calls never answer.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { joinAsNode } from '../e2e/agents/test-agent.js';
import { startTestApiServer, type TestApiServer } from '../e2e/harness/apiserver.js';
import { waitFor } from '../e2e/harness/wait.js';
import { silentLogger } from '../lib/observability/logger.js';
import { AgentConnection } from './connection.js';
import type { DesiredStateConsumer } from './desired-router.js';
import type { DockerRuntime, ManagedContainer } from './docker/runtime.js';
import { RequestHandler } from './requests.js';
import { ContainerUsageLoop } from './usage-loop.js';
import { ContainerUsageSampler } from './usage.js';

const NODE = 'hb-hung-engine';
let api: TestApiServer;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
});
afterAll(async () => api?.stop());

const running = (i: number): ManagedContainer => ({
  id: `c${i}`, containerName: `c${i}`, uid: `u${i}`, kind: 'Container', namespace: 'ns', name: `c${i}`, image: 'img', state: 'running', exitCode: 0,
});

/** Takes the desired state and reports no status: this test is about the heartbeat alone. */
const quietConsumer: DesiredStateConsumer = { attach() {}, detach() {}, setDesired() {}, applyChange() {} };

describe('heartbeats with a hung engine', () => {
  it('renew the node Lease at every interval while every stats call hangs, with at most `concurrency` calls made', async () => {
    const creds = await joinAsNode(api, readFileSync(api.pki.caCert, 'utf8'), NODE);
    let statsCalls = 0;
    const hungEngine = {
      stats: () => (statsCalls++, new Promise<never>(() => undefined)),
      inspect: () => new Promise<never>(() => undefined),
    };
    const usage = new ContainerUsageLoop({
      sampler: new ContainerUsageSampler(hungEngine, { concurrency: 3, callTimeoutMs: 100 }),
      containers: async () => Array.from({ length: 20 }, (_, i) => running(i)),
      engineHealthy: () => true,
      intervalMs: 150,
    });
    const conn = new AgentConnection({
      servers: [api.config.server],
      credentials: creds,
      agent: quietConsumer,
      requests: new RequestHandler({} as DockerRuntime, async () => [], silentLogger()),
      nodeInfo: async () => ({ dockerVersion: '', addresses: [], labels: {}, os: 'linux', architecture: 'amd64', agentVersion: '' }),
      heartbeat: () => ({ containers: usage.snapshot(), dockerHealthy: true, dockerMessage: '', conditions: [] }),
      heartbeatIntervalMs: 200,
    });
    usage.start();
    conn.start();
    try {
      const renewals = new Set<string>();
      await waitFor(
        async () => {
          const lease = await api.client.get('Lease', NODE, 'persys-node-lease').catch(() => undefined);
          if (lease?.spec?.renewTime) renewals.add(lease.spec.renewTime);
          return renewals.size >= 5;
        },
        'five Lease renewals while stats calls hang',
        30_000,
        50,
      );
      // The hung calls still hold their slots: later rounds start none, and some rounds were skipped or empty.
      expect(statsCalls).toBe(3);
      expect(usage.snapshot()).toEqual([]);
    } finally {
      await conn.stop();
      await usage.stop();
    }
  });
});
