// `persys create secret|configmap`, in-process against a real API server (and once as a process whose
// output goes through a pipe): what is stored, what is printed, exit codes, and that a password is
// printed only by -o yaml|json of the object itself.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { startTestApiServer, type TestApiServer } from '../../../e2e/harness/apiserver.js';
import { parseDockerConfigJson } from '../../registry/credentials.js';
import { captureIo } from '../io.js';
import { main } from '../main.js';

const NS = 'create-cli';
const PASSWORD = 'pa55-W0rd-never-shown';
let api: TestApiServer;
let dir: string;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
  dir = mkdtempSync(join(tmpdir(), 'persys-create-'));
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf', 'nginx.conf'), 'server {\n  listen 80;\n}\n');
  writeFileSync(join(dir, 'conf', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00, 0x01]));
  writeFileSync(join(dir, 'tls.key'), 'KEY DATA\n');
}, 60_000);

afterAll(async () => {
  await api?.stop();
});

const connection = () => [
  '--server', api.config.server,
  '--ca-cert', api.config.caCert,
  '--client-cert', api.config.clientCert,
  '--client-key', api.config.clientKey,
  '-n', NS,
];

async function persys(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main([...args, ...connection()], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

const registry = (name: string, ...extra: string[]) => [
  'create', 'secret', 'docker-registry', name,
  '--docker-server=127.0.0.1:5000', '--docker-username=alice', `--docker-password=${PASSWORD}`, ...extra,
];

const exists = (kind: string, name: string) =>
  api.client.get(kind, name, NS).then(
    () => true,
    () => false,
  );

describe('persys create secret docker-registry', () => {
  it('stores a persys.dev/dockerconfigjson Secret that parses to the credentials, printing no password', async () => {
    const r = await persys(...registry('regcred', '--docker-email=alice@example.org'));
    expect(r).toEqual({ code: 0, out: 'secret/regcred created\n', err: '' });
    const stored = await api.client.get('Secret', 'regcred', NS);
    expect(stored['type']).toBe('persys.dev/dockerconfigjson');
    const json = Buffer.from((stored['data'] as Record<string, string>)['.dockerconfigjson']!, 'base64').toString();
    expect(parseDockerConfigJson(json).get('127.0.0.1:5000')).toMatchObject({ username: 'alice', password: PASSWORD });
    expect(JSON.parse(json).auths['127.0.0.1:5000'].email).toBe('alice@example.org');
  });

  it('lists it with TYPE and DATA and describes it by key and size only', async () => {
    const get = await persys('get', 'secrets', 'regcred');
    expect(get.code).toBe(0);
    expect(get.out).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\nregcred\s+persys\.dev\/dockerconfigjson\s+1\s+\S+\n$/);
    const d = await persys('describe', 'secret', 'regcred');
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/Type:\s+persys\.dev\/dockerconfigjson/);
    expect(d.out).toMatch(/Data:\n {2}\.dockerconfigjson: \d+ bytes/);
    const stored = await api.client.get('Secret', 'regcred', NS);
    for (const secretText of [PASSWORD, (stored['data'] as Record<string, string>)['.dockerconfigjson']!]) {
      expect(get.out + d.out + d.err).not.toContain(secretText);
    }
  });

  it('refuses a missing --docker-password or --docker-username as a usage error with exit code 1, storing nothing', async () => {
    const noPassword = await persys('create', 'secret', 'docker-registry', 'nopw', '--docker-username=alice');
    expect(noPassword.code).toBe(1);
    expect(noPassword.out).toBe('');
    expect(noPassword.err).toBe("error: --docker-password is required for create secret docker-registry\nSee 'persys create --help' for usage.\n");
    const noUser = await persys('create', 'secret', 'docker-registry', 'nouser', `--docker-password=${PASSWORD}`);
    expect(noUser.code).toBe(1);
    expect(noUser.err).toContain('--docker-username is required');
    expect(noUser.err).not.toContain(PASSWORD);
    expect(await exists('Secret', 'nopw')).toBe(false);
    expect(await exists('Secret', 'nouser')).toBe(false);
  });

  it('defaults the server to Docker Hub, as kubectl does', async () => {
    const r = await persys('create', 'secret', 'docker-registry', 'hub', '--docker-username=bob', '--docker-password=x', '--dry-run=client', '-o', 'json');
    expect(r.code).toBe(0);
    const json = Buffer.from(JSON.parse(r.out).data['.dockerconfigjson'], 'base64').toString();
    expect(parseDockerConfigJson(json).get('docker.io')).toMatchObject({ username: 'bob', serveraddress: 'https://index.docker.io/v1/' });
  });

  it('prints the object with --dry-run=client -o yaml without storing it, and validates with --dry-run=server', async () => {
    const client = await persys(...registry('dry', '--dry-run=client', '-o', 'yaml'));
    expect(client.code).toBe(0);
    const printed = YAML.parse(client.out);
    expect(printed).toMatchObject({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'dry', namespace: NS }, type: 'persys.dev/dockerconfigjson' });
    expect(await exists('Secret', 'dry')).toBe(false);
    const server = await persys(...registry('dry', '--dry-run=server'));
    expect(server).toEqual({ code: 0, out: 'secret/dry created (server dry run)\n', err: '' });
    expect(await exists('Secret', 'dry')).toBe(false);
    const bad = await persys(...registry('dry', '--dry-run=maybe'));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('invalid --dry-run value "maybe"');
  });

  it('builds a client dry run without any client config, as kubectl does offline', async () => {
    const io = captureIo();
    const code = await main(['create', 'configmap', 'offline', '--from-literal=a=b', '--dry-run=client', '-o', 'yaml', '--config', join(dir, 'missing.yaml')], io);
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    expect(YAML.parse(io.stdout())).toEqual({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name: 'offline', namespace: 'default' }, data: { a: 'b' } });
  });

  it('reports AlreadyExists with exit code 1 for a second create', async () => {
    const r = await persys(...registry('regcred'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^Error from server \(AlreadyExists\): .*regcred/);
    expect(r.err).not.toContain(PASSWORD);
  });

  it('writes -o json through a pipe from the persys executable', async () => {
    const bin = resolve(import.meta.dirname, '../../../bin/persys.js');
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(process.execPath, [bin, ...args, ...connection()], { timeout: 60_000 }, (err, stdout, stderr) =>
          done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const ok = await run(registry('piped', '-o', 'json'));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ kind: 'Secret', metadata: { name: 'piped', namespace: NS }, type: 'persys.dev/dockerconfigjson' });
    const usage = await run(['create', 'secret', 'docker-registry', 'piped2', '--docker-username=alice']);
    expect(usage.code).toBe(1);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toContain('--docker-password is required');
  }, 60_000);
});

