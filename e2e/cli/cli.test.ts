// The documented workflow with real processes: `persys up` (its own etcd, PKI, API server), then the
// `persys` CLI applying, getting, diffing, pruning and deleting manifests/examples/.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort } from '../harness/etcd.js';
import { waitForUpBanner } from '../harness/up-banner.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/persys.js');
const EXAMPLES = join(ROOT, 'manifests/examples');

let work: string;
let up: ChildProcess | undefined;
let upArgs: string[];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function persys(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: work, env: { ...process.env, PERSYS_LOG_LEVEL: 'warn', ...opts.env }, timeout: 60_000 },
      (err, stdout, stderr) => resolvePromise({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

async function startUp(): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'up', ...upArgs], {
    cwd: work,
    env: { ...process.env, PERSYS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  up = child;
  await waitForUpBanner(child);
}

async function stopUp(): Promise<number | null> {
  const child = up;
  if (!child || child.exitCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  up = undefined;
  return code;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'persys-cli-'));
  const [api, joinPort, metrics, etcdClient, etcdPeer] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  upArgs = [
    '--listen', `127.0.0.1:${api}`,
    '--join-listen', `127.0.0.1:${joinPort}`,
    '--metrics-listen', `127.0.0.1:${metrics}`,
    '--etcd-client-url', `http://127.0.0.1:${etcdClient}`,
    '--etcd-peer-url', `http://127.0.0.1:${etcdPeer}`,
    // The CLI is under test here; e2e/cli/up.test.ts runs up with its agent.
    '--agent=false',
  ];
  await startUp();
}, 90_000);

afterAll(async () => {
  await stopUp();
  rmSync(work, { recursive: true, force: true });
});

