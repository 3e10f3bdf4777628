// `persys version` through the real binary against a real API server (its own PKI, the shared etcd):
// the server answers the Version RPC with its package version and API version.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { packageVersion } from '../../lib/package-files.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { freePort } from '../harness/etcd.js';
import { runPersys } from '../harness/run-persys.js';

let api: TestApiServer;
let home: string;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  home = mkdtempSync(join(tmpdir(), 'persys-version-'));
});

afterAll(async () => {
  await api?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

const credentials = () => ['--ca-cert', api.config.caCert, '--client-cert', api.config.clientCert, '--client-key', api.config.clientKey];
const persys = (args: string[]) => runPersys(args, { cwd: home, home });

describe('persys version', () => {
  it('prints the client and the server version', async () => {
    const r = await persys(['version', '--server', api.config.server, ...credentials()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Client Version: ${packageVersion()}\nServer Version: ${packageVersion()}\n`);
  });

  it('gives both as objects with -o json and -o yaml', async () => {
    const json = await persys(['version', '-o', 'json', '--server', api.config.server, ...credentials()]);
    expect(json.code).toBe(0);
    const expected = { version: packageVersion(), nodeVersion: process.version, platform: `${process.platform}/${process.arch}`, apiVersion: 'persys.dev/v1' };
    expect(JSON.parse(json.stdout)).toEqual({ clientVersion: expected, serverVersion: expected });
    const yaml = await persys(['version', '-o', 'yaml', '--server', api.config.server, ...credentials()]);
    expect(YAML.parse(yaml.stdout)).toEqual({ clientVersion: expected, serverVersion: expected });
  });

  it('prints only the client with --client, needing no config', async () => {
    const r = await persys(['version', '--client']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Client Version: ${packageVersion()}\n`);
    expect(r.stderr).toBe('');
  });

  it('prints the client line, then the connection error, and exits 1 when the server is unreachable', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const r = await persys(['version', '--server', dead, ...credentials()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`Client Version: ${packageVersion()}\n`);
    expect(r.stderr).toContain(`error: unable to connect to the server ${dead}`);
  });

  it('rejects an unknown output format', async () => {
    const r = await persys(['version', '-o', 'wide', '--client']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: --output must be 'yaml' or 'json', got "wide"`);
  });
});
