// `persys certificate create` against a real API server: the written config connects as the user with
// its groups; reserved names, the masters group without --allow-masters and a zero TTL are refused.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiClient } from '../lib/client/client.js';
import { loadClientConfig } from '../lib/client/config.js';
import { captureIo } from '../lib/cli/io.js';
import { certificateInfo } from '../lib/pki/index.js';
import { startTestApiServer, type TestApiServer } from '../e2e/harness/apiserver.js';
import { main } from './commands.js';

let api: TestApiServer;
let out: string;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  out = mkdtempSync(join(tmpdir(), 'persys-usercert-'));
});
afterAll(async () => {
  await api?.stop();
  rmSync(out, { recursive: true, force: true });
});

async function persys(...args: string[]) {
  const io = captureIo();
  const code = await main(args, io, { env: {} });
  return { code, out: io.stdout(), err: io.stderr() };
}

const create = (...args: string[]) => persys('certificate', 'create', '--data-dir', api.dir, '--server', api.config.server, ...args);

describe('persys certificate create', () => {
  it('writes a private config whose certificate names the user and groups, and the API server sees them', async () => {
    const file = join(out, 'alice.config.yaml');
    const r = await create('--user', 'alice', '--group', 'dev', '--group', 'ops', '--ttl', '720h', '-o', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`PERSYS_CONFIG=${file} persys get ns`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'alice.key')).mode & 0o777).toBe(0o600);
    const info = certificateInfo(readFileSync(join(out, 'alice.crt')));
    expect(info.commonName).toBe('alice');
    expect(info.organizations).toEqual(['dev', 'ops']);
    const days = (info.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);

    // Without RBAC rules for its groups the user may not list yet; the refusal names who the server saw.
    const client = new ApiClient(loadClientConfig({ config: file }));
    try {
      await expect(client.list('Namespace')).rejects.toThrow(/User "alice" \(groups dev, ops\) cannot list namespaces/);
    } finally {
      client.close();
    }
  });

  it('issues system:masters with --allow-masters, and that config lists namespaces', async () => {
    const file = join(out, 'root.config.yaml');
    const r = await create('--user', 'root-ops', '--group', 'system:masters', '--allow-masters', '-o', file);
    expect(r.code).toBe(0);
    const client = new ApiClient(loadClientConfig({ config: file }));
    try {
      const { items } = await client.list('Namespace');
      expect(items.map((n) => n.metadata.name)).toContain('default');
    } finally {
      client.close();
    }
  });

  it('takes the server from the admin config when --server is absent, and defaults the file name', async () => {
    const cwd = process.cwd();
    process.chdir(out);
    try {
      // The harness writes no config; `persys pki init` does, into the data dir.
      const dataDir = mkdtempSync(join(out, 'data-'));
      expect((await persys('pki', 'init', '--data-dir', dataDir, '--advertise-address', '10.9.8.7:7443')).code).toBe(0);
      const r = await persys('certificate', 'create', '--data-dir', dataDir, '--user', 'carol');
      expect(r.code).toBe(0);
      expect(existsSync(join(out, 'carol.config.yaml'))).toBe(true);
      expect(loadClientConfig({ config: join(out, 'carol.config.yaml') }).server).toBe('10.9.8.7:7443');
    } finally {
      process.chdir(cwd);
    }
  });

  it.each([
    [['--user', 'system:node:n1'], /--user system:node:n1: names starting with "system:" are reserved/],
    [['--user', 'bob', '--group', 'system:masters'], /--group system:masters: .*bypass every authorization check.*--allow-masters/],
    [['--user', 'bob', '--group', 'system:nodes'], /--group system:nodes: groups starting with "system:" are reserved/],
    [['--user', 'bob', '--ttl', '0'], /--ttl must be at least 1s/],
    [['--user', 'bob', '--ttl', 'soon'], /--ttl "soon" is not a duration/],
    [['--group', 'dev'], /--user is required/],
  ])('refuses %j with a message saying what to fix', async (args, message) => {
    const r = await create(...args, '-o', join(out, 'refused.config.yaml'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(existsSync(join(out, 'refused.config.yaml'))).toBe(false);
  });

  it('does not overwrite an existing config', async () => {
    const file = join(out, 'alice.config.yaml');
    const r = await create('--user', 'alice', '-o', file);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/already exist.*choose another -o FILE/);
  });

  it('says where the CA is missing', async () => {
    const r = await persys('certificate', 'create', '--data-dir', join(out, 'nowhere'), '--server', 'x:1', '--user', 'dave');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/no cluster CA in .*nowhere\/pki/);
  });
});