describe('persys CLI against persys up', () => {
  it('applies the examples, then reports every object unchanged on a second apply', async () => {
    const first = await persys(['apply', '-f', EXAMPLES]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'composestack/shop created',
      'configmap/frontend-pages created',
      'container/web created',
      'containerset/frontend created',
      'cronjob/tick created',
      'namespace/demo created',
      'secret/app-credentials created',
      'service/frontend created',
      'swarmservice/web created',
    ]);
    const second = await persys(['apply', '-f', EXAMPLES]);
    expect(second.code).toBe(0);
    expect(second.stdout.split('\n').filter(Boolean).every((l) => l.endsWith(' unchanged'))).toBe(true);
  });

  it('gets objects as a table, yaml, json and names, with short names', async () => {
    const table = await persys(['get', 'ct', '-n', 'demo']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+IMAGE\s+NODE\s+STATUS/);
    expect(table.stdout).toContain('web');
    const yaml = await persys(['get', 'container', 'web', '-n', 'demo', '-o', 'yaml']);
    const obj = YAML.parse(yaml.stdout);
    expect(obj).toMatchObject({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'web', namespace: 'demo' } });
    expect(obj.metadata.uid).toBeTruthy();
    const json = await persys(['get', 'cs', '-A', '-o', 'json']);
    expect(JSON.parse(json.stdout).items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['frontend']);
    const names = await persys(['get', 'cj', '-n', 'demo', '-o', 'name']);
    expect(names.stdout.trim()).toBe('cronjob/tick');
    const all = await persys(['get', 'containersets', '-A']);
    expect(all.stdout).toMatch(/^NAMESPACE\s+NAME/);
  });

  it('fails `get` of a missing object with the server message and exit code 1', async () => {
    const res = await persys(['get', 'ct', 'nope', '-n', 'demo']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Error from server (NotFound): Container "nope" not found in namespace "demo"');
  });

  it('diff exits 0 without changes and 1 with a unified diff of a change', async () => {
    const same = await persys(['diff', '-f', EXAMPLES]);
    expect(same.code).toBe(0);
    expect(same.stdout).toBe('');
    const dir = join(work, 'changed');
    mkdirSync(dir, { recursive: true });
    const text = readFileSync(join(EXAMPLES, 'container-web.yaml'), 'utf8').replace('image: persys/busybox:test', 'image: persys/busybox:v2');
    writeFileSync(join(dir, 'web.yaml'), text);
    const changed = await persys(['diff', '-f', join(dir, 'web.yaml')]);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/^-\s+image: persys\/busybox:test$/m);
    expect(changed.stdout).toMatch(/^\+\s+image: persys\/busybox:v2$/m);
    const live = await persys(['get', 'ct', 'web', '-n', 'demo', '-o', 'yaml']);
    expect(YAML.parse(live.stdout).spec.image).toBe('persys/busybox:test');
  });

  it('rejects an invalid manifest naming the field path and stores nothing', async () => {
    const bad = 'apiVersion: persys.dev/v1\nkind: Container\nmetadata: { name: bad, namespace: demo }\nspec:\n  image: x\n  ports: [{ containerPort: 99999 }]\n';
    const res = await persys(['apply', '-f', '-'], { input: bad });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.ports[0].containerPort');
    expect((await persys(['get', 'ct', 'bad', '-n', 'demo'])).code).toBe(1);
  });

  it('server-side dry run stores nothing', async () => {
    const obj = 'apiVersion: persys.dev/v1\nkind: Container\nmetadata: { name: dry, namespace: demo }\nspec: { image: x }\n';
    const res = await persys(['apply', '-f', '-', '--dry-run=server'], { input: obj });
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe('container/dry created (server dry run)');
    expect((await persys(['get', 'ct', 'dry', '-n', 'demo'])).code).toBe(1);
  });

  it('prunes objects with the selector that left the manifest set', async () => {
    const dir = join(work, 'prune');
    mkdirSync(dir, { recursive: true });
    const doc = (name: string) =>
      `apiVersion: persys.dev/v1\nkind: Container\nmetadata: { name: ${name}, namespace: demo, labels: { app: shop } }\nspec: { image: persys/busybox:test }\n`;
    writeFileSync(join(dir, 'a.yaml'), doc('shop-a'));
    writeFileSync(join(dir, 'b.yaml'), doc('shop-b'));
    expect((await persys(['apply', '-f', dir, '--prune', '-l', 'app=shop'])).code).toBe(0);
    rmSync(join(dir, 'b.yaml'));
    const res = await persys(['apply', '-f', dir, '--prune', '-l', 'app=shop']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('container/shop-a unchanged');
    expect(res.stdout).toContain('container/shop-b pruned');
    expect((await persys(['get', 'ct', 'shop-b', '-n', 'demo'])).code).toBe(1);
    expect((await persys(['get', 'ct', 'web', '-n', 'demo'])).code).toBe(0);
  });

  it('scales a ContainerSet, honouring a --current-replicas precondition', async () => {
    const before = YAML.parse((await persys(['get', 'cs', 'frontend', '-n', 'demo', '-o', 'yaml'])).stdout).spec.replicas;
    const wrong = await persys(['scale', 'cs/frontend', '-n', 'demo', '--replicas', '4', '--current-replicas', String(before + 1)]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`expected ${before + 1} replicas`);
    const res = await persys(['scale', 'containerset/frontend', '-n', 'demo', '--replicas', '4', '--current-replicas', String(before)]);
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe('containerset/frontend scaled');
    expect(YAML.parse((await persys(['get', 'cs', 'frontend', '-n', 'demo', '-o', 'yaml'])).stdout).spec.replicas).toBe(4);
    expect((await persys(['scale', 'ct/web', '-n', 'demo', '--replicas', '2'])).code).toBe(1);
  });

  it('describes an object', async () => {
    const res = await persys(['describe', 'ct', 'web', '-n', 'demo']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Name:\s+web$/m);
    expect(res.stdout).toMatch(/^Events:/m);
  });

  it('watches with get -w and prints a row for a new object', async () => {
    const child = spawn(process.execPath, [BIN, 'get', 'ct', '-n', 'demo', '-w', '-l', 'watch=me'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // Give the watch time to start before the write; the watch resumes from the list, so nothing is missed anyway.
      await new Promise((r) => setTimeout(r, 1500));
      const obj = 'apiVersion: persys.dev/v1\nkind: Container\nmetadata: { name: watched, namespace: demo, labels: { watch: me } }\nspec: { image: x }\n';
      expect((await persys(['apply', '-f', '-'], { input: obj })).code).toBe(0);
      const deadline = Date.now() + 15_000;
      while (!out.includes('watched') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/^watched\s+x\s/m);
    } finally {
      child.kill('SIGINT');
    }
  });

  it('deletes what a file declares and waits until it is gone', async () => {
    const res = await persys(['delete', '-f', join(EXAMPLES, 'container-web.yaml'), '--wait']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('container "web" deleted');
    expect((await persys(['get', 'ct', 'web', '-n', 'demo'])).code).toBe(1);
  });

  it('keeps its state across a clean stop and start of persys up', async () => {
    expect(await stopUp()).toBe(0);
    await startUp();
    const res = await persys(['get', 'cs', 'frontend', '-n', 'demo', '-o', 'name']);
    expect(res.stdout.trim()).toBe('containerset/frontend');
  }, 120_000);

  it('tells the user how to get credentials when there is no config', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'persys-noconf-'));
    try {
      const res = await new Promise<Run>((r) =>
        execFile(process.execPath, [BIN, 'get', 'ct'], { cwd: empty, env: { ...process.env, HOME: empty, PERSYS_CONFIG: '' } }, (err, stdout, stderr) =>
          r({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('persys up');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

