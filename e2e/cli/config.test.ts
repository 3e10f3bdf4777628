// `persys config` and --context through the real binary, with a temporary HOME and working directory
// (no TTY): the file it writes, its mode, kubectl's messages and exit codes, and a context choosing
// which real API server a command talks to.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { freePort } from '../harness/etcd.js';
import { runPersys } from '../harness/run-persys.js';

let api: TestApiServer;
let home: string;
let cwd: string;
let file: string;

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
});

afterAll(async () => {
  await api?.stop();
});

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'persys-config-home-'));
  cwd = mkdtempSync(join(tmpdir(), 'persys-config-cwd-'));
  file = join(home, '.persys', 'config.yaml');
  return () => {
    rmSync(home, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  };
});

const persys = (args: string[], env: Record<string, string> = {}) => runPersys(args, { cwd, home, env });

/** The flat file `persys up` writes, pointing at the test API server with paths relative to the file. */
function writeFlatConfig(mode = 0o600): void {
  mkdirSync(join(home, '.persys'), { recursive: true });
  const pki = join(home, '.persys', 'pki');
  mkdirSync(pki);
  for (const [from, to] of [[api.config.caCert, 'ca.crt'], [api.config.clientCert, 'admin.crt'], [api.config.clientKey, 'admin.key']] as const) {
    writeFileSync(join(pki, to), readFileSync(from));
  }
  writeFileSync(file, YAML.stringify({ server: api.config.server, caCert: 'pki/ca.crt', clientCert: 'pki/admin.crt', clientKey: 'pki/admin.key', namespace: 'default' }));
  chmodSync(file, mode);
}

const table = (stdout: string) => stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));

