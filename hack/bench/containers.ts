// Container start-up benchmark (issue 3): N Containers applied to a one-node persys cluster until all are
// Running, against raw dockerode and a Docker Swarm service on the same engine, plus the agent's idle cost.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, createWriteStream, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/client.js';
import { ManagedProcess, TestCluster } from '../../e2e/harness/cluster.js';
import { ensureDocker, TEST_IMAGE } from '../../e2e/harness/docker.js';
import { decodeJsonLines, type DockerEvent } from '../../node-agent/docker/events.js';
import { LABEL_NAME, LABEL_NAMESPACE } from '../../node-agent/docker/labels.js';
import { cpuSeconds, machineBusySeconds } from './process-cpu.js';
import { fmt, summarize } from './stats.js';
import { benchFlags, emitResult, intFlag, runBench, skipFlag, until } from './until.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const COMMAND = ['sh', '-c', 'exec sleep 3600'];
const NODE = 'bench-node';
const SWARM_SERVICE = 'persys-bench';
/** Marks the raw phase's containers so cleanup finds exactly those. */
const RAW_LABEL = 'dev.persys-bench.run';
const PERSYS_TARGET = 1.3;

const USAGE = `usage: node --import tsx hack/bench/containers.ts [flags]
  --count N               containers per phase (default 50)
  --concurrency C         raw phase parallelism (default: the agent's, read from node-agent/agent.ts)
  --idle SECONDS          agent idle CPU window, with the N containers running (default 30)
  --settle SECONDS        quiet time before the idle window (default 5)
  --heartbeat-interval D  the agent's heartbeat (default 10s, the product default; the e2e harness uses 1s)
  --log-level LEVEL       log level of the persys processes (default info)
  --log-dir DIR           where the persys processes' logs go (default a new directory under /tmp)
  --timeout SECONDS       deadline of every single wait (default 180)
  --skip LIST             comma-separated phases to skip: persys, raw, swarm
  --json FILE             also write the JSON result there`;

interface Options {
  count: number;
  concurrency: number;
  idleS: number;
  settleS: number;
  heartbeat: string;
  logLevel: string;
  logDir: string;
  timeoutMs: number;
  skip: Set<string>;
  json?: string;
}

/** The agent's default parallelism, read from its source so the raw phase cannot silently drift from it. */
function agentConcurrency(): { value: number; source: string } {
  const src = readFileSync(join(REPO, 'node-agent/agent.ts'), 'utf8');
  const m = /this\.concurrency = opts\.concurrency \?\? (\d+)/.exec(src);
  return m ? { value: Number(m[1]), source: 'node-agent/agent.ts default' } : { value: 8, source: 'assumed (pattern not found in node-agent/agent.ts)' };
}

function parseOptions(argv: string[]): Options & { concurrencySource: string } {
  const values = benchFlags(argv, USAGE, {
    count: { type: 'string', default: '50' },
    concurrency: { type: 'string' },
    idle: { type: 'string', default: '30' },
    settle: { type: 'string', default: '5' },
    'heartbeat-interval': { type: 'string', default: '10s' },
    'log-level': { type: 'string', default: 'info' },
    'log-dir': { type: 'string' },
    timeout: { type: 'string', default: '180' },
    skip: { type: 'string', default: '' },
    json: { type: 'string' },
  });
  const int = intFlag(USAGE);
  const agent = agentConcurrency();
  const skip = skipFlag(values.skip, ['persys', 'raw', 'swarm'], USAGE);
  return {
    count: int('count', values.count, 1),
    concurrency: values.concurrency === undefined ? agent.value : int('concurrency', values.concurrency, 1),
    concurrencySource: values.concurrency === undefined ? agent.source : '--concurrency',
    idleS: int('idle', values.idle, 1),
    settleS: int('settle', values.settle, 0),
    heartbeat: values['heartbeat-interval'],
    logLevel: values['log-level'],
    logDir: values['log-dir'] ?? join(tmpdir(), `persys-bench-containers-${process.pid}`),
    timeoutMs: int('timeout', values.timeout, 1) * 1000,
    skip,
    json: values.json,
  };
}



