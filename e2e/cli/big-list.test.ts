// A list of 5,000 objects through the real `persys` executable into a pipe, as scripts use it
// (`persys get … -o json | jq`): every byte arrives, in pages of 500, and the process ends by itself.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { TestCluster } from '../harness/cluster.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/persys.js');
const COUNT = 5_000;
const NS = 'big';
const nameOf = (i: number) => `cm-${String(i).padStart(5, '0')}`;

let cluster: TestCluster;

interface Piped {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs `persys ARGS` with stdout and stderr on pipes (no TTY) and reads them to the end; with
 * `stopAfter`, closes stdout after that many bytes, as `| head` does; with `pauseMs`, reads nothing
 * for that long first.
 */
function piped(args: string[], opts: { stopAfter?: number; shell?: string; pauseMs?: number } = {}): Promise<Piped> {
  return new Promise((done, fail) => {
    const env = { ...process.env, PERSYS_CONFIG: join(cluster.dir, 'config.yaml'), PERSYS_LOG_LEVEL: 'warn' };
    const child = opts.shell
      ? spawn('sh', ['-c', opts.shell], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`persys ${args.join(' ')} did not end within 90 s; stderr:\n${err}`));
    }, 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      out.push(d);
      outBytes += d.length;
      if (opts.stopAfter !== undefined && outBytes >= opts.stopAfter) child.stdout!.destroy();
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    if (opts.pauseMs) {
      // A reader that is busy for a while: the pipe fills and the rest waits in the writer.
      child.stdout!.pause();
      setTimeout(() => child.stdout!.resume(), opts.pauseMs);
    }
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

beforeAll(async () => {
  cluster = await TestCluster.start({ agents: [], controllers: false });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
  // ConfigMaps: nothing acts on them. 100 creates in flight at a time, each ~300 bytes of data, so
  // the JSON list is megabytes: far past what a pipe holds (64 KiB).
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < COUNT; i = next++) {
      await cluster.client.create({
        apiVersion: 'persys.dev/v1',
        kind: 'ConfigMap',
        metadata: { name: nameOf(i), namespace: NS, labels: { app: 'big' } },
        data: { index: String(i), filler: 'x'.repeat(300) },
      } as Resource);
    }
  };
  await Promise.all(Array.from({ length: 100 }, worker));
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
});

const expectEveryName = (names: string[]) => {
  expect(names.length).toBe(COUNT);
  expect(new Set(names).size).toBe(COUNT);
  expect([...names].sort()).toEqual(Array.from({ length: COUNT }, (_, i) => nameOf(i)));
};

describe(`persys get of ${COUNT} objects into a pipe`, () => {
  it('writes a JSON List that parses, with every object once, and exits 0', async () => {
    const r = await piped(['get', 'configmaps', '-n', NS, '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1024 * 1024);
    const list = JSON.parse(r.stdout.toString('utf8'));
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expectEveryName(list.items.map((i: Resource) => i.metadata.name));
    expect(list.items.every((i: Resource & { data: Record<string, string> }) => i.data['filler']!.length === 300)).toBe(true);
  }, 120_000);

  it('feeds jq the whole list (jq comes with hack/install.sh)', async () => {
    const cfg = join(cluster.dir, 'config.yaml');
    const r = await piped([], {
      shell: `PERSYS_CONFIG='${cfg}' '${process.execPath}' '${BIN}' get configmaps -n ${NS} -o json | jq '.items | length'`,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.toString().trim()).toBe(String(COUNT));
    expect(r.code).toBe(0);
  }, 120_000);

  it('writes YAML that parses to the whole list', async () => {
    const { default: YAML } = await import('yaml');
    const r = await piped(['get', 'configmaps', '-n', NS, '-o', 'yaml']);
    expect(r.code).toBe(0);
    expectEveryName(YAML.parse(r.stdout.toString('utf8')).items.map((i: Resource) => i.metadata.name));
  }, 120_000);

  it('prints one name per line with -o name', async () => {
    const r = await piped(['get', 'configmaps', '-n', NS, '-o', 'name']);
    expect(r.code).toBe(0);
    const lines = r.stdout.toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.every((l) => l.startsWith('configmap/'))).toBe(true);
    expectEveryName(lines.map((l) => l.slice('configmap/'.length)));
  }, 120_000);

  it('prints a table with one header and a row per object', async () => {
    const r = await piped(['get', 'configmaps', '-n', NS]);
    expect(r.code).toBe(0);
    const lines = r.stdout.toString('utf8').trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+DATA\s+AGE$/);
    expect(lines.filter((l) => /^NAME\s/.test(l))).toHaveLength(1);
    expectEveryName(lines.slice(1).map((l) => l.split(/\s+/)[0]!));
  }, 120_000);

  it('lists in one request with --chunk-size 0 when that fits the message limit', async () => {
    const r = await piped(['get', 'configmaps', '-n', NS, '-o', 'name', '--chunk-size', '0']);
    expect(r.stderr).toBe('');
    expect(r.stdout.toString('utf8').trimEnd().split('\n')).toHaveLength(COUNT);
  }, 120_000);

  it('waits for a slow reader to take all of its output before exiting', async () => {
    // Named objects are fetched one by one and printed at the end in one write of ~200 KiB.
    const names = Array.from({ length: 400 }, (_, i) => nameOf(i * 12));
    const r = await piped(['get', 'configmaps', ...names, '-n', NS, '-o', 'json'], { pauseMs: 5000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(128 * 1024);
    expect(JSON.parse(r.stdout.toString('utf8')).items.map((i: Resource) => i.metadata.name)).toEqual(names);
  }, 120_000);

  it('ends quietly with the SIGPIPE status when the reader goes away early, as `| head` does', async () => {
    const r = await piped(['get', 'configmaps', '-n', NS, '-o', 'json'], { stopAfter: 1 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(141);
  }, 120_000);
});