describe('persys config', () => {
  it('reports no current context without a config file, exit 1', async () => {
    const r = await persys(['config', 'current-context']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: current-context is not set\n');
    const list = await persys(['config', 'get-contexts']);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('CURRENT   NAME   SERVER   NAMESPACE\n');
  });

  it('shows a flat config file as the current context "default"', async () => {
    writeFlatConfig();
    const r = await persys(['config', 'get-contexts']);
    expect(r.code).toBe(0);
    expect(table(r.stdout)).toEqual([
      ['CURRENT', 'NAME', 'SERVER', 'NAMESPACE'],
      ['*', 'default', api.config.server, 'default'],
    ]);
    expect((await persys(['config', 'current-context'])).stdout).toBe('default\n');
  });

  it('keeps a flat file\'s settings as context "default" on the first set-context, with the file\'s mode', async () => {
    writeFlatConfig(0o640);
    const r = await persys(['config', 'set-context', 'dead', '--server', '127.0.0.1:1', '--ca-cert', 'certs/ca.crt', '-n', 'shop']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Context "dead" created.\n');
    expect(YAML.parse(readFileSync(file, 'utf8'))).toEqual({
      currentContext: 'default',
      contexts: [
        { name: 'default', server: api.config.server, caCert: 'pki/ca.crt', clientCert: 'pki/admin.crt', clientKey: 'pki/admin.key', namespace: 'default' },
        // A relative path is stored absolute: it was relative to where the command ran, not to the file.
        { name: 'dead', server: '127.0.0.1:1', caCert: join(cwd, 'certs/ca.crt'), namespace: 'shop' },
      ],
    });
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(join(home, '.persys')).sort()).toEqual(['config.yaml', 'pki']);
    // The converted file still works as before.
    const get = await persys(['get', 'namespaces', '-o', 'name']);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);
  });

  it('creates a private file under ~/.persys when there is none', async () => {
    const r = await persys(['config', 'set-context', 'dev', '--server', '127.0.0.1:7443']);
    expect(r.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(YAML.parse(readFileSync(file, 'utf8'))).toEqual({ contexts: [{ name: 'dev', server: '127.0.0.1:7443' }] });
  });

  it('switches contexts, refusing an unknown one with kubectl\'s message and exit 1', async () => {
    writeFlatConfig();
    await persys(['config', 'set-context', 'dev', '--server', '127.0.0.1:1']);
    const bad = await persys(['config', 'use-context', 'nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('error: no context exists with the name: "nope"\n');
    expect(YAML.parse(readFileSync(file, 'utf8')).currentContext).toBe('default');
    const ok = await persys(['config', 'use-context', 'dev']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('Switched to context "dev".\n');
    expect((await persys(['config', 'current-context'])).stdout).toBe('dev\n');
    const list = await persys(['config', 'get-contexts']);
    expect(table(list.stdout).slice(1)).toEqual([['', 'default', api.config.server, 'default'], ['*', 'dev', '127.0.0.1:1']]);
    expect((await persys(['config', 'get-contexts', '-o', 'name'])).stdout).toBe('default\ndev\n');
  });

  it('changes the current context\'s namespace with set-context --current', async () => {
    writeFlatConfig();
    const r = await persys(['config', 'set-context', '--current', '--namespace', 'shop']);
    expect(r.stdout).toBe('Context "default" modified.\n');
    const one = await persys(['config', 'get-contexts', 'default']);
    expect(table(one.stdout)[1]).toEqual(['*', 'default', api.config.server, 'shop']);
    const missing = await persys(['config', 'get-contexts', 'prod']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: context prod not found\n');
  });

  it('fails set-context --current when no context is current', async () => {
    const r = await persys(['config', 'set-context', '--current', '-n', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: no current context is set\n');
  });

  it('uses the context --context or PERSYS_CONTEXT names for one command', async () => {
    writeFlatConfig();
    const dead = `127.0.0.1:${await freePort()}`;
    await persys(['config', 'set-context', 'dead', '--server', dead, '--ca-cert', api.config.caCert, '--client-cert', api.config.clientCert, '--client-key', api.config.clientKey]);
    await persys(['config', 'use-context', 'dead']);
    const current = await persys(['version']);
    expect(current.code).toBe(1);
    expect(current.stderr).toContain(`unable to connect to the server ${dead}`);
    for (const run of [() => persys(['--context', 'default', 'version']), () => persys(['version'], { PERSYS_CONTEXT: 'default' })]) {
      const r = await run();
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Client Version: .*\nServer Version: /);
    }
    const unknown = await persys(['get', 'ns', '--context', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: context was not found for specified context: nope\n');
    expect((await persys(['config', 'current-context'])).stdout).toBe('dead\n');
  });

  it('views the file with resolved certificate paths and none of their content', async () => {
    writeFlatConfig();
    const r = await persys(['config', 'view']);
    expect(r.code).toBe(0);
    expect(YAML.parse(r.stdout)).toEqual({
      currentContext: 'default',
      contexts: [
        {
          name: 'default',
          server: api.config.server,
          caCert: join(home, '.persys/pki/ca.crt'),
          clientCert: join(home, '.persys/pki/admin.crt'),
          clientKey: join(home, '.persys/pki/admin.key'),
          namespace: 'default',
        },
      ],
    });
    expect(r.stdout).not.toContain('BEGIN');
    const json = await persys(['config', 'view', '-o', 'json', '--minify']);
    expect(JSON.parse(json.stdout).contexts.map((c: { name: string }) => c.name)).toEqual(['default']);
  });

  it('deletes contexts, warning when the current one goes, and fails for a missing one', async () => {
    writeFlatConfig();
    await persys(['config', 'set-context', 'dev', '--server', '127.0.0.1:1']);
    const r = await persys(['config', 'delete-context', 'default']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`deleted context default from ${file}\n`);
    expect(r.stderr).toBe('warning: this removed your active context, use "persys config use-context" to select a different one\n');
    expect(YAML.parse(readFileSync(file, 'utf8'))).toEqual({ contexts: [{ name: 'dev', server: '127.0.0.1:1' }] });
    const missing = await persys(['config', 'delete-context', 'default']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: cannot delete context default, not in ${file}\n`);
  });

  it('writes the file --config names, and reads it back there', async () => {
    const other = join(cwd, 'elsewhere.yaml');
    expect((await persys(['config', 'set-context', 'a', '--server', 'h:1', '--config', other])).code).toBe(0);
    expect((await persys(['config', 'use-context', 'a'], { PERSYS_CONFIG: other })).code).toBe(0);
    expect(YAML.parse(readFileSync(other, 'utf8'))).toEqual({ currentContext: 'a', contexts: [{ name: 'a', server: 'h:1' }] });
    expect((await persys(['config', 'current-context', '--config', other])).stdout).toBe('a\n');
  });

  it('points at --help for an unknown verb', async () => {
    const r = await persys(['config', 'frob']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: config needs one of get-contexts, current-context, use-context, set-context, delete-context, view, got "frob"');
  });
});
