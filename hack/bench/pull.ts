// Pull benchmark (issue 12): 20 Containers of one private image that the node does not have, applied at
// once, until all run, against `docker pull` + 20× `docker run -d` of the same image; and how many pulls
// the registry saw. Debian's docker-registry with htpasswd auth on loopback; a fresh image every round.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import { TestCluster } from '../../e2e/harness/cluster.js';
import { ensureDocker, HOST_SOCKET } from '../../e2e/harness/docker.js';
import { buildSizedImage, startRegistry, type TestRegistry } from '../../e2e/harness/registry.js';
import { fmt, summarize } from './stats.js';
import { benchFlags, emitResult, intFlag, runBench, skipFlag, until as untilEvery } from './until.js';

const run = promisify(execFile);
const NODE = 'bench-pull';
const NAMESPACE = 'bench-pull';
const REPO = 'bench/app';
const USER = 'bench';
const PASSWORD = 'bench-password';
const DOCKER_LABEL = 'persys-bench-pull';
const POLL_MS = 50;
const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> =>
  untilEvery(what, timeoutMs, probe, done, POLL_MS);

const USAGE = `usage: node --import tsx hack/bench/pull.ts [flags]
  --containers N     Containers of the one image (default 20)
  --image-mb MB      size of the image's own layer (default 32)
  --rounds R         measured rounds per system (default 3)
  --log-level LEVEL  log level of the persys processes (default warn)
  --timeout SECONDS  deadline of every single wait (default 180)
  --skip LIST        comma-separated systems to skip: persys, docker
  --json FILE        also write the JSON result there`;

interface Options {
  containers: number;
  imageBytes: number;
  rounds: number;
  logLevel: string;
  timeoutMs: number;
  skip: Set<string>;
  json?: string;
}

function parseOptions(argv: string[]): Options {
  const values = benchFlags(argv, USAGE, {
    containers: { type: 'string', default: '20' },
    'image-mb': { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'warn' },
    timeout: { type: 'string', default: '180' },
    skip: { type: 'string', default: '' },
    json: { type: 'string' },
  });
  const int = intFlag(USAGE);
  return {
    containers: int('containers', values.containers, 1),
    imageBytes: int('image-mb', values['image-mb'], 1) * 1024 * 1024,
    rounds: int('rounds', values.rounds, 1),
    logLevel: values['log-level'],
    timeoutMs: int('timeout', values.timeout, 1) * 1000,
    skip: skipFlag(values.skip, ['persys', 'docker'], USAGE),
    json: values.json,
  };
}

const round = (v: number, d = 3) => (Number.isFinite(v) ? Number(v.toFixed(d)) : NaN);
const secondsSince = (t0: number) => (Date.now() - t0) / 1000;

interface Round {
  round: number;
  /** Until every container ran, per Docker. */
  allRunningS: number;
  /** persys only: until every Container's status said Running. */
  statusRunningS?: number;
  /** Successful manifest GETs of the round's tag: one per pull. */
  registryPulls: number;
}

/**
 * A new image for every round and system: built locally with fresh random bytes, pushed, and removed from the
 * engine again (source, tag and layers), so the node has to download every byte.
 */
async function freshImage(docker: Dockerode, registry: TestRegistry, tag: string, bytes: number): Promise<string> {
  const local = `persys-bench-pull/source:${tag}`;
  await buildSizedImage(local, bytes);
  try {
    return await registry.push(REPO, tag, local);
  } finally {
    await docker.getImage(local).remove({ force: true }).catch(() => undefined);
  }
}

async function removeImage(docker: Dockerode, ref: string): Promise<void> {
  await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// persys

function manifests(ref: string, n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    docs.push(`apiVersion: persys.dev/v1
kind: Container
metadata: {name: app-${i}, namespace: ${NAMESPACE}}
spec:
  image: ${ref}
  imagePullSecrets: [{name: regcred}]
  command: [sh, -c, "exec sleep 3600"]`);
  }
  return `${docs.join('\n---\n')}\n`;
}

async function runningPersysContainers(docker: Dockerode): Promise<number> {
  const list = await docker.listContainers({ filters: { label: [`dev.persys.namespace=${NAMESPACE}`] } });
  return list.length;
}

async function persysRound(cluster: TestCluster, docker: Dockerode, registry: TestRegistry, dir: string, opts: Options, n: number): Promise<Round> {
  const tag = `persys-${n}-${Date.now()}`;
  const ref = await freshImage(docker, registry, tag, opts.imageBytes);
  const file = join(dir, `persys-${n}.yaml`);
  writeFileSync(file, manifests(ref, opts.containers));
  const t0 = Date.now();
  const applied = await cluster.persys(['apply', '-f', file]);
  if (applied.code !== 0) throw new Error(`persys apply exited ${applied.code}: ${applied.stderr}`);
  let allRunningS: number | undefined;
  let statusRunningS: number | undefined;
  await until(`persys: ${opts.containers} Containers running`, opts.timeoutMs, async () => {
    if (allRunningS === undefined && (await runningPersysContainers(docker)) === opts.containers) allRunningS = secondsSince(t0);
    if (statusRunningS === undefined) {
      const list = await cluster.client.list('Container', { namespace: NAMESPACE });
      if (list.items.filter((c) => c.status?.phase === 'Running').length === opts.containers) statusRunningS = secondsSince(t0);
    }
    return allRunningS !== undefined && statusRunningS !== undefined;
  }, (done) => done);
  const registryPulls = registry.manifestPulls(REPO, tag);
  const del = await cluster.persys(['delete', '-f', file, '--wait', '--timeout', `${opts.timeoutMs / 1000}s`]);
  if (del.code !== 0) throw new Error(`persys delete exited ${del.code}: ${del.stderr}`);
  await until('persys: containers gone', opts.timeoutMs, () => runningPersysContainers(docker), (left) => left === 0);
  await removeImage(docker, ref);
  return { round: n, allRunningS: round(allRunningS!), statusRunningS: round(statusRunningS!), registryPulls };
}

