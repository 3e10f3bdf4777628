// Reconnect back-off and fail-over of the agent stream, against real sockets that accept and drop
// connections (no API server: what is checked is which address is dialled next and how long it waits).
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createCa, issueCertificate } from '../lib/pki/index.js';
import { defaultJoinServer, parseServerList, splitHostPort } from './address.js';
import { NodeAgent } from './agent.js';
import { AgentConnection, backoffDelay } from './connection.js';
import type { DockerRuntime } from './docker/runtime.js';
import { RequestHandler } from './requests.js';
import { silentLogger } from '../lib/observability/logger.js';

const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

describe('backoffDelay', () => {
  it('doubles from 1 s and caps at 30 s, jittered within the upper half of each step', () => {
    const lo = (a: number) => backoffDelay(a, { random: () => 0 });
    const hi = (a: number) => backoffDelay(a, { random: () => 1 });
    expect([0, 1, 2, 3, 4, 5, 6, 10].map(hi)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect([0, 1, 5].map(lo)).toEqual([500, 1_000, 15_000]);
  });

  it('honours other bounds', () => {
    expect(backoffDelay(3, { initialMs: 10, maxMs: 50, random: () => 1 })).toBe(50);
  });
});

describe('addresses', () => {
  it('parses server lists, IPv6 and the default join port', () => {
    expect(parseServerList('a:1, b:2')).toEqual(['a:1', 'b:2']);
    expect(splitHostPort('[::1]:7443')).toEqual({ host: '::1', port: 7443 });
    expect(defaultJoinServer('127.0.0.1:7443')).toBe('127.0.0.1:7444');
    expect(() => parseServerList('nohost')).toThrow(/HOST:PORT/);
  });
});

async function droppingServer(hits: string[], label: string): Promise<string> {
  const s = createServer((sock) => {
    hits.push(label);
    sock.destroy();
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  return `127.0.0.1:${(s.address() as { port: number }).port}`;
}

describe('AgentConnection', () => {
  it('fails over between servers and backs off further after each failed attempt', async () => {
    const ca = await createCa();
    const node = await issueCertificate(ca, { commonName: 'system:node:n1', usage: 'client' });
    const hits: string[] = [];
    const a = await droppingServer(hits, 'a');
    const b = await droppingServer(hits, 'b');
    const delays: number[] = [];
    const agent = new NodeAgent({ node: 'n1', runtime: {} as DockerRuntime });
    const conn = new AgentConnection({
      servers: [a, b],
      credentials: { certPem: node.certPem, keyPem: node.keyPem, caPem: ca.certPem },
      agent,
      requests: new RequestHandler({} as DockerRuntime, async () => [], silentLogger()),
      nodeInfo: async () => ({ dockerVersion: '', addresses: [], labels: {}, os: 'linux', architecture: 'amd64', agentVersion: '' }),
      heartbeat: () => ({ containers: [], dockerHealthy: true, dockerMessage: '', conditions: [] }),
      backoff: {
        random: () => 1,
        sleep: async (ms) => {
          delays.push(ms);
          await new Promise((r) => setTimeout(r, 10));
        },
      },
    });
    conn.start();
    await vi.waitFor(() => expect(delays.length).toBeGreaterThanOrEqual(4), { timeout: 20_000, interval: 50 });
    await conn.stop();
    expect(conn.connected).toBe(false);
    expect(delays.slice(0, 4)).toEqual([1_000, 2_000, 4_000, 8_000]);
    // Attempts alternate between the two servers.
    const order = hits.filter((h, i) => h !== hits[i - 1]);
    expect(order.slice(0, 4)).toEqual(['a', 'b', 'a', 'b']);
  });
});