async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
}

const secondsSince = (t0: number, t = Date.now()) => (t - t0) / 1000;

/** Engine events of the containers matching `label`, with wall-clock times, until stopped. */
class DockerTimeline {
  readonly byName = new Map<string, Record<string, number>>();
  private readonly abort = new AbortController();
  private done?: Promise<void>;

  constructor(private readonly docker: Dockerode, private readonly label: string, private readonly nameLabel?: string) {}

  async start(): Promise<void> {
    const filters = JSON.stringify({ type: ['container'], label: [this.label] });
    const stream = (await this.docker.getEvents({ filters, abortSignal: this.abort.signal } as Dockerode.GetEventsOptions)) as unknown as Readable;
    this.done = (async () => {
      try {
        for await (const ev of decodeJsonLines<DockerEvent>(stream)) {
          const attrs = ev.Actor.Attributes ?? {};
          const name = (this.nameLabel ? attrs[this.nameLabel] : undefined) ?? attrs.name ?? ev.Actor.ID;
          const rec = this.byName.get(name) ?? {};
          rec[ev.Action] ??= ev.timeNano / 1e6;
          this.byName.set(name, rec);
        }
      } catch (e) {
        if (!this.abort.signal.aborted) console.error(`docker events stream broke: ${String(e)}`);
      } finally {
        stream.destroy();
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  times(action: string): number[] {
    return [...this.byName.values()].map((r) => r[action]).filter((t): t is number => t !== undefined);
  }
}

/** Milestones of a phase: when the first and the last object reached each, in seconds after t0. */
function milestones(t0: number, series: Record<string, number[]>): Record<string, { n: number; first: number; p50: number; last: number }> {
  const out: Record<string, { n: number; first: number; p50: number; last: number }> = {};
  for (const [k, ts] of Object.entries(series)) {
    if (!ts.length) continue;
    const s = summarize(ts.map((t) => secondsSince(t0, t)));
    out[k] = { n: s.count, first: round(s.min), p50: round(s.p50), last: round(s.max) };
  }
  return out;
}

const round = (v: number, d = 3) => (Number.isFinite(v) ? Number(v.toFixed(d)) : NaN);

// ---------------------------------------------------------------------------------------------
// persys

interface AgentIdle {
  rssKiB: number;
  rssAfterKiB: number;
  hwmKiB: number;
  cpuPercentOfOneCore: number;
  windowS: number;
  /** Status writes seen while idle: should be 0 when nothing changes. */
  statusChanges: number;
  machineBusyPercent?: number;
}

interface PersysResult {
  seconds: number;
  applySeconds: number;
  deleteSeconds: number;
  milestones: ReturnType<typeof milestones>;
  /** Per container: Docker start → Running seen through the API (status reporting delay). */
  startToRunningS: ReturnType<typeof summarize>;
  /** Per container: scheduled (nodeName set) → Docker create (desired state reaching the agent + its queue). */
  scheduledToCreateS: ReturnType<typeof summarize>;
  /** Per container: Docker create → Docker start (the engine). */
  createToStartS: ReturnType<typeof summarize>;
  phasesSeen: Record<string, number>;
  idle: AgentIdle;
}

function containerManifest(name: string, namespace: string): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace, labels: { app: 'bench' } },
    spec: { image: TEST_IMAGE, command: COMMAND },
  };
}

function statusOf(kiB: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(kiB);
  return m ? Number(m[1]) : NaN;
}

function procStatus(pid: number): string {
  return readFileSync(`/proc/${pid}/status`, 'utf8');
}

/** Starts the agent like `persys agent` is run, with a heartbeat of our choosing (the harness fixes 1 s). */
async function startAgent(cluster: TestCluster, opts: Options, logs: Map<string, WriteStream>): Promise<ManagedProcess> {
  const token = await cluster.persys(['token', 'create', '--ttl', '1h']);
  const tok = /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/.exec(token.stdout)?.[0];
  const hash = /sha256:[0-9a-f]{64}/.exec(token.stdout)?.[0];
  if (!tok || !hash) throw new Error(`token create printed no token/hash:\n${token.stdout}\n${token.stderr}`);
  const dataDir = join(cluster.dir, 'agents', NODE);
  mkdirSync(dataDir, { recursive: true });
  const proc = new ManagedProcess(
    `agent ${NODE}`,
    () => [
      'agent',
      '--server', `127.0.0.1:${cluster.apiPort}`,
      '--join-server', `127.0.0.1:${cluster.joinPort}`,
      '--token', tok,
      '--ca-cert-hash', hash,
      '--node-name', NODE,
      '--data-dir', dataDir,
      '--docker-host', 'unix:///var/run/docker.sock',
      '--heartbeat-interval', opts.heartbeat,
      '--metrics-listen', '127.0.0.1:0',
    ],
    cluster.dir,
  );
  cluster.agents.set(NODE, proc);
  proc.start();
  tee(proc, 'agent', logs, opts.logDir);
  await cluster.waitNodeReady(NODE, opts.timeoutMs);
  return proc;
}

/** Keeps a process's whole output in a file (the harness keeps only its tail). */
function tee(proc: ManagedProcess, name: string, logs: Map<string, WriteStream>, dir: string): void {
  if (!proc.child) return;
  const out = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
  logs.set(name, out);
  proc.child.stdout!.on('data', (d: Buffer) => out.write(d));
  proc.child.stderr!.on('data', (d: Buffer) => out.write(d));
}

async function benchPersys(docker: Dockerode, opts: Options): Promise<PersysResult> {
  process.env.PERSYS_E2E_LOG_LEVEL = opts.logLevel;
  const logs = new Map<string, WriteStream>();
  const cluster = await TestCluster.start({ agents: [] });
  const namespace = `bench-${process.pid}`;
  const nsLabel = `${LABEL_NAMESPACE}=${namespace}`;
  const names = Array.from({ length: opts.count }, (_, i) => `sleep-${i}`);
  const stopWatch = new AbortController();
  const timeline = new DockerTimeline(docker, nsLabel, LABEL_NAME);
  try {
    tee(cluster.apiserver, 'apiserver', logs, opts.logDir);
    tee(cluster.controllers, 'controllers', logs, opts.logDir);
    const agent = await startAgent(cluster, opts, logs);
    await cluster.client.apply({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: namespace } });

    // Watching from the list's revision misses nothing, however late the stream connects.
    const { resourceVersion } = await cluster.client.list('Container', { namespace });
    const seen = new Map<string, Record<string, number>>();
    const phasesSeen: Record<string, number> = {};
    let statusEvents = 0;
    let watchError: unknown;
    const watching = (async () => {
      try {
        for await (const ev of cluster.client.watch('Container', { namespace, resourceVersion, signal: stopWatch.signal })) {
          const o = ev.object;
          if (!o?.metadata.name || ev.type === 'BOOKMARK') continue;
          const rec = seen.get(o.metadata.name) ?? {};
          const t = Date.now();
          if (o.spec?.nodeName) rec.bound ??= t;
          const phase = o.status?.phase as string | undefined;
          if (phase && rec[phase] === undefined) {
            rec[phase] = t;
            phasesSeen[phase] = (phasesSeen[phase] ?? 0) + 1;
          }
          statusEvents++;
          seen.set(o.metadata.name, rec);
        }
      } catch (e) {
        watchError = e;
      }
    })();
    await timeline.start();

    const t0 = Date.now();
    await Promise.all(names.map((n) => cluster.client.apply(containerManifest(n, namespace))));
    const applySeconds = secondsSince(t0);
    const running = () => names.filter((n) => seen.get(n)?.Running !== undefined).length;
    await until(`${opts.count} Containers Running (watch)`, opts.timeoutMs, async () => {
      if (watchError) throw watchError;
      return running();
    }, (n) => n === opts.count, 20);
    const seconds = secondsSince(t0);

    // The API says Running; check the engine agrees before measuring the idle agent.
    const inEngine = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [nsLabel] }) } as Dockerode.ContainerListOptions);
    const notRunning = inEngine.filter((c) => c.State !== 'running');
    if (inEngine.length !== opts.count || notRunning.length) {
      throw new Error(`API says ${opts.count} Running but the engine has ${inEngine.length} containers, ${notRunning.length} not running`);
    }

    await sleep(opts.settleS * 1000);
    const pid = agent.child!.pid!;
    const before = procStatus(pid);
    const cpu0 = cpuSeconds(pid);
    const machine0 = machineBusySeconds();
    const events0 = statusEvents;
    const w0 = performance.now();
    await sleep(opts.idleS * 1000);
    const windowS = (performance.now() - w0) / 1000;
    const cpu1 = cpuSeconds(pid);
    const machine1 = machineBusySeconds();
    const after = procStatus(pid);
    const idle: AgentIdle = {
      rssKiB: statusOf(before, 'VmRSS'),
      rssAfterKiB: statusOf(after, 'VmRSS'),
      hwmKiB: statusOf(after, 'VmHWM'),
      cpuPercentOfOneCore: cpu0 !== undefined && cpu1 !== undefined ? round(((cpu1 - cpu0) / windowS) * 100, 2) : NaN,
      windowS: round(windowS, 1),
      statusChanges: statusEvents - events0,
      machineBusyPercent: machine0 !== undefined && machine1 !== undefined ? round(((machine1 - machine0) / windowS) * 100, 1) : undefined,
    };

    const d0 = Date.now();
    await Promise.all(names.map((n) => cluster.client.delete('Container', n, namespace)));
    await until('the engine to have none of the persys containers', opts.timeoutMs, () =>
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [nsLabel] }) } as Dockerode.ContainerListOptions), (l) => l.length === 0, 100);
    await until('the API to have no Containers left', opts.timeoutMs, () => cluster.client.list('Container', { namespace }), (l) => l.items.length === 0, 200);
    const deleteSeconds = secondsSince(d0);

    const per = (from: (n: string) => number | undefined, to: (n: string) => number | undefined) =>
      summarize(names.flatMap((n) => {
        const [a, b] = [from(n), to(n)];
        return a !== undefined && b !== undefined ? [(b - a) / 1000] : [];
      }));
    const dockerAt = (action: string) => (n: string) => timeline.byName.get(n)?.[action];
    const apiAt = (k: string) => (n: string) => seen.get(n)?.[k];
    return {
      seconds: round(seconds),
      applySeconds: round(applySeconds),
      deleteSeconds: round(deleteSeconds),
      milestones: milestones(t0, {
        bound: names.map(apiAt('bound')).filter((t): t is number => t !== undefined),
        dockerCreate: names.map(dockerAt('create')).filter((t): t is number => t !== undefined),
        dockerStart: names.map(dockerAt('start')).filter((t): t is number => t !== undefined),
        running: names.map(apiAt('Running')).filter((t): t is number => t !== undefined),
      }),
      startToRunningS: per(dockerAt('start'), apiAt('Running')),
      scheduledToCreateS: per(apiAt('bound'), dockerAt('create')),
      createToStartS: per(dockerAt('create'), dockerAt('start')),
      phasesSeen,
      idle,
    };
  } finally {
    stopWatch.abort();
    await timeline.stop();
    // Deleting through the API failed or was never reached: remove what the agent made, by its labels.
    await cluster.stop().catch((e) => console.error(`cluster stop: ${String(e)}`));
    await removeByLabel(docker, nsLabel);
    for (const s of logs.values()) s.end();
  }
}