describe('persys create secret generic', () => {
  it('stores literals and files base64-encoded under their keys', async () => {
    const r = await persys('create', 'secret', 'generic', 'app-creds', '--from-literal=user=admin', `--from-literal=password=${PASSWORD}`, `--from-file=${join(dir, 'tls.key')}`, `--from-file=key.pem=${join(dir, 'tls.key')}`);
    expect(r).toEqual({ code: 0, out: 'secret/app-creds created\n', err: '' });
    const s = await api.client.get('Secret', 'app-creds', NS);
    const decoded = Object.fromEntries(Object.entries(s['data'] as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(decoded).toEqual({ user: 'admin', password: PASSWORD, 'tls.key': 'KEY DATA\n', 'key.pem': 'KEY DATA\n' });
    expect(s['type']).toBe('Opaque');
  });

  it('refuses a duplicate key, a key with a slash and a literal without "=" before contacting the server', async () => {
    const dup = await persys('create', 'secret', 'generic', 'dup', '--from-literal=a=1', '--from-literal=a=2');
    expect(dup.code).toBe(1);
    expect(dup.err).toContain('cannot add key "a": it is already given');
    const slash = await persys('create', 'secret', 'generic', 'slash', '--from-literal=a/b=1');
    expect(slash.err).toContain('"a/b" is not a valid key');
    const noEq = await persys('create', 'secret', 'generic', 'noeq', `--from-literal=${PASSWORD}`);
    expect(noEq.code).toBe(1);
    expect(noEq.err).toContain('--from-literal must be KEY=VALUE');
    expect(noEq.err).not.toContain(PASSWORD);
    for (const n of ['dup', 'slash', 'noeq']) expect(await exists('Secret', n)).toBe(false);
  });

  it('passes the server\'s refusal of a malformed .dockerconfigjson without echoing the value', async () => {
    const r = await persys('create', 'secret', 'generic', 'badcfg', '--type=kubernetes.io/dockerconfigjson', `--from-literal=.dockerconfigjson={"auths": ${PASSWORD}`);
    expect(r.code).toBe(1);
    expect(r.err).toContain('Error from server (Invalid)');
    expect(r.err).toContain('data[.dockerconfigjson]: is not valid JSON');
    expect(r.err).not.toContain(PASSWORD);
  });

  it('needs generic or docker-registry', async () => {
    const r = await persys('create', 'secret', 'tls', 'x');
    expect(r.code).toBe(1);
    expect(r.err).toContain('create secret needs generic or docker-registry, got "tls"');
  });
});

describe('persys create configmap, get, describe, apply and delete', () => {
  it('puts UTF-8 files and literals in data and other files in binaryData', async () => {
    const r = await persys('create', 'configmap', 'web', '--from-literal=mode=production', `--from-file=${join(dir, 'conf')}`);
    expect(r).toEqual({ code: 0, out: 'configmap/web created\n', err: '' });
    const cm = await api.client.get('ConfigMap', 'web', NS);
    expect(cm['data']).toEqual({ mode: 'production', 'nginx.conf': 'server {\n  listen 80;\n}\n' });
    expect(cm['binaryData']).toEqual({ 'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00, 0x01]).toString('base64') });
  });

  it('lists ConfigMaps with NAME DATA AGE, counting data and binaryData keys', async () => {
    const r = await persys('get', 'configmaps');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^NAME\s+DATA\s+AGE\nweb\s+3\s+\S+\n$/);
    const short = await persys('get', 'cm', 'web', '-o', 'yaml');
    expect(YAML.parse(short.out)).toMatchObject({ kind: 'ConfigMap', data: { mode: 'production' } });
  });

  it('describes data as kubectl does and binary data by size', async () => {
    const r = await persys('describe', 'configmap', 'web');
    expect(r.code).toBe(0);
    expect(r.out).toContain('\nData\n====\nmode:\n----\nproduction\n\nnginx.conf:\n----\nserver {\n  listen 80;\n}\n\nBinaryData\n====\nlogo.png: 8 bytes\n');
  });

  it('applies a ConfigMap manifest, refuses a change of an immutable one, and deletes it', async () => {
    const manifest = (value: string) => `apiVersion: persys.dev/v1\nkind: ConfigMap\nmetadata: {name: frozen}\nimmutable: true\ndata: {app.ini: "${value}"}\n`;
    const file = join(dir, 'frozen.yaml');
    writeFileSync(file, manifest('a=1'));
    expect((await persys('apply', '-f', file)).out).toBe('configmap/frozen created\n');
    writeFileSync(file, manifest('a=2'));
    const changed = await persys('apply', '-f', file);
    expect(changed.code).toBe(1);
    expect(changed.err).toContain('data: field is immutable');
    expect((await api.client.get('ConfigMap', 'frozen', NS))['data']).toEqual({ 'app.ini': 'a=1' });
    const del = await persys('delete', 'configmap', 'frozen');
    expect(del.code).toBe(0);
    expect(await exists('ConfigMap', 'frozen')).toBe(false);
  });

  it('refuses a ConfigMap over 1 MiB with the server message naming size and limit', async () => {
    const big = join(dir, 'big.txt');
    writeFileSync(big, 'x'.repeat(1024 * 1024 + 1));
    const r = await persys('create', 'configmap', 'big', `--from-file=${big}`);
    expect(r.code).toBe(1);
    expect(r.err).toContain('data: data and binaryData are 1048577 bytes, the limit is 1048576 bytes (1 MiB)');
  });
});

describe('persys create run', () => {
  it("still creates a run of a CronJob's job template, owned by the CronJob", async () => {
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'CronJob', metadata: { name: 'tick', namespace: NS }, spec: { schedule: '@daily', jobTemplate: { spec: { image: 'x' } } } });
    const r = await persys('create', 'run', 'tick-now', '--from=cronjob/tick');
    expect(r).toEqual({ code: 0, out: 'container/tick-now created (run of cronjob/tick)\n', err: '' });
    const run = await api.client.get('Container', 'tick-now', NS);
    expect(run.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'CronJob', name: 'tick', controller: true });
    const bad = await persys('create', 'job', 'x');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('create supports secret, configmap and run, got "job"');
  });
});