// ---------------------------------------------------------------------------------------------
// docker: what a shell script does, `docker pull` then `docker run -d` in a loop

async function dockerRound(docker: Dockerode, registry: TestRegistry, dockerConfig: string, opts: Options, n: number): Promise<Round> {
  const tag = `docker-${n}-${Date.now()}`;
  const ref = await freshImage(docker, registry, tag, opts.imageBytes);
  const cli = (...args: string[]) =>
    run('docker', ['-H', `unix://${HOST_SOCKET}`, ...args], { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, timeout: opts.timeoutMs });
  const t0 = Date.now();
  await cli('pull', '-q', ref);
  for (let i = 0; i < opts.containers; i++) await cli('run', '-d', '--label', DOCKER_LABEL, ref, 'sh', '-c', 'exec sleep 3600');
  const allRunningS = secondsSince(t0);
  const registryPulls = registry.manifestPulls(REPO, tag);
  await removeDockerContainers(docker);
  await removeImage(docker, ref);
  return { round: n, allRunningS: round(allRunningS), registryPulls };
}

async function removeDockerContainers(docker: Dockerode): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [DOCKER_LABEL] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

// ---------------------------------------------------------------------------------------------

function report(opts: Options, persys: Round[], dockerRounds: Round[]) {
  const s = (x: ReturnType<typeof summarize>) => `p50 ${fmt(x.p50, 2)} s (min ${fmt(x.min, 2)}, max ${fmt(x.max, 2)})`;
  const lines = [
    `pull benchmark: ${opts.containers} containers of one ${opts.imageBytes / 1024 / 1024} MiB private image the node does not have, registry with basic auth on loopback, ${opts.rounds} rounds, a fresh image each round`,
  ];
  const p = persys.length ? summarize(persys.map((r) => r.allRunningS)) : undefined;
  const ps = persys.length ? summarize(persys.map((r) => r.statusRunningS ?? NaN)) : undefined;
  const d = dockerRounds.length ? summarize(dockerRounds.map((r) => r.allRunningS)) : undefined;
  if (p && ps) {
    lines.push(`  persys  apply -f → all running in Docker   ${s(p)}`);
    lines.push(`          apply -f → every status Running    ${s(ps)}`);
    lines.push(`          registry pulls per round: ${persys.map((r) => r.registryPulls).join(', ')}`);
  }
  if (d) {
    lines.push(`  docker  pull + ${opts.containers}× run -d               ${s(d)}`);
    lines.push(`          registry pulls per round: ${dockerRounds.map((r) => r.registryPulls).join(', ')}`);
  }
  const ratio = p && d ? round(p.p50 / d.p50, 2) : undefined;
  if (ratio !== undefined) lines.push(`  persys/docker (p50, all running in Docker)  ${fmt(ratio, 2)}`);
  console.log(lines.join('\n'));
  return { ratio, persys: p, persysStatus: ps, docker: d };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  process.env.PERSYS_E2E_LOG_LEVEL = opts.logLevel;
  const docker = await ensureDocker();
  const dir = mkdtempSync(join(tmpdir(), 'persys-bench-pull-'));
  const registry = await startRegistry({ auth: { username: USER, password: PASSWORD } });
  const dockerConfig = join(dir, 'docker-config');
  await run('docker', ['-H', `unix://${HOST_SOCKET}`, 'login', '-u', USER, '-p', PASSWORD, registry.address], {
    env: { ...process.env, DOCKER_CONFIG: dockerConfig },
  });
  await removeDockerContainers(docker);

  const errors: string[] = [];
  const rounds: { persys: Round[]; docker: Round[] } = { persys: [], docker: [] };
  let cluster: TestCluster | undefined;
  try {
    if (!opts.skip.has('persys')) {
      cluster = await TestCluster.start({ agents: [{ name: NODE, dockerHost: 'unix:///var/run/docker.sock' }], etcdFsync: true });
      await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
      const secret = await cluster.persys([
        'create', 'secret', 'docker-registry', 'regcred', '-n', NAMESPACE,
        `--docker-server=${registry.address}`, `--docker-username=${USER}`, `--docker-password=${PASSWORD}`,
      ]);
      if (secret.code !== 0) throw new Error(`create secret failed: ${secret.stderr}`);
    }
    for (let n = 1; n <= opts.rounds; n++) {
      // Alternate which system goes first, so neither always runs on the warmer engine.
      const order = n % 2 ? ['persys', 'docker'] : ['docker', 'persys'];
      for (const system of order) {
        if (opts.skip.has(system)) continue;
        try {
          if (system === 'persys') rounds.persys.push(await persysRound(cluster!, docker, registry, dir, opts, n));
          else rounds.docker.push(await dockerRound(docker, registry, dockerConfig, opts, n));
        } catch (e) {
          errors.push(`${system} round ${n}: ${(e as Error).message}`);
          console.error(`${system} round ${n} failed: ${(e as Error).message}${cluster ? `\n${cluster.logs()}` : ''}`);
        }
      }
    }
  } finally {
    await cluster?.stop();
    await removeDockerContainers(docker);
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const summary = report(opts, rounds.persys, rounds.docker);
  emitResult({ benchmark: 'pull', options: { ...opts, skip: [...opts.skip] }, rounds, summary, errors }, opts.json, errors);
}

runBench(main);