async function removeByLabel(docker: Dockerode, label: string): Promise<number> {
  const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [label] }) } as Dockerode.ContainerListOptions);
  await pool(left, 8, async (c) => {
    await docker.getContainer(c.Id).remove({ force: true }).catch((e: Error & { statusCode?: number }) => {
      if (e.statusCode !== 404) console.error(`cleanup: removing ${c.Id.slice(0, 12)}: ${e.message}`);
    });
  });
  return left.length;
}

// ---------------------------------------------------------------------------------------------
// raw dockerode

interface RawResult {
  seconds: number;
  /** Until the last start call returned, before the inspect check. */
  startedSeconds: number;
  concurrency: number;
  removeSeconds: number;
}

async function benchRaw(docker: Dockerode, opts: Options): Promise<RawResult> {
  const runId = `raw-${process.pid}-${Date.now().toString(36)}`;
  const label = `${RAW_LABEL}=${runId}`;
  const names = Array.from({ length: opts.count }, (_, i) => `persys-bench-${runId}-${i}`);
  const ids = new Map<string, string>();
  try {
    const t0 = Date.now();
    // What the agent asks of the engine for this spec (node-agent/docker/spec.ts), minus its labels' values.
    await pool(names, opts.concurrency, async (name) => {
      const c = await docker.createContainer({
        name,
        Image: TEST_IMAGE,
        Entrypoint: COMMAND,
        Env: [],
        Labels: { [RAW_LABEL]: runId },
        HostConfig: { RestartPolicy: { Name: 'no' }, Mounts: [], PortBindings: {} },
      });
      ids.set(name, c.id);
      await c.start();
    });
    const startedSeconds = secondsSince(t0);
    await pool(names, opts.concurrency, async (name) => {
      await until(`${name} to be running`, opts.timeoutMs, () => docker.getContainer(ids.get(name)!).inspect(), (i) => i.State.Running, 20);
    });
    const seconds = secondsSince(t0);
    const r0 = Date.now();
    await removeByLabel(docker, label);
    await until('the raw containers to be gone', opts.timeoutMs, () =>
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [label] }) } as Dockerode.ContainerListOptions), (l) => l.length === 0);
    return { seconds: round(seconds), startedSeconds: round(startedSeconds), concurrency: opts.concurrency, removeSeconds: round(secondsSince(r0)) };
  } finally {
    await removeByLabel(docker, label);
  }
}

