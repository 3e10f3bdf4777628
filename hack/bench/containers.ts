// Container start-up benchmark: N Containers applied to a one-node persys cluster (at its shipped defaults)
// until all are Running, against raw dockerode and a Docker Swarm service on the same engine, in
// alternating rounds; plus the agent's idle cost and whether the busy node ever looked NotReady.
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
import { ApiError } from '../../lib/client/errors.js';
import { ManagedProcess, TestCluster } from '../../e2e/harness/cluster.js';
import { startSecondDocker, TEST_IMAGE, type SecondDocker } from '../../e2e/harness/docker.js';
import { decodeJsonLines, type DockerEvent } from '../../node-agent/docker/events.js';
import { LABEL_NAME, LABEL_NAMESPACE } from '../../node-agent/docker/labels.js';
import { cpuSeconds, machineBusySeconds } from './process-cpu.js';
import { fmt, roundTo, spreadOf, summarize, type Spread } from './stats.js';
import { benchFlags, emitResult, intFlag, runBench, skipFlag, until } from './until.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const COMMAND = ['sh', '-c', 'exec sleep 3600'];
const NODE = 'bench-node';
/** The engine every system runs on: a second dockerd whose Swarm prefers local images (no registry here). */
const ENGINE = 'pbc1';
const SWARM_SERVICE = 'persys-bench';
/** Marks the raw phase's containers so cleanup finds exactly those. */
const RAW_LABEL = 'dev.persys-bench.run';
const PERSYS_TARGET = 1.3;

const SYSTEMS = ['persys', 'raw', 'swarm'] as const;
type System = (typeof SYSTEMS)[number];

const USAGE = `usage: node --import tsx hack/bench/containers.ts [flags]   (npm run bench:containers)
  --count N               containers per round (default 50)
  --rounds R              measured rounds per system, after one warm-up round each (default 3)
  --concurrency C         raw phase parallelism (default: the agent's, read from node-agent/agent.ts)
  --idle SECONDS          agent idle CPU window after the last persys round, its N containers running (default 30; 0 skips)
  --settle SECONDS        quiet time before the idle window (default 5)
  --log-level LEVEL       log level of the persys processes (default info)
  --log-dir DIR           where the persys processes' logs go (default a new directory under /tmp)
  --timeout SECONDS       deadline of every single wait (default 180)
  --skip LIST             comma-separated systems to skip: persys, raw, swarm
  --json FILE             also write the JSON result there
All three run on one Docker engine in a network namespace, started with DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
(Swarm tasks use the local image, as persys does); persys runs at its shipped defaults (10 s heartbeat, node
controller defaults) with etcd fsyncing. Rounds alternate the order: warm-up P R S, then S R P, P R S, …`;

