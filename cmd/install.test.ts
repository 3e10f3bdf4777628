// `persys install server|agent` into a temporary root: the unit runs the given binary, the settings file is
// the shipped one and is never overwritten, --dry-run writes nothing, and a wrong side is a usage error.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureIo } from '../lib/cli/io.js';
import { main } from './commands.js';

const SHIPPED = resolve(import.meta.dirname, '../manifests/systemd');
const BINARY = '/opt/persys/bin/persys.js';
let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function install(...args: string[]) {
  const io = captureIo();
  const code = await main(['install', ...args], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('persys install', () => {
  it('writes the agent unit running the given binary, and the shipped settings file readable by root only', async () => {
    root = mkdtempSync(join(tmpdir(), 'persys-install-'));
    const r = await install('agent', '--root', root, '--binary', BINARY);
    expect(r.code).toBe(0);
    const unit = readFileSync(join(root, 'etc/systemd/system/persys-agent.service'), 'utf8');
    expect(unit).toContain(`\nExecStart=${BINARY} agent\n`);
    expect(unit.replace(`ExecStart=${BINARY} `, 'ExecStart=/usr/local/bin/persys ')).toBe(readFileSync(join(SHIPPED, 'persys-agent.service'), 'utf8'));
    const env = join(root, 'etc/persys/agent.env');
    expect(readFileSync(env, 'utf8')).toBe(readFileSync(join(SHIPPED, 'agent.env'), 'utf8'));
    expect(statSync(env).mode & 0o077).toBe(0);
    expect(r.out).toBe(`wrote ${join(root, 'etc/systemd/system/persys-agent.service')}\nwrote ${env}\n`);
    expect(r.err).toContain('systemctl enable --now persys-agent');
  });

  it('replaces the unit but keeps a settings file that exists', async () => {
    root = mkdtempSync(join(tmpdir(), 'persys-install-'));
    expect((await install('server', '--root', root, '--binary', '/old/persys')).code).toBe(0);
    const env = join(root, 'etc/persys/server.env');
    writeFileSync(env, 'PERSYS_LISTEN=0.0.0.0:7443\n');
    const r = await install('server', '--root', root, '--binary', BINARY);
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'etc/systemd/system/persys-server.service'), 'utf8')).toContain(`\nExecStart=${BINARY} up --agent=false\n`);
    expect(readFileSync(env, 'utf8')).toBe('PERSYS_LISTEN=0.0.0.0:7443\n');
    expect(r.out).toContain(`kept ${env} (exists)`);
  });

  it('prints the files with --dry-run and writes nothing', async () => {
    root = mkdtempSync(join(tmpdir(), 'persys-install-'));
    const r = await install('agent', '--root', root, '--binary', BINARY, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`# ${join(root, 'etc/systemd/system/persys-agent.service')}\n`);
    expect(r.out).toContain(`ExecStart=${BINARY} agent`);
    expect(r.out).toContain('PERSYS_TOKEN=');
    expect(existsSync(join(root, 'etc'))).toBe(false);
  });

  it.each([[[]], [['controllers']], [['agent', 'server']]])('refuses %j: one side, server or agent', async (args) => {
    root = mkdtempSync(join(tmpdir(), 'persys-install-'));
    const r = await install(...args, '--root', root);
    expect(r.code).toBe(1);
    expect(r.err).toContain('persys install server|agent');
    expect(existsSync(join(root, 'etc'))).toBe(false);
  });
});