// ---------------------------------------------------------------------------------------------
// Docker Swarm

interface SwarmResult {
  seconds: number;
  /** Until `docker service ls` showed N/N. */
  replicasSeconds?: number;
  initialisedSwarm: boolean;
  removeSeconds: number;
}

const dockerCli = async (args: string[], timeoutMs = 60_000) => (await run('docker', args, { timeout: timeoutMs, maxBuffer: 16 << 20 })).stdout.trim();

async function benchSwarm(docker: Dockerode, opts: Options): Promise<SwarmResult> {
  const state = await dockerCli(['info', '--format', '{{.Swarm.LocalNodeState}}']);
  let initialised = false;
  if (state === 'inactive') {
    await dockerCli(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    initialised = true;
  } else if (state !== 'active') {
    throw new Error(`the engine's swarm state is ${JSON.stringify(state)}; expected inactive or active`);
  }
  const taskLabel = `com.docker.swarm.service.name=${SWARM_SERVICE}`;
  try {
    // A service left by an interrupted run would be counted as ours.
    await dockerCli(['service', 'rm', SWARM_SERVICE]).catch(() => undefined);
    await until('leftover swarm tasks to be gone', opts.timeoutMs, () =>
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [taskLabel] }) } as Dockerode.ContainerListOptions), (l) => l.length === 0, 250);

    const t0 = Date.now();
    await dockerCli([
      'service', 'create', '--detach', '--no-resolve-image', '--name', SWARM_SERVICE, '--replicas', String(opts.count),
      TEST_IMAGE, ...COMMAND,
    ]);
    let replicasSeconds: number | undefined;
    await until(`${opts.count} swarm tasks running`, opts.timeoutMs, async () => {
      if (replicasSeconds === undefined) {
        const replicas = await dockerCli(['service', 'ls', '--filter', `name=${SWARM_SERVICE}`, '--format', '{{.Name}} {{.Replicas}}']);
        if (replicas.split('\n').some((l) => l === `${SWARM_SERVICE} ${opts.count}/${opts.count}`)) replicasSeconds = secondsSince(t0);
      }
      const ps = await dockerCli(['service', 'ps', SWARM_SERVICE, '--filter', 'desired-state=running', '--format', '{{.CurrentState}}']);
      return ps.split('\n').filter((l) => l.startsWith('Running')).length;
    }, (n) => n === opts.count, 100);
    const seconds = secondsSince(t0);

    const r0 = Date.now();
    await dockerCli(['service', 'rm', SWARM_SERVICE]);
    await until('the swarm containers to be gone', opts.timeoutMs, () =>
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [taskLabel] }) } as Dockerode.ContainerListOptions), (l) => l.length === 0, 250);
    return { seconds: round(seconds), replicasSeconds: replicasSeconds === undefined ? undefined : round(replicasSeconds), initialisedSwarm: initialised, removeSeconds: round(secondsSince(r0)) };
  } finally {
    await dockerCli(['service', 'rm', SWARM_SERVICE]).catch(() => undefined);
    await until('the swarm containers to be gone', opts.timeoutMs, () =>
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [taskLabel] }) } as Dockerode.ContainerListOptions), (l) => l.length === 0, 250)
      .catch((e) => console.error(`cleanup: ${String(e)}`));
    if (initialised) await dockerCli(['swarm', 'leave', '--force']).catch((e) => console.error(`cleanup: swarm leave: ${String(e)}`));
  }
}