interface Options {
  count: number;
  rounds: number;
  concurrency: number;
  idleS: number;
  settleS: number;
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
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string' },
    idle: { type: 'string', default: '30' },
    settle: { type: 'string', default: '5' },
    'log-level': { type: 'string', default: 'info' },
    'log-dir': { type: 'string' },
    timeout: { type: 'string', default: '180' },
    skip: { type: 'string', default: '' },
    json: { type: 'string' },
  });
  const int = intFlag(USAGE);
  const agent = agentConcurrency();
  const skip = skipFlag(values.skip, SYSTEMS, USAGE);
  return {
    count: int('count', values.count, 1),
    rounds: int('rounds', values.rounds, 1),
    concurrency: values.concurrency === undefined ? agent.value : int('concurrency', values.concurrency, 1),
    concurrencySource: values.concurrency === undefined ? agent.source : '--concurrency',
    idleS: int('idle', values.idle, 0),
    settleS: int('settle', values.settle, 0),
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

const round = (v: number, d = 3) => roundTo(v, d);

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
  /** Measured in the last round only. */
  idle?: AgentIdle;
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

/** Starts the agent like `persys agent` is run, at its shipped defaults (the harness would set a 1 s heartbeat). */
async function startAgent(cluster: TestCluster, engine: SecondDocker, opts: Options, logs: Map<string, WriteStream>): Promise<ManagedProcess> {
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
      '--docker-host', `unix://${engine.socket}`,
      '--proxy-mode', 'off',
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

/**
 * Watches the node and its Lease for the whole run: every time Ready leaves True (a false NotReady:
 * the node is alive throughout), and the longest gap between two Lease renewals.
 */
class LivenessMonitor {
  notReady: { at: string; status: string; reason?: string; message?: string }[] = [];
  maxRenewalGapS = 0;
  renewals = 0;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private lastRenew?: number;

  constructor(private readonly cluster: TestCluster) {}

  start(): void {
    const watch = async (kind: string, namespace: string | undefined, onObject: (o: Resource) => void) => {
      for (;;) {
        try {
          for await (const ev of this.cluster.client.watch(kind, { namespace, signal: this.abort.signal })) {
            if (ev.type !== 'BOOKMARK' && ev.object?.metadata.name === NODE) onObject(ev.object);
          }
        } catch (e) {
          if (this.abort.signal.aborted) return;
          console.error(`liveness monitor: ${kind} watch broke (${String(e)}); watching again`);
          await sleep(500);
        }
        if (this.abort.signal.aborted) return;
      }
    };
    let wasReady = false;
    this.loops.push(watch('Node', undefined, (n) => {
      const ready = ((n.status?.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[]).find((c) => c.type === 'Ready');
      if (wasReady && ready && ready.status !== 'True') {
        this.notReady.push({ at: new Date().toISOString(), status: ready.status, reason: ready.reason, message: ready.message });
      }
      wasReady = ready?.status === 'True';
    }));
    this.loops.push(watch('Lease', 'persys-node-lease', (l) => {
      const t = Date.parse(l.spec?.renewTime ?? '');
      if (Number.isNaN(t) || t === this.lastRenew) return;
      if (this.lastRenew !== undefined) this.maxRenewalGapS = Math.max(this.maxRenewalGapS, round((t - this.lastRenew) / 1000, 1));
      this.lastRenew = t;
      this.renewals++;
    }));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
  }
}

interface PersysSetup {
  cluster: TestCluster;
  agent: ManagedProcess;
  monitor: LivenessMonitor;
  logs: Map<string, WriteStream>;
}

async function startPersys(engine: SecondDocker, opts: Options): Promise<PersysSetup> {
  process.env.PERSYS_E2E_LOG_LEVEL = opts.logLevel;
  const logs = new Map<string, WriteStream>();
  const cluster = await TestCluster.start({ agents: [], etcdFsync: true });
  try {
    tee(cluster.apiserver, 'apiserver', logs, opts.logDir);
    tee(cluster.controllers, 'controllers', logs, opts.logDir);
    const agent = await startAgent(cluster, engine, opts, logs);
    const monitor = new LivenessMonitor(cluster);
    monitor.start();
    return { cluster, agent, monitor, logs };
  } catch (e) {
    await cluster.stop().catch(() => undefined);
    throw e;
  }
}

async function stopPersys(p: PersysSetup, docker: Dockerode): Promise<void> {
  await p.monitor.stop();
  await p.cluster.stop().catch((e) => console.error(`cluster stop: ${String(e)}`));
  // Agents leave their containers running when they stop: remove whatever a failed round left.
  await removeByLabel(docker, LABEL_NAMESPACE);
  for (const s of p.logs.values()) s.end();
}

/** One round: N Containers applied until all are Running; the idle window when asked; then all deleted. */
async function persysRound(p: PersysSetup, docker: Dockerode, opts: Options, n: number, measureIdle: boolean): Promise<PersysResult> {
  const { cluster, agent } = p;
  const namespace = `bench-${n}`;
  const nsLabel = `${LABEL_NAMESPACE}=${namespace}`;
  const names = Array.from({ length: opts.count }, (_, i) => `sleep-${i}`);
  const stopWatch = new AbortController();
  const timeline = new DockerTimeline(docker, nsLabel, LABEL_NAME);
  try {
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
        if (!stopWatch.signal.aborted) watchError = e;
      }
    })();
    await timeline.start();

    const t0 = Date.now();
    await Promise.all(names.map((name) => cluster.client.apply(containerManifest(name, namespace))));
    const applySeconds = secondsSince(t0);
    const running = () => names.filter((name) => seen.get(name)?.Running !== undefined).length;
    await until(`${opts.count} Containers Running (watch)`, opts.timeoutMs, async () => {
      if (watchError) throw watchError;
      return running();
    }, (k) => k === opts.count, 20);
    const seconds = secondsSince(t0);

    // The API says Running; check the engine agrees before measuring the idle agent.
    const inEngine = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [nsLabel] }) } as Dockerode.ContainerListOptions);
    const notRunning = inEngine.filter((c) => c.State !== 'running');
    if (inEngine.length !== opts.count || notRunning.length) {
      throw new Error(`API says ${opts.count} Running but the engine has ${inEngine.length} containers, ${notRunning.length} not running`);
    }

    let idle: AgentIdle | undefined;
    if (measureIdle) {
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
      idle = {
        rssKiB: statusOf(before, 'VmRSS'),
        rssAfterKiB: statusOf(after, 'VmRSS'),
        hwmKiB: statusOf(after, 'VmHWM'),
        cpuPercentOfOneCore: cpu0 !== undefined && cpu1 !== undefined ? round(((cpu1 - cpu0) / windowS) * 100, 2) : NaN,
        windowS: round(windowS, 1),
        statusChanges: statusEvents - events0,
        machineBusyPercent: machine0 !== undefined && machine1 !== undefined ? round(((machine1 - machine0) / windowS) * 100, 1) : undefined,
      };
    }
    stopWatch.abort();
    await watching;

    const d0 = Date.now();
    await Promise.all(names.map((name) => cluster.client.delete('Container', name, namespace)));
    await until('the engine to have none of the persys containers', opts.timeoutMs, () =>
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [nsLabel] }) } as Dockerode.ContainerListOptions), (l) => l.length === 0, 100);
    await until('the API to have no Containers left', opts.timeoutMs, () => cluster.client.list('Container', { namespace }), (l) => l.items.length === 0, 200);
    const deleteSeconds = secondsSince(d0);
    await cluster.client.delete('Namespace', namespace);

    const per = (from: (name: string) => number | undefined, to: (name: string) => number | undefined) =>
      summarize(names.flatMap((name) => {
        const [a, b] = [from(name), to(name)];
        return a !== undefined && b !== undefined ? [(b - a) / 1000] : [];
      }));
    const dockerAt = (action: string) => (name: string) => timeline.byName.get(name)?.[action];
    const apiAt = (k: string) => (name: string) => seen.get(name)?.[k];
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
  removeSeconds: number;
}

