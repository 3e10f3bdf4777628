// Compose benchmark (issue 5): one five-service compose file brought up by persys (`persys apply -f` of a
// ComposeStack) and by Debian's `docker-compose up -d` on the same engine, round after round from clean.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/errors.js';
import { TestCluster } from '../../e2e/harness/cluster.js';
import { ensureDocker, TEST_IMAGE } from '../../e2e/harness/docker.js';
import { fmt, roundTo, summarize } from './stats.js';
import { benchFlags, emitResult, intFlag, runBench, skipFlag, until as untilEvery } from './until.js';

const run = promisify(execFile);
const NODE = 'bench-compose';
const NAMESPACE = 'bench-compose';
const STACK = 'benchpersys';
const PERSYS_PROJECT = STACK;
const COMPOSE_PROJECT = 'benchcompose';
const SERVICES = ['db', 'cache', 'api', 'worker', 'web'];
const POLL_MS = 50;
/** Bounded polling at this benchmark's granularity. */
const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> =>
  untilEvery(what, timeoutMs, probe, done, POLL_MS);

/**
 * db → api → web/worker with a healthcheck gate on db (Docker's first probe comes 1 s after start, for
 * both systems), cache as a second started-dependency, a named volume and the project network.
 */
const COMPOSE_FILE = `services:
  db:
    image: ${TEST_IMAGE}
    command: [sh, -c, "mkdir -p /srv; echo ok > /srv/ok; exec httpd -f -p 5432 -h /srv"]
    volumes: [dbdata:/data]
    healthcheck:
      test: [CMD, wget, -qO-, "http://127.0.0.1:5432/ok"]
      interval: 1s
      timeout: 2s
      retries: 30
  cache:
    image: ${TEST_IMAGE}
    command: [sh, -c, "exec httpd -f -p 6379 -h /etc"]
  api:
    image: ${TEST_IMAGE}
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
    command: [sh, -c, "wget -qO- http://db:5432/ok > /dev/null || exit 1; exec httpd -f -p 8080 -h /etc"]
  worker:
    image: ${TEST_IMAGE}
    depends_on: [api, cache]
    command: [sh, -c, "exec sleep 3600"]
  web:
    image: ${TEST_IMAGE}
    depends_on: [api]
    command: [sh, -c, "exec httpd -f -p 80 -h /etc"]
volumes:
  dbdata: {}
`;

const USAGE = `usage: node --import tsx hack/bench/compose.ts [flags]
  --rounds R         measured rounds per system (default 3)
  --warmup W         unmeasured rounds per system first (default 1)
  --log-level LEVEL  log level of the persys processes (default warn)
  --timeout SECONDS  deadline of every single wait (default 120)
  --skip LIST        comma-separated systems to skip: persys, compose
  --json FILE        also write the JSON result there`;

interface Options {
  rounds: number;
  warmup: number;
  logLevel: string;
  timeoutMs: number;
  skip: Set<string>;
  json?: string;
}

function parseOptions(argv: string[]): Options {
  const values = benchFlags(argv, USAGE, {
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'log-level': { type: 'string', default: 'warn' },
    timeout: { type: 'string', default: '120' },
    skip: { type: 'string', default: '' },
    json: { type: 'string' },
  });
  const int = intFlag(USAGE);
  const skip = skipFlag(values.skip, ['persys', 'compose'], USAGE);
  return {
    rounds: int('rounds', values.rounds, 1),
    warmup: int('warmup', values.warmup, 0),
    logLevel: values['log-level'],
    timeoutMs: int('timeout', values.timeout, 1) * 1000,
    skip,
    json: values.json,
  };
}



const round = (v: number, d = 3) => roundTo(v, d);
const secondsSince = (t0: number) => (Date.now() - t0) / 1000;
const projectFilter = (project: string) => ({ label: [`com.docker.compose.project=${project}`] });

/** One service name per running container of the project, from the engine itself. */
async function runningServices(docker: Dockerode, project: string): Promise<string[]> {
  const list = await docker.listContainers({ filters: projectFilter(project) });
  return list.filter((c) => c.State === 'running').map((c) => c.Labels['com.docker.compose.service'] ?? '').sort();
}

const allRunning = (services: string[]) => JSON.stringify(services) === JSON.stringify([...SERVICES].sort());

/** Whether the project has anything left in the engine: containers, networks or volumes. */
async function leftovers(docker: Dockerode, project: string): Promise<number> {
  const filters = projectFilter(project);
  const [cs, ns, vs] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return cs.length + ns.length + (vs.Volumes?.length ?? 0);
}