// ---------------------------------------------------------------------------------------------

/** Wakes the engine (first creates after idle are slower) so no phase pays for that alone. */
async function warmUp(docker: Dockerode, concurrency: number): Promise<void> {
  const label = `${RAW_LABEL}=warmup-${process.pid}`;
  try {
    await pool([0, 1, 2, 3], concurrency, async (i) => {
      const c = await docker.createContainer({
        name: `persys-bench-warmup-${process.pid}-${i}`,
        Image: TEST_IMAGE,
        Entrypoint: COMMAND,
        Labels: { [RAW_LABEL]: `warmup-${process.pid}` },
        HostConfig: { RestartPolicy: { Name: 'no' } },
      });
      await c.start();
    });
  } finally {
    await removeByLabel(docker, label);
  }
}

function report(opts: Options & { concurrencySource: string }, r: { persys?: PersysResult; raw?: RawResult; swarm?: SwarmResult; otherContainers: number }) {
  const { persys, raw, swarm } = r;
  const lines = [
    `containers benchmark: N=${opts.count}, image ${TEST_IMAGE}, command ${JSON.stringify(COMMAND)}`,
    `  agent concurrency ${opts.concurrency} (${opts.concurrencySource}); agent heartbeat ${opts.heartbeat}; containers on the engine not ours at start: ${r.otherContainers}`,
  ];
  if (persys) {
    lines.push(`  persys  ${fmt(persys.seconds, 2)} s apply → all Running (applies acknowledged after ${fmt(persys.applySeconds, 2)} s); delete → gone from engine and API ${fmt(persys.deleteSeconds, 2)} s`);
    for (const [k, m] of Object.entries(persys.milestones)) lines.push(`          ${k.padEnd(12)} first ${fmt(m.first, 2)} s  p50 ${fmt(m.p50, 2)} s  last ${fmt(m.last, 2)} s  (n=${m.n})`);
    const s = (x: ReturnType<typeof summarize>) => `p50 ${fmt(x.p50, 2)} s, max ${fmt(x.max, 2)} s`;
    lines.push(`          per container: bound→docker create ${s(persys.scheduledToCreateS)}; create→start ${s(persys.createToStartS)}; docker start→Running in API ${s(persys.startToRunningS)}`);
    lines.push(`          phases seen: ${JSON.stringify(persys.phasesSeen)}`);
    const i = persys.idle;
    lines.push(`  agent idle with ${opts.count} running: RSS ${fmt(i.rssKiB / 1024, 1)} MiB (${fmt(i.rssAfterKiB / 1024, 1)} MiB after, peak ${fmt(i.hwmKiB / 1024, 1)} MiB), CPU ${fmt(i.cpuPercentOfOneCore, 2)} % of one core over ${i.windowS} s, status changes ${i.statusChanges}, machine busy ${fmt(i.machineBusyPercent ?? NaN, 1)} %`);
  }
  if (raw) lines.push(`  raw     ${fmt(raw.seconds, 2)} s create+start (concurrency ${raw.concurrency}) until inspect says running (${fmt(raw.startedSeconds, 2)} s to the last start call)`);
  if (swarm) lines.push(`  swarm   ${fmt(swarm.seconds, 2)} s until ${opts.count} tasks Running${swarm.replicasSeconds !== undefined ? ` (service ls ${opts.count}/${opts.count} at ${fmt(swarm.replicasSeconds, 2)} s)` : ''}${swarm.initialisedSwarm ? '; swarm initialised and left by this run' : ''}`);
  const ratios = {
    persysToRaw: persys && raw ? round(persys.seconds / raw.seconds, 2) : undefined,
    persysToSwarm: persys && swarm ? round(persys.seconds / swarm.seconds, 2) : undefined,
  };
  if (ratios.persysToRaw !== undefined) lines.push(`  persys/raw   ${fmt(ratios.persysToRaw, 2)} (target ≤ ${PERSYS_TARGET}) ${ratios.persysToRaw <= PERSYS_TARGET ? 'MET' : 'MISSED'}`);
  if (ratios.persysToSwarm !== undefined) lines.push(`  persys/swarm ${fmt(ratios.persysToSwarm, 2)} (target < 1) ${ratios.persysToSwarm < 1 ? 'MET' : 'MISSED'}`);
  if (persys) lines.push(`  logs of the persys processes: ${opts.logDir}`);
  console.log(lines.join('\n'));
  return ratios;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  mkdirSync(opts.logDir, { recursive: true });
  const docker = await ensureDocker();
  const otherContainers = (await docker.listContainers({ all: true })).length;
  await warmUp(docker, opts.concurrency);
  const result: { persys?: PersysResult; raw?: RawResult; swarm?: SwarmResult; otherContainers: number } = { otherContainers };
  const errors: string[] = [];
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (opts.skip.has(name)) return undefined;
    console.error(`[${new Date().toISOString()}] ${name} phase`);
    try {
      return await fn();
    } catch (e) {
      errors.push(`${name}: ${e instanceof ApiError ? `${e.codeName}: ${e.message}` : (e as Error).stack ?? String(e)}`);
      return undefined;
    }
  };
  result.persys = await phase('persys', () => benchPersys(docker, opts));
  result.raw = await phase('raw', () => benchRaw(docker, opts));
  result.swarm = await phase('swarm', () => benchSwarm(docker, opts));
  const ratios = report(opts, result);
  for (const e of errors) console.error(`phase failed: ${e}`);
  emitResult({
    bench: 'containers',
    at: new Date().toISOString(),
    count: opts.count,
    concurrency: opts.concurrency,
    heartbeat: opts.heartbeat,
    ...result,
    ratios,
    errors,
  }, opts.json, errors);
}

runBench(main);