/** The docker CLI against the benchmark's engine. */
const dockerCli = async (socket: string, args: string[], timeoutMs = 60_000) =>
  (await run('docker', ['-H', `unix://${socket}`, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 })).stdout.trim();

async function swarmRound(engine: SecondDocker, opts: Options): Promise<SwarmResult> {
  const { docker, socket } = engine;
  const taskLabel = `com.docker.swarm.service.name=${SWARM_SERVICE}`;
  try {
    const t0 = Date.now();
    await dockerCli(socket, [
      'service', 'create', '--detach', '--no-resolve-image', '--name', SWARM_SERVICE, '--replicas', String(opts.count),
      TEST_IMAGE, ...COMMAND,
    ]);
    let replicasSeconds: number | undefined;
    await until(`${opts.count} swarm tasks running`, opts.timeoutMs, async () => {
      if (replicasSeconds === undefined) {
        const replicas = await dockerCli(socket, ['service', 'ls', '--filter', `name=${SWARM_SERVICE}`, '--format', '{{.Name}} {{.Replicas}}']);
        if (replicas.split('\n').some((l) => l === `${SWARM_SERVICE} ${opts.count}/${opts.count}`)) replicasSeconds = secondsSince(t0);
      }
      const ps = await dockerCli(socket, ['service', 'ps', SWARM_SERVICE, '--filter', 'desired-state=running', '--format', '{{.CurrentState}}']);
      return ps.split('\n').filter((l) => l.startsWith('Running')).length;
    }, (k) => k === opts.count, 100);
    const seconds = secondsSince(t0);

    const r0 = Date.now();
    await dockerCli(socket, ['service', 'rm', SWARM_SERVICE]);
    await until('the swarm containers to be gone', opts.timeoutMs, () =>
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [taskLabel] }) } as Dockerode.ContainerListOptions), (l) => l.length === 0, 250);
    return { seconds: round(seconds), replicasSeconds: replicasSeconds === undefined ? undefined : round(replicasSeconds), removeSeconds: round(secondsSince(r0)) };
  } finally {
    await dockerCli(socket, ['service', 'rm', SWARM_SERVICE]).catch(() => undefined);
    await until('the swarm containers to be gone', opts.timeoutMs, () =>
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [taskLabel] }) } as Dockerode.ContainerListOptions), (l) => l.length === 0, 250)
      .catch((e) => console.error(`cleanup: ${String(e)}`));
  }
}

