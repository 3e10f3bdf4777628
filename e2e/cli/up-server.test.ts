// `persys up --agent=false` configured through PERSYS_* variables, as persys-server.service runs it: the API
// server and the controllers serve their metrics on the configured ports (build info, node gauges), and
// SIGTERM to persys alone stops everything, its etcd included, with exit code 0.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../harness/cluster.js';
import { freePort } from '../harness/etcd.js';
import { waitForUpBanner } from '../harness/up-banner.js';

const BIN = join(resolve(import.meta.dirname, '../..'), 'bin/persys.js');
let work: string;
let up: ChildProcess;
let banner = '';
let ports: number[];
const env = () => ({
  ...process.env,
  PERSYS_DATA_DIR: join(work, 'state'),
  PERSYS_LISTEN: `127.0.0.1:${ports[0]}`,
  PERSYS_JOIN_LISTEN: `127.0.0.1:${ports[1]}`,
  PERSYS_METRICS_LISTEN: `127.0.0.1:${ports[2]}`,
  PERSYS_CONTROLLERS_METRICS_LISTEN: `127.0.0.1:${ports[3]}`,
  PERSYS_LOG_LEVEL: 'warn',
});

const persys = (args: string[], input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: work, timeout: 60_000, env: { ...env(), PERSYS_CONFIG: join(work, 'state/config.yaml') } }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'persys-up-server-'));
  ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  up = spawn(
    process.execPath,
    [BIN, 'up', '--agent=false', '--etcd-client-url', `http://127.0.0.1:${ports[4]}`, '--etcd-peer-url', `http://127.0.0.1:${ports[5]}`],
    { cwd: work, env: env(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  banner = await waitForUpBanner(up);
}, 90_000);

afterAll(async () => {
  if (up && up.exitCode === null) {
    const exited = new Promise((r) => up.once('exit', r));
    up.kill('SIGKILL');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
});

it('serves the API server and controller metrics on the ports its environment names', async () => {
  expect(banner).toContain(`controllers http://127.0.0.1:${ports[3]}/metrics`);
  const api = await scrape(ports[2]!);
  expect(api).toMatch(/^persys_build_info\{version="[^"]+",node_version="v\d+[^"]*",platform="[^"]+"\} 1$/m);
  expect(api).toMatch(/^# TYPE etcd_request_errors_total counter$/m);
  const node = `up-server-node-${process.pid}`;
  expect((await persys(['apply', '-f', '-'], `apiVersion: persys.dev/v1\nkind: Node\nmetadata: {name: ${node}}\nspec: {}\n`)).code).toBe(0);
  // No agent ever reported for it: the node controller's gauge says not Ready. The process leads its Lease.
  const controllers = await eventually(
    'the node and the leader in the controllers metrics',
    () => scrape(ports[3]!),
    (t) => t.includes(`persys_node_ready{node="${node}"} 0`) && t.includes('leader_election_master_status{name="persys-controllers"} 1'),
  );
  expect(controllers).toMatch(/^persys_build_info\{/m);
});

it('stops everything, its etcd included, on SIGTERM to persys alone, with exit code 0', async () => {
  const etcdPid = Number(/\(pid (\d+)\)/.exec(banner)?.[1]);
  expect(etcdPid).toBeGreaterThan(0);
  const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
  up.kill('SIGTERM');
  expect(await exited).toBe(0);
  const alive = () => {
    try {
      process.kill(etcdPid, 0);
      return true;
    } catch {
      return false;
    }
  };
  expect(await eventually('etcd to exit', async () => alive(), (a) => !a, 10_000)).toBe(false);
}, 60_000);
