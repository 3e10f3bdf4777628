// `persys up` alone is a working single-machine persys: its controllers schedule onto its own local
// agent, which runs the container on this machine's Docker engine.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import { ensureDocker } from '../harness/docker.js';
import { freePort } from '../harness/etcd.js';
import { eventually } from '../harness/cluster.js';
import { waitForUpBanner } from '../harness/up-banner.js';

const BIN = join(resolve(import.meta.dirname, '../..'), 'bin/persys.js');
const NODE = `up-node-${process.pid}`;
let work: string;
let up: ChildProcess;
let docker: Dockerode;

const persys = (args: string[], input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: work, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

beforeAll(async () => {
  docker = await ensureDocker();
  work = mkdtempSync(join(tmpdir(), 'persys-up-'));
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  up = spawn(
    process.execPath,
    [
      BIN, 'up',
      '--listen', `127.0.0.1:${ports[0]}`,
      '--join-listen', `127.0.0.1:${ports[1]}`,
      '--metrics-listen', `127.0.0.1:${ports[2]}`,
      '--etcd-client-url', `http://127.0.0.1:${ports[3]}`,
      '--etcd-peer-url', `http://127.0.0.1:${ports[4]}`,
      '--node-name', NODE,
      '--log-level', 'warn',
    ],
    { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await waitForUpBanner(up);
}, 90_000);

afterAll(async () => {
  if (up && up.exitCode === null) {
    const exited = new Promise((r) => up.once('exit', r));
    up.kill('SIGINT');
    await exited;
  }
  const left = await docker.listContainers({ all: true, filters: { label: [`dev.persys.node=${NODE}`] } });
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  rmSync(work, { recursive: true, force: true });
});

it('registers this machine as a Ready node and runs an applied Container on it', async () => {
  const nodes = await eventually('the local node', () => persys(['get', 'nodes', '-o', 'name']), (r) => r.stdout.includes(`node/${NODE}`));
  expect(nodes.code).toBe(0);
  const manifest = `apiVersion: persys.dev/v1
kind: Container
metadata: { name: hello }
spec:
  image: persys/busybox:test
  command: [sh, -c, "echo hello from persys up; exec sleep 3600"]
`;
  expect((await persys(['apply', '-f', '-'], manifest)).code).toBe(0);
  const row = await eventually('hello to run', () => persys(['get', 'ct', 'hello']), (r) => / Running /.test(r.stdout));
  expect(row.stdout).toContain(NODE);
  const logs = await eventually('the log line', () => persys(['logs', 'container/hello']), (r) => r.stdout.includes('hello from persys up'));
  expect(logs.code).toBe(0);
  expect((await persys(['delete', 'ct', 'hello', '--wait'])).code).toBe(0);
  await eventually(
    'the Docker container to be removed',
    () => docker.listContainers({ all: true, filters: { label: [`dev.persys.node=${NODE}`, 'dev.persys.name=hello'] } }),
    (l) => l.length === 0,
  );
});
