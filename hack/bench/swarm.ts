// Swarm benchmark (issue 7): time from `persys apply -f` of a 40-replica SwarmService until its status
// reports 40 running, against `docker service create` of the same service with `docker service ls`
// polled to 40/40, on the same swarm (a Docker engine in a network namespace that persys made a manager),
// round after round from clean, alternating which goes first.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/errors.js';
import { TestCluster } from '../../e2e/harness/cluster.js';
import { startSecondDocker, TEST_IMAGE, type SecondDocker } from '../../e2e/harness/docker.js';
import { fmt, summarize } from './stats.js';
import { benchFlags, emitResult, intFlag, runBench, until } from './until.js';

const run = promisify(execFile);
const NODE = 'bench-swarm-node';
const ENGINE = 'bsw-eng';
const PERSYS_SERVICE = 'benchpersys';
const DOCKER_SERVICE = 'benchdocker';
const POLL_MS = 100;

const USAGE = `usage: node --import tsx hack/bench/swarm.ts [flags]
  --replicas N       replicas of the service (default 40)
  --rounds R         measured rounds per system (default 3)
  --warmup W         unmeasured rounds per system first (default 1)
  --log-level LEVEL  log level of the persys processes (default warn)
  --timeout SECONDS  deadline of every single wait (default 180)
  --json FILE        also write the JSON result there`;

interface Options {
  replicas: number;
  rounds: number;
  warmup: number;
  logLevel: string;
  timeoutMs: number;
  json?: string;
}

function parseOptions(argv: string[]): Options {
  const values = benchFlags(argv, USAGE, {
    replicas: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'log-level': { type: 'string', default: 'warn' },
    timeout: { type: 'string', default: '180' },
    json: { type: 'string' },
  });
  const int = intFlag(USAGE);
  return {
    replicas: int('replicas', values.replicas, 1),
    rounds: int('rounds', values.rounds, 1),
    warmup: int('warmup', values.warmup, 0),
    logLevel: values['log-level'],
    timeoutMs: int('timeout', values.timeout, 1) * 1000,
    json: values.json,
  };
}

const secondsSince = (t0: number) => (Date.now() - t0) / 1000;
const round3 = (v: number) => Number(v.toFixed(3));

/** `docker` CLI against the benchmark's engine. */
const docker = async (engine: SecondDocker, args: string[]) => (await run('docker', ['-H', `unix://${engine.socket}`, ...args])).stdout;

/** "running/desired" of a Docker service as `docker service ls` prints it, or '' when it is not listed. */
async function replicasListed(engine: SecondDocker, name: string): Promise<string> {
  const out = await docker(engine, ['service', 'ls', '--filter', `name=${name}`, '--format', '{{.Name}} {{.Replicas}}']);
  const line = out.split('\n').find((l) => l.split(' ')[0] === name);
  return line?.split(' ')[1] ?? '';
}

/** Containers of a Docker service still on the engine (after removal they go a moment later). */
async function containersOf(engine: SecondDocker, name: string): Promise<number> {
  return (await engine.docker.listContainers({ all: true, filters: { label: [`com.docker.swarm.service.name=${name}`] } })).length;
}

interface Round {
  round: number;
  /** Until the system's own answer said N running: persys status, or `docker service ls` N/N. */
  runningS: number;
  /** Until the command (`persys apply -f`, `docker service create -d`) returned. */
  commandS: number;
  teardownS: number;
}

function manifest(replicas: number): string {
  return `apiVersion: persys.dev/v1
kind: SwarmService
metadata: {name: ${PERSYS_SERVICE}}
spec:
  image: ${TEST_IMAGE}
  command: [sleep, "3600"]
  replicas: ${replicas}
`;
}

const reportsAllRunning = (s: Resource | undefined, n: number) =>
  !!s && Number(s.status?.observedGeneration) === Number(s.metadata.generation) && s.status?.runningTasks === n && s.status?.desiredTasks === n;

async function persysRound(cluster: TestCluster, engine: SecondDocker, file: string, opts: Options, n: number): Promise<Round> {
  const t0 = Date.now();
  const applied = cluster.persys(['apply', '-f', file]).then((r) => {
    if (r.code !== 0) throw new Error(`persys apply exited ${r.code}: ${r.stderr}`);
    return secondsSince(t0);
  });
  await until(`persys: status to report ${opts.replicas} running`, opts.timeoutMs, () =>
    cluster.client.get('SwarmService', PERSYS_SERVICE).catch((e: unknown) => {
      if (e instanceof ApiError && e.codeName === 'NOT_FOUND') return undefined;
      throw e;
    }), (s) => reportsAllRunning(s, opts.replicas), POLL_MS);
  const runningS = secondsSince(t0);
  const commandS = await applied;

  const d0 = Date.now();
  await cluster.client.delete('SwarmService', PERSYS_SERVICE);
  const dockerName = `default_${PERSYS_SERVICE}`;
  await until('persys: the service and its containers gone', opts.timeoutMs, async () => (await replicasListed(engine, dockerName)) === '' && (await containersOf(engine, dockerName)) === 0, (gone) => gone);
  return { round: n, runningS: round3(runningS), commandS: round3(commandS), teardownS: round3(secondsSince(d0)) };
}

