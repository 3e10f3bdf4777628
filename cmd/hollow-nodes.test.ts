// `persys hollow-nodes`: bad input is refused with a clear message and exit 1 before anything starts;
// against a real API server the nodes join with the token, connect, report Ready, and rejoin from their stored certificates.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OperationsClient } from '../lib/client/operations.js';
import { startTestApiServer, type TestApiServer } from '../e2e/harness/apiserver.js';
import { waitFor } from '../e2e/harness/wait.js';
import { captureIo } from '../lib/cli/io.js';
import { main } from './commands.js';

const HASH = `sha256:${'a'.repeat(64)}`;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'persys-hollow-cli-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function run(...args: string[]) {
  const io = captureIo();
  const code = await main(['hollow-nodes', ...args], io);
  return { code, stderr: io.stderr(), stdout: io.stdout() };
}

describe('persys hollow-nodes refuses bad input before starting anything', () => {
  const base = () => ['--server', '127.0.0.1:1', '--token', 'abcdef.0123456789abcdef', '--ca-cert-hash', HASH, '--data-dir', join(tempDir(), 'data')];

  it.each([
    [['--count', '0'], '--count must be a positive integer, got 0'],
    [['--count=-3'], '--count must be a positive integer, got -3'],
    [['--count', '2.5'], '--count must be a positive integer, got 2.5'],
    [['--count', 'ten'], '--count must be a positive integer, got ten'],
    [['--count', '1000000'], '--count must be at most 10000, got 1000000'],
    [[], '--count is required'],
    [['--count', '2', '--failure-rate', '1.5'], '--failure-rate must be a number from 0 to 1, got 1.5'],
    [['--count', '2', '--failure-rate=-0.1'], '--failure-rate must be a number from 0 to 1, got -0.1'],
    [['--count', '2', '--start-delay', 'soon'], 'invalid duration "soon" for --start-delay'],
    [['--count', '2', '--heartbeat-interval', '0s'], '--heartbeat-interval must be more than zero, got 0s'],
    [['--count', '2', '--name-prefix', 'Hollow_'], '--name-prefix must be lower-case letters'],
    [['--count', '2', '--labels', 'novalue'], '--labels: "novalue" is not KEY=VALUE'],
    [['--count', '2', '--server', 'nohostport'], '--server: address "nohostport" is not HOST:PORT'],
    [['--count', '2', '--metrics-listen', 'x'], '--metrics-listen: address "x" is not HOST:PORT'],
    [['--count', '2', '--ca-cert-hash', 'md5:00'], '--ca-cert-hash must be sha256:<64 hex digits>'],
    [['--count', '2', '--colour', 'red'], 'unknown flag: --colour'],
  ])('%j → %s', async (args, message) => {
    const r = await run(...base(), ...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('fails at once naming an unreachable API server, and creates no node directories', async () => {
    const data = join(tempDir(), 'data');
    const r = await run('--count', '3', '--server', '127.0.0.1:1', '--token', 'abcdef.0123456789abcdef', '--ca-cert-hash', HASH, '--data-dir', data);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach API server 127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect(existsSync(data)).toBe(false);
  });

  it('says a first join needs --token', async () => {
    const r = await run('--count', '2', '--server', '127.0.0.1:1', '--ca-cert-hash', HASH, '--data-dir', join(tempDir(), 'data'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 nodes have no certificate under .* and no --token was given to join with/);
  });
});

describe('persys hollow-nodes against a real API server', () => {
  let api: TestApiServer;
  let token = '';
  let caCertHash = '';
  beforeAll(async () => {
    api = await startTestApiServer(inject('etcdEndpoint'));
    const ops = new OperationsClient(api.config);
    try {
      const res = await ops.createJoinToken({ ttlSeconds: 600 });
      token = res.token;
      caCertHash = /sha256:[0-9a-f]{64}/.exec(res.joinCommand)?.[0] ?? '';
    } finally {
      ops.close();
    }
  });
  afterAll(async () => api?.stop());

  it('joins 3 nodes with the token, prints one line once all are connected, and stops on abort; a rerun uses the stored certificates', async () => {
    const prefix = `h${randomBytes(3).toString('hex')}-`;
    const data = tempDir();
    const common = ['--count', '3', '--server', api.config.server, '--join-server', `127.0.0.1:${api.server.joinPort}`,
      '--name-prefix', prefix, '--data-dir', data, '--metrics-listen', '127.0.0.1:0', '--log-level', 'silent'];
    for (const args of [[...common, '--token', token, '--ca-cert-hash', caCertHash], common]) {
      const stop = new AbortController();
      const io = captureIo('', stop.signal);
      const exit = main(['hollow-nodes', ...args], io);
      await waitFor(() => io.stdout().includes('3 hollow nodes connected to 1 server\n') || io.stderr(), 'all hollow nodes connected', 30_000);
      expect(io.stderr()).toBe('');
      for (const i of ['0000', '0001', '0002']) {
        const node = await api.client.get('Node', `${prefix}${i}`);
        expect(node.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
        expect(node.status.capacity).toMatchObject({ cpu: '32' });
        expect(existsSync(join(data, `${prefix}${i}`, 'node.crt'))).toBe(true);
      }
      stop.abort();
      expect(await exit).toBe(0);
    }
  });
});