// ---------------------------------------------------------------------------------------------

/** Wakes the engine (first creates after idle are slower) so no system pays for that alone. */
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

/** Warm-up (round 0) then measured rounds; the order reverses every round: P R S, S R P, P R S, … */
function schedule(rounds: number, systems: System[]): { system: System; round: number }[] {
  const out: { system: System; round: number }[] = [];
  for (let n = 0; n <= rounds; n++) for (const system of n % 2 === 0 ? systems : [...systems].reverse()) out.push({ system, round: n });
  return out;
}

interface Results {
  persys: { round: number; result: PersysResult }[];
  raw: { round: number; result: RawResult }[];
  swarm: { round: number; result: SwarmResult }[];
  order: string[];
  liveness?: { falseNotReady: LivenessMonitor['notReady']; maxLeaseRenewalGapS: number; leaseRenewals: number };
}

function report(opts: Options & { concurrencySource: string }, r: Results) {
  const measured = <T extends { seconds: number }>(rs: { round: number; result: T }[]) => rs.filter((x) => x.round > 0).map((x) => x.result.seconds);
  const summaries = { persys: spreadOf(measured(r.persys)), raw: spreadOf(measured(r.raw)), swarm: spreadOf(measured(r.swarm)) };
  const lines = [
    `containers benchmark: N=${opts.count}, image ${TEST_IMAGE}, command ${JSON.stringify(COMMAND)}; one engine in a network namespace, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1`,
    `  persys at shipped defaults (agent concurrency ${opts.concurrency} from ${opts.concurrencySource}, 10 s heartbeat), etcd with fsync; order: ${r.order.join(' ')}`,
    '',
    '  round  system  seconds (apply → all running)',
  ];
  const all = [
    ...r.persys.map((x) => ({ system: 'persys', ...x })),
    ...r.raw.map((x) => ({ system: 'raw', ...x })),
    ...r.swarm.map((x) => ({ system: 'swarm', ...x })),
  ];
  for (const key of r.order) {
    const [system, n] = key.split('#');
    const x = all.find((y) => y.system === system && String(y.round) === n);
    lines.push(`  ${(n === '0' ? 'warm' : n!).padStart(5)}  ${system!.padEnd(6)}  ${x ? fmt(x.result.seconds, 2) : 'failed'}`);
  }
  lines.push('');
  for (const [system, sum] of Object.entries(summaries)) {
    if (sum) lines.push(`  ${system.padEnd(6)}  median ${fmt(sum.median, 2)} s (min ${fmt(sum.min, 2)}, max ${fmt(sum.max, 2)}, spread ${fmt(sum.spread, 2)}; n=${sum.rounds})`);
  }
  const last = r.persys.at(-1)?.result;
  if (last) {
    const s = (x: ReturnType<typeof summarize>) => `p50 ${fmt(x.p50, 2)} s, max ${fmt(x.max, 2)} s`;
    lines.push(`  persys, last round: per container bound→docker create ${s(last.scheduledToCreateS)}; create→start ${s(last.createToStartS)}; docker start→Running in API ${s(last.startToRunningS)}; phases ${JSON.stringify(last.phasesSeen)}`);
    const i = last.idle;
    if (i) lines.push(`  agent idle with ${opts.count} running: RSS ${fmt(i.rssKiB / 1024, 1)} MiB (${fmt(i.rssAfterKiB / 1024, 1)} MiB after, peak ${fmt(i.hwmKiB / 1024, 1)} MiB), CPU ${fmt(i.cpuPercentOfOneCore, 2)} % of one core over ${i.windowS} s, status changes ${i.statusChanges}, machine busy ${fmt(i.machineBusyPercent ?? NaN, 1)} %`);
  }
  if (r.liveness) {
    lines.push(`  false NotReady during the run: ${r.liveness.falseNotReady.length} (target 0)${r.liveness.falseNotReady.length ? ` ${JSON.stringify(r.liveness.falseNotReady)}` : ''}; lease renewals ${r.liveness.leaseRenewals}, longest gap ${fmt(r.liveness.maxLeaseRenewalGapS, 1)} s (heartbeat 10 s)`);
  }
  const ratio = (a?: Spread, b?: Spread) => (a && b ? round(a.median / b.median, 2) : undefined);
  const ratios = { persysToRaw: ratio(summaries.persys, summaries.raw), persysToSwarm: ratio(summaries.persys, summaries.swarm) };
  if (ratios.persysToRaw !== undefined) lines.push(`  persys/raw   median ratio ${fmt(ratios.persysToRaw, 2)} (target ≤ ${PERSYS_TARGET}) ${ratios.persysToRaw <= PERSYS_TARGET ? 'MET' : 'MISSED'}`);
  if (ratios.persysToSwarm !== undefined) lines.push(`  persys/swarm median ratio ${fmt(ratios.persysToSwarm, 2)} (target < 1) ${ratios.persysToSwarm < 1 ? 'MET' : 'MISSED'}`);
  if (r.persys.length) lines.push(`  logs of the persys processes: ${opts.logDir}`);
  lines.push('  note: a 2-core machine shared with other work; figures are noisy, compare within one run');
  console.log(lines.join('\n'));
  return { summaries, ratios };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  mkdirSync(opts.logDir, { recursive: true });
  const errors: string[] = [];
  const results: Results = { persys: [], raw: [], swarm: [], order: [] };
  const describe = (e: unknown) => (e instanceof ApiError ? `${e.codeName}: ${e.message}` : (e as Error).stack ?? String(e));
  const systems = SYSTEMS.filter((s) => !opts.skip.has(s));
  const engine = await startSecondDocker(ENGINE);
  let persys: PersysSetup | undefined;
  let stopping = false;
  const cleanup = async () => {
    if (stopping) return;
    stopping = true;
    if (persys) await stopPersys(persys, engine.docker);
    await engine.docker.swarmLeave({ force: true }).catch(() => undefined);
    await engine.stop();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    await warmUp(engine.docker, opts.concurrency);
    if (systems.includes('swarm')) await engine.docker.swarmInit({ ListenAddr: `${engine.address}:2377`, AdvertiseAddr: engine.address });
    if (systems.includes('persys')) persys = await startPersys(engine, opts);
    const broken = new Set<System>();
    for (const { system, round: n } of schedule(opts.rounds, systems)) {
      if (broken.has(system)) continue;
      results.order.push(`${system}#${n}`);
      console.error(`[${new Date().toISOString()}] ${system} ${n === 0 ? 'warm-up' : `round ${n}`}`);
      try {
        if (system === 'persys') results.persys.push({ round: n, result: await persysRound(persys!, engine.docker, opts, n, n === opts.rounds && opts.idleS > 0) });
        else if (system === 'raw') results.raw.push({ round: n, result: await benchRaw(engine.docker, opts) });
        else results.swarm.push({ round: n, result: await swarmRound(engine, opts) });
      } catch (e) {
        broken.add(system);
        errors.push(`${system} round ${n}: ${describe(e)}`);
      }
    }
    if (persys) results.liveness = { falseNotReady: persys.monitor.notReady, maxLeaseRenewalGapS: persys.monitor.maxRenewalGapS, leaseRenewals: persys.monitor.renewals };
  } catch (e) {
    errors.push(`setup: ${describe(e)}`);
  } finally {
    await cleanup();
  }
  const summary = report(opts, results);
  for (const e of errors) console.error(`failed: ${e}`);
  emitResult({
    bench: 'containers',
    at: new Date().toISOString(),
    count: opts.count,
    concurrency: opts.concurrency,
    ...results,
    ...summary,
    errors,
  }, opts.json, errors);
}

runBench(main);
