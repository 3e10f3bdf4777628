// The systemd units in manifests/systemd: each runs a real `persys` subcommand with flags it has, its
// environment files set only variables that a flag of that command reads, systemd itself accepts the units
// (systemd-analyze verify), and their hardening keeps the exposure score low.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../lib/cli/args.js';
import type { Command } from '../lib/cli/command.js';
import { PERSYS_COMMANDS } from './commands.js';

const ROOT = resolve(import.meta.dirname, '..');
const UNITS_DIR = join(ROOT, 'manifests/systemd');
const INSTALLED_BINARY = '/usr/local/bin/persys';

interface Unit {
  file: string;
  /** Every `Key=value` of the file by section, in order. */
  entries: { section: string; key: string; value: string }[];
}

function readUnit(file: string): Unit {
  let section = '';
  const entries: Unit['entries'] = [];
  for (const raw of readFileSync(join(UNITS_DIR, file), 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    else {
      const eq = line.indexOf('=');
      entries.push({ section, key: line.slice(0, eq), value: line.slice(eq + 1) });
    }
  }
  return { file, entries };
}

const values = (u: Unit, key: string) => u.entries.filter((e) => e.section === 'Service' && e.key === key).map((e) => e.value);

/** The variables an environment file sets, commented-out examples included (they must be right too). */
function envFileVariables(file: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync(join(UNITS_DIR, file), 'utf8').split('\n')) {
    const m = /^#?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars.set(m[1]!, line.trim().startsWith('#') ? '' : m[2]!);
  }
  return vars;
}

async function commandOf(name: string): Promise<Command> {
  const entry = PERSYS_COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no persys subcommand "${name}"`);
  return entry.load();
}

/** Env variables the command's own flags read. */
const flagEnvs = (cmd: Command) => new Set(Object.values(cmd.flags ?? {}).flatMap((f) => (f.env ? [f.env] : [])));

const UNITS = [
  // The env of `persys up`'s local-agent flags (docker-host, node-name) is moot under --agent=false.
  { file: 'persys-server.service', envFile: 'server.env', command: 'up', notInEnvFile: ['PERSYS_DOCKER_HOST', 'PERSYS_NODE_NAME'] },
  { file: 'persys-agent.service', envFile: 'agent.env', command: 'agent', notInEnvFile: [] },
];

describe.each(UNITS)('$file', ({ file, envFile, command, notInEnvFile }) => {
  const unit = readUnit(file);
  const [binary, subcommand, ...args] = values(unit, 'ExecStart')[0]!.split(/\s+/);

  it(`runs \`persys ${command}\` with flags it has, from the installed binary`, async () => {
    expect(values(unit, 'ExecStart')).toHaveLength(1);
    expect(binary).toBe(INSTALLED_BINARY);
    expect(subcommand).toBe(command);
    const cmd = await commandOf(subcommand!);
    // The parser the binary uses: an unknown flag or a bad boolean throws here.
    expect(() => parseCommandLine(args, cmd.flags ?? {}, cmd.name, {})).not.toThrow();
  });

  it(`reads /etc/persys/${envFile}, whose variables are each read by a flag of persys ${command}`, async () => {
    expect(values(unit, 'EnvironmentFile').map((v) => v.replace(/^-/, ''))).toEqual([`/etc/persys/${envFile}`]);
    const envs = flagEnvs(await commandOf(command));
    const fromUnit = values(unit, 'Environment').map((v) => v.slice(0, v.indexOf('=')));
    const fromFile = [...envFileVariables(envFile).keys()];
    expect(fromFile.length).toBeGreaterThan(5);
    expect([...fromUnit, ...fromFile].filter((v) => !envs.has(v))).toEqual([]);
    // And the file documents every setting there is.
    expect([...envs].filter((v) => !fromFile.includes(v) && !notInEnvFile.includes(v))).toEqual([]);
  });

  it('parses its command line and environment as the binary would, into absolute state paths', async () => {
    const cmd = await commandOf(command);
    const env: Record<string, string> = {};
    for (const v of values(unit, 'Environment')) env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
    for (const [k, v] of envFileVariables(envFile)) if (v) env[k] = v;
    const parsed = parseCommandLine(args, cmd.flags ?? {}, cmd.name, env);
    const dataDir = parsed.flags['data-dir'] as string;
    expect(dataDir).toMatch(/^\/var\/lib\//);
    expect(values(unit, 'StateDirectory')).toEqual([basename(dataDir)]);
    expect(parsed.flags['metrics-listen']).toMatch(/^127\.0\.0\.1:70\d\d$/);
  });

  it('restarts at once, always, and waits for Docker where it needs it', () => {
    expect(values(unit, 'Restart')).toEqual(['always']);
    expect(values(unit, 'RestartSec')).toEqual(['1']);
    expect(Number(values(unit, 'LimitNOFILE')[0])).toBeGreaterThanOrEqual(65536);
    const unitValues = (key: string) => unit.entries.filter((e) => e.section === 'Unit' && e.key === key).flatMap((e) => e.value.split(/\s+/));
    if (command === 'agent') {
      expect(unitValues('After')).toContain('docker.service');
      expect(unitValues('Wants')).toContain('docker.service');
    }
  });
});

describe('systemd-analyze', () => {
  const dir = mkdtempSync(join(tmpdir(), 'persys-units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The unit with ExecStart pointing at this checkout's binary, which exists here (verify checks it). */
  function localCopy(file: string): string {
    const text = readFileSync(join(UNITS_DIR, file), 'utf8').replace(`ExecStart=${INSTALLED_BINARY} `, `ExecStart=${join(ROOT, 'bin/persys.js')} `);
    expect(text).toContain(join(ROOT, 'bin/persys.js'));
    const path = join(dir, file);
    writeFileSync(path, text);
    return path;
  }

  function systemdAnalyze(args: string[]) {
    const r = spawnSync('systemd-analyze', args, { encoding: 'utf8' });
    if (r.error) throw new Error(`systemd-analyze not found (Debian package systemd): ${r.error.message}`);
    return r;
  }

  it.each(UNITS.map((u) => u.file))('accepts %s without a warning', (file) => {
    const r = systemdAnalyze(['verify', '--man=no', localCopy(file)]);
    // Unknown keys and bad values are only warnings (exit 0): any output is a failure here.
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it.each(UNITS.map((u) => u.file))('rates the hardening of %s at most 5.0 (OK) exposure', (file) => {
    const r = systemdAnalyze(['security', '--offline=true', localCopy(file)]);
    const score = Number(/Overall exposure level for [^:]+: ([\d.]+)/.exec(r.stdout)?.[1]);
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThanOrEqual(5);
  });
});