async function dockerRound(engine: SecondDocker, opts: Options, n: number): Promise<Round> {
  const t0 = Date.now();
  // --no-resolve-image: there is no registry to ask for the digest (persys does not ask either).
  await docker(engine, ['service', 'create', '--detach', '--no-resolve-image', '--name', DOCKER_SERVICE, '--replicas', String(opts.replicas), TEST_IMAGE, 'sleep', '3600']);
  const commandS = secondsSince(t0);
  const want = `${opts.replicas}/${opts.replicas}`;
  await until(`docker: service ls to show ${want}`, opts.timeoutMs, () => replicasListed(engine, DOCKER_SERVICE), (r) => r === want, POLL_MS);
  const runningS = secondsSince(t0);

  const d0 = Date.now();
  await docker(engine, ['service', 'rm', DOCKER_SERVICE]);
  await until('docker: the service and its containers gone', opts.timeoutMs, () => containersOf(engine, DOCKER_SERVICE), (left) => left === 0);
  return { round: n, runningS: round3(runningS), commandS: round3(commandS), teardownS: round3(secondsSince(d0)) };
}

async function removeLeftovers(engine: SecondDocker): Promise<void> {
  for (const name of [DOCKER_SERVICE, `default_${PERSYS_SERVICE}`]) await docker(engine, ['service', 'rm', name]).catch(() => undefined);
}

function report(opts: Options, persys: Round[], swarm: Round[]) {
  const s = (rs: Round[], key: 'runningS' | 'commandS') => {
    const x = summarize(rs.map((r) => r[key]));
    return { text: `mean ${fmt(x.mean, 2)} s (min ${fmt(x.min, 2)}, p50 ${fmt(x.p50, 2)}, max ${fmt(x.max, 2)})`, summary: x };
  };
  const lines = [`swarm benchmark: a ${opts.replicas}-replica service of ${TEST_IMAGE} (sleep), one manager engine, ${opts.rounds} rounds after ${opts.warmup} warm-up, each from clean`];
  let ratio: number | undefined;
  if (persys.length) {
    lines.push(`  persys  apply -f → status ${opts.replicas} running          ${s(persys, 'runningS').text}`);
    lines.push(`          apply -f returned                       ${s(persys, 'commandS').text}`);
  }
  if (swarm.length) {
    lines.push(`  docker  service create → service ls ${opts.replicas}/${opts.replicas}      ${s(swarm, 'runningS').text}`);
    lines.push(`          service create -d returned              ${s(swarm, 'commandS').text}`);
  }
  if (persys.length && swarm.length) {
    ratio = Number((s(persys, 'runningS').summary.mean / s(swarm, 'runningS').summary.mean).toFixed(2));
    lines.push(`  persys/docker                                   ${fmt(ratio, 2)} (target ≤ 1.2) ${ratio <= 1.2 ? 'MET' : 'MISSED'}`);
  }
  console.log(lines.join('\n'));
  return ratio;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  process.env.PERSYS_E2E_LOG_LEVEL = opts.logLevel;
  const dir = mkdtempSync(join(tmpdir(), 'persys-bench-swarm-'));
  const file = join(dir, 'service.yaml');
  writeFileSync(file, manifest(opts.replicas));

  const errors: string[] = [];
  const rounds: { persys: Round[]; docker: Round[] } = { persys: [], docker: [] };
  let engine: SecondDocker | undefined;
  let cluster: TestCluster | undefined;
  try {
    engine = await startSecondDocker(ENGINE);
    cluster = await TestCluster.start({ agents: [{ name: NODE, dockerHost: `unix://${engine.socket}`, nodeIp: engine.address }], etcdFsync: true });
    const role = await cluster.persys(['apply', '-f', '-'], `apiVersion: persys.dev/v1\nkind: Node\nmetadata: {name: ${NODE}}\nspec: {swarm: {role: manager}}\n`);
    if (role.code !== 0) throw new Error(`setting the swarm role failed: ${role.stderr}`);
    await until('persys to make the node a swarm manager', opts.timeoutMs, () => cluster!.client.get('Node', NODE), (n) => n.status?.swarm?.role === 'manager', POLL_MS);

    const total = opts.warmup + opts.rounds;
    for (let i = 1; i <= total; i++) {
      const measured = i > opts.warmup;
      const n = i - opts.warmup;
      const order = i % 2 ? (['persys', 'docker'] as const) : (['docker', 'persys'] as const);
      for (const system of order) {
        console.error(`[${new Date().toISOString()}] ${system} ${measured ? `round ${n}` : `warm-up ${i}`}`);
        try {
          const r = system === 'persys' ? await persysRound(cluster, engine, file, opts, n) : await dockerRound(engine, opts, n);
          if (measured) rounds[system].push(r);
        } catch (e) {
          errors.push(`${system} round ${i}: ${e instanceof ApiError ? `${e.codeName}: ${e.message}` : (e as Error).stack ?? String(e)}`);
          if (system === 'persys') {
            await cluster.client.delete('SwarmService', PERSYS_SERVICE).catch(() => undefined);
            console.error(cluster.logs());
          }
          await removeLeftovers(engine);
        }
      }
    }
  } finally {
    await cluster?.stop().catch((e) => console.error(`cluster stop: ${String(e)}`));
    if (engine) {
      await removeLeftovers(engine);
      await engine.docker.swarmLeave({ force: true }).catch(() => undefined);
      await engine.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }

  const ratio = report(opts, rounds.persys, rounds.docker);
  for (const e of errors) console.error(`round failed: ${e}`);
  emitResult({ bench: 'swarm', at: new Date().toISOString(), replicas: opts.replicas, rounds, ratio, errors }, opts.json, errors);
}

runBench(main);