/** Force-removes everything labelled with the project (after a failed or interrupted round). */
async function removeProject(docker: Dockerode, project: string): Promise<void> {
  const filters = projectFilter(project);
  const cs = await docker.listContainers({ all: true, filters });
  await Promise.all(cs.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
}

/** One measured bring-up, in seconds after the command was started. */
interface Round {
  round: number;
  /** Until every service had a running container, per Docker. */
  allRunningS: number;
  /** Until the command (`persys apply -f`, `docker-compose up -d`) returned. */
  commandS: number;
  /** persys only: until status said Running for the current generation. */
  statusRunningS?: number;
  /** Until teardown left nothing of the project in the engine. */
  teardownS: number;
}

// ---------------------------------------------------------------------------------------------
// persys

function stackManifest(): string {
  const indented = COMPOSE_FILE.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
  return `apiVersion: persys.dev/v1
kind: ComposeStack
metadata: {name: ${STACK}, namespace: ${NAMESPACE}}
spec:
  removeVolumesOnDelete: true
  compose: |
${indented}
`;
}

const stackRunning = (s: Resource) =>
  s.status?.phase === 'Running' && Number(s.status?.observedGeneration) === Number(s.metadata.generation) && (s.status?.services?.length ?? 0) === SERVICES.length;

async function persysRound(cluster: TestCluster, docker: Dockerode, file: string, opts: Options, n: number): Promise<Round> {
  const t0 = Date.now();
  const applied = cluster.persys(['apply', '-n', NAMESPACE, '-f', file]).then((r) => {
    if (r.code !== 0) throw new Error(`persys apply exited ${r.code}: ${r.stderr}`);
    return secondsSince(t0);
  });
  let allRunningS: number | undefined;
  let statusRunningS: number | undefined;
  await until('persys: every service running in Docker and the stack Running', opts.timeoutMs, async () => {
    if (allRunningS === undefined && allRunning(await runningServices(docker, PERSYS_PROJECT))) allRunningS = secondsSince(t0);
    if (statusRunningS === undefined) {
      const s = await cluster.client.get('ComposeStack', STACK, NAMESPACE).catch((e: unknown) => {
        if (e instanceof ApiError && e.codeName === 'NOT_FOUND') return undefined;
        throw e;
      });
      if (s && stackRunning(s)) statusRunningS = secondsSince(t0);
    }
    return allRunningS !== undefined && statusRunningS !== undefined;
  }, (done) => done);
  const commandS = await applied;

  const d0 = Date.now();
  await cluster.client.delete('ComposeStack', STACK, NAMESPACE);
  await until('persys: the project gone from the engine', opts.timeoutMs, () => leftovers(docker, PERSYS_PROJECT), (left) => left === 0);
  await until('persys: the stack gone from the API', opts.timeoutMs, () => cluster.client.list('ComposeStack', { namespace: NAMESPACE }), (l) => l.items.length === 0);
  return { round: n, allRunningS: round(allRunningS!), commandS: round(commandS), statusRunningS: round(statusRunningS!), teardownS: round(secondsSince(d0)) };
}

// ---------------------------------------------------------------------------------------------
// docker-compose (Debian's 1.29)

async function composeRound(docker: Dockerode, file: string, opts: Options, n: number): Promise<Round> {
  const compose = (args: string[]) => run('docker-compose', ['-p', COMPOSE_PROJECT, '-f', file, ...args], { timeout: opts.timeoutMs });
  const t0 = Date.now();
  let commandS: number | undefined;
  let failed: unknown;
  const up = compose(['up', '-d']).then(
    () => (commandS = secondsSince(t0)),
    (e: unknown) => (failed = e),
  );
  let allRunningS: number | undefined;
  await until('docker-compose: every service running in Docker', opts.timeoutMs, async () => {
    if (failed) throw failed;
    return allRunning(await runningServices(docker, COMPOSE_PROJECT));
  }, (ok) => ok);
  allRunningS = secondsSince(t0);
  await up;
  if (failed) throw failed;

  const d0 = Date.now();
  // Its httpd processes are pid 1 and ignore SIGTERM: don't wait 10 s for each.
  await compose(['down', '-v', '-t', '0']);
  await until('docker-compose: the project gone from the engine', opts.timeoutMs, () => leftovers(docker, COMPOSE_PROJECT), (left) => left === 0);
  return { round: n, allRunningS: round(allRunningS), commandS: round(commandS!), teardownS: round(secondsSince(d0)) };
}

// ---------------------------------------------------------------------------------------------

interface SystemResult {
  rounds: Round[];
  allRunning: ReturnType<typeof summarize>;
  command: ReturnType<typeof summarize>;
  statusRunning?: ReturnType<typeof summarize>;
}

function summarizeRounds(rounds: Round[]): SystemResult {
  const status = rounds.map((r) => r.statusRunningS).filter((v): v is number => v !== undefined);
  return {
    rounds,
    allRunning: summarize(rounds.map((r) => r.allRunningS)),
    command: summarize(rounds.map((r) => r.commandS)),
    statusRunning: status.length ? summarize(status) : undefined,
  };
}

function report(opts: Options, persys?: SystemResult, compose?: SystemResult) {
  const s = (x: ReturnType<typeof summarize>) => `mean ${fmt(x.mean, 2)} s (min ${fmt(x.min, 2)}, p50 ${fmt(x.p50, 2)}, max ${fmt(x.max, 2)})`;
  const lines = [
    `compose benchmark: ${SERVICES.length} services (${SERVICES.join(', ')}), image ${TEST_IMAGE}, db healthcheck gate (interval 1s), ${opts.rounds} rounds after ${opts.warmup} warm-up, each from clean`,
  ];
  if (persys) {
    lines.push(`  persys   apply -f → all services running in Docker  ${s(persys.allRunning)}`);
    if (persys.statusRunning) lines.push(`           apply -f → status Running                  ${s(persys.statusRunning)}`);
    lines.push(`           apply -f returned                         ${s(persys.command)}`);
    lines.push(`           rounds: ${persys.rounds.map((r) => `${fmt(r.allRunningS, 2)}/${fmt(r.statusRunningS ?? NaN, 2)} s (teardown ${fmt(r.teardownS, 2)} s)`).join(', ')}`);
  }
  if (compose) {
    lines.push(`  compose  up -d → all services running in Docker     ${s(compose.allRunning)}`);
    lines.push(`           up -d returned                            ${s(compose.command)}`);
    lines.push(`           rounds: ${compose.rounds.map((r) => `${fmt(r.allRunningS, 2)}/${fmt(r.commandS, 2)} s (teardown ${fmt(r.teardownS, 2)} s)`).join(', ')}`);
  }
  const ratios = {
    /** Same criterion for both: every service running per Docker. */
    allRunning: persys && compose ? round(persys.allRunning.mean / compose.allRunning.mean, 2) : undefined,
    /** Each tool's own "up": persys status Running against docker-compose up -d returning. */
    done: persys?.statusRunning && compose ? round(persys.statusRunning.mean / compose.command.mean, 2) : undefined,
  };
  if (ratios.allRunning !== undefined) lines.push(`  persys/compose (all running in Docker)          ${fmt(ratios.allRunning, 2)} (target ≤ 1) ${ratios.allRunning <= 1 ? 'MET' : 'MISSED'}`);
  if (ratios.done !== undefined) lines.push(`  persys/compose (status Running / up -d return)  ${fmt(ratios.done, 2)}`);
  console.log(lines.join('\n'));
  return ratios;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  process.env.PERSYS_E2E_LOG_LEVEL = opts.logLevel;
  const docker = await ensureDocker();
  const { stdout: composeVersion } = await run('docker-compose', ['version', '--short']);
  const dir = mkdtempSync(join(tmpdir(), 'persys-bench-compose-'));
  const composePath = join(dir, 'docker-compose.yml');
  const stackPath = join(dir, 'stack.yaml');
  writeFileSync(composePath, COMPOSE_FILE);
  writeFileSync(stackPath, stackManifest());
  // Leftovers of an interrupted run would make the first round look done.
  await removeProject(docker, PERSYS_PROJECT);
  await removeProject(docker, COMPOSE_PROJECT);

  const errors: string[] = [];
  const rounds: { persys: Round[]; compose: Round[] } = { persys: [], compose: [] };
  let cluster: TestCluster | undefined;
  try {
    if (!opts.skip.has('persys')) {
      cluster = await TestCluster.start({ agents: [{ name: NODE, dockerHost: 'unix:///var/run/docker.sock' }], etcdFsync: true });
      await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    }
    const total = opts.warmup + opts.rounds;
    for (let i = 1; i <= total; i++) {
      const measured = i > opts.warmup;
      const n = i - opts.warmup;
      // Alternate which system goes first, so neither always runs on the warmer engine.
      const order = i % 2 ? ['persys', 'compose'] : ['compose', 'persys'];
      for (const system of order) {
        if (opts.skip.has(system)) continue;
        console.error(`[${new Date().toISOString()}] ${system} ${measured ? `round ${n}` : `warm-up ${i}`}`);
        try {
          const r = system === 'persys' ? await persysRound(cluster!, docker, stackPath, opts, n) : await composeRound(docker, composePath, opts, n);
          if (measured) rounds[system as 'persys' | 'compose'].push(r);
        } catch (e) {
          errors.push(`${system} round ${i}: ${e instanceof ApiError ? `${e.codeName}: ${e.message}` : (e as Error).stack ?? String(e)}`);
          if (system === 'persys' && cluster) {
            await cluster.client.delete('ComposeStack', STACK, NAMESPACE).catch(() => undefined);
            console.error(cluster.logs());
          }
          await removeProject(docker, system === 'persys' ? PERSYS_PROJECT : COMPOSE_PROJECT);
        }
      }
    }
  } finally {
    await cluster?.stop().catch((e) => console.error(`cluster stop: ${String(e)}`));
    // The agent leaves its containers running when it stops; nothing of either project may outlive the run.
    await removeProject(docker, PERSYS_PROJECT);
    await removeProject(docker, COMPOSE_PROJECT);
    rmSync(dir, { recursive: true, force: true });
  }

  const persys = rounds.persys.length ? summarizeRounds(rounds.persys) : undefined;
  const compose = rounds.compose.length ? summarizeRounds(rounds.compose) : undefined;
  const ratios = report(opts, persys, compose);
  for (const e of errors) console.error(`round failed: ${e}`);
  emitResult({
    bench: 'compose',
    at: new Date().toISOString(),
    rounds: opts.rounds,
    warmup: opts.warmup,
    services: SERVICES,
    dockerCompose: composeVersion.trim(),
    persys,
    compose,
    ratios,
    errors,
  }, opts.json, errors);
}

runBench(main);
