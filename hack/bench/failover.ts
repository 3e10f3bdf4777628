// Failover benchmark: time from losing a whole host (its Docker engine and everything on it, and for
// persys its agent) until every replica runs again elsewhere, for persys and a Docker Swarm, each at
// its shipped defaults, in one run with alternating rounds.
import type Dockerode from 'dockerode';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/errors.js';
import { TestCluster, type ManagedProcess } from '../../e2e/harness/cluster.js';
import { startSecondDocker, TEST_IMAGE, type SecondDocker } from '../../e2e/harness/docker.js';
import { LABEL_NAMESPACE, LABEL_UID } from '../../node-agent/docker/labels.js';
import { fmt, roundTo, spreadOf, type Spread } from './stats.js';
import { formSwarm, nodeStates, type SwarmCluster, type SwarmMember } from './swarm-cluster.js';
import { benchFlags, emitResult, intFlag, runBench, skipFlag, until as untilEvery } from './until.js';

const COMMAND = ['sh', '-c', 'exec sleep 3600'];
/** Separate engines per system, so neither's control plane ever touches the other's (persys manages swarms too). */
const PERSYS_ENGINES = ['pfp1', 'pfp2', 'pfp3'];
const SWARM_ENGINES = ['pfs1', 'pfs2', 'pfs3'];
const NAMESPACE = 'failover';
const SET_LABEL = 'failover-set';
const SWARM_SERVICE_LABEL = 'com.docker.swarm.service.name';
const POLL_MS = 200;
const FAILURES = ['crash', 'freeze'] as const;
type Failure = (typeof FAILURES)[number];
type System = 'persys' | 'swarm';
/** Bounded polling at this benchmark's granularity. */
const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> =>
  untilEvery(what, timeoutMs, probe, done, POLL_MS);

const USAGE = `usage: node --import tsx hack/bench/failover.ts [flags]
  --replicas N            replicas of the ContainerSet and of the Swarm service (default 9)
  --rounds R              measured failovers per system, after one warm-up each (default 3)
  --failure KIND          how the host is lost (default crash):
                            crash   kill -9 of every process of the host (dockerd, containerd, shims,
                                    containers; and persys' agent): sockets close, peers hear of it
                            freeze  SIGSTOP of the same: the host hangs silently with its sockets open
  --log-level LEVEL       log level of the persys processes (default warn)
  --timeout SECONDS       deadline of every single wait (default 180)
  --skip LIST             comma-separated systems to skip: persys, swarm
  --json FILE             also write the JSON result there
Both systems run at their shipped defaults: no persys tuning flags, Swarm's own dispatcher settings.`;

interface Options {
  replicas: number;
  rounds: number;
  failure: Failure;
  logLevel: string;
  timeoutMs: number;
  skip: Set<string>;
  json?: string;
}

function parseOptions(argv: string[]): Options {
  const values = benchFlags(argv, USAGE, {
    replicas: { type: 'string', default: '9' },
    rounds: { type: 'string', default: '3' },
    failure: { type: 'string', default: 'crash' },
    'log-level': { type: 'string', default: 'warn' },
    timeout: { type: 'string', default: '180' },
    skip: { type: 'string', default: '' },
    json: { type: 'string' },
  });
  const int = intFlag(USAGE);
  const skip = skipFlag(values.skip, ['persys', 'swarm'], USAGE);
  if (!(FAILURES as readonly string[]).includes(values.failure)) throw new Error(`--failure: one of ${FAILURES.join(', ')}, got ${JSON.stringify(values.failure)}\n${USAGE}`);
  return {
    // Fewer replicas than nodes cannot be spread so that every node runs one.
    replicas: int('replicas', values.replicas, PERSYS_ENGINES.length),
    rounds: int('rounds', values.rounds, 1),
    failure: values.failure as Failure,
    logLevel: values['log-level'],
    timeoutMs: int('timeout', values.timeout, 1) * 1000,
    skip,
    json: values.json,
  };
}

const round = (v: number, d = 2) => roundTo(v, d);
const secondsSince = (t0: number) => round((Date.now() - t0) / 1000);

/** One measured failover. */
interface Failover {
  system: System;
  /** 0 for the warm-up round. */
  round: number;
  victim: string;
  /** Replicas the lost host ran. */
  moved: number;
  /** Until the system marked the node not ready (persys Ready≠True, swarm node state not ready). */
  detectedS?: number;
  /** Until the first replacement was running elsewhere. */
  firstReplacedS?: number;
  /** Until every replica was running on another node, in the control plane and in that node's engine. */
  allRunningS: number;
  /** After the host came back: until it ran none of the replaced copies. */
  staleRemovedS?: number;
  /** Running copies beyond the replica count once the host was back (must be 0). */
  duplicates?: number;
}

/** Running containers carrying `label`, per engine index. */
async function runningByEngine(engines: SecondDocker[], label: string, all = false): Promise<Dockerode.ContainerInfo[][]> {
  return Promise.all(
    engines.map((e) => e.docker.listContainers({ all, filters: JSON.stringify({ label: [label] }) } as Dockerode.ContainerListOptions)),
  );
}

// ---------------------------------------------------------------------------------------------
// The failure, the same for both systems

/** One machine of a cluster: its engine and, for persys, the agent running for it. */
interface Host {
  engine: SecondDocker;
  agent?: ManagedProcess;
}

async function loseHost(h: Host, failure: Failure): Promise<void> {
  if (failure === 'crash') {
    await Promise.all([h.agent?.kill(), h.engine.crash()]);
  } else {
    h.agent?.freeze();
    await h.engine.freeze();
  }
}

async function restoreHost(h: Host, failure: Failure): Promise<void> {
  if (failure === 'crash') {
    await h.engine.startEngine();
    h.agent?.start();
  } else {
    await h.engine.thaw();
    h.agent?.thaw();
  }
}

/** Rounds take the two non-manager hosts in turn (Swarm's manager must survive to reschedule). */
const victimIndex = (round: number) => 1 + (round % 2);

// ---------------------------------------------------------------------------------------------
// persys

function containerSet(name: string, replicas: number): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: { [SET_LABEL]: name } },
      template: { metadata: { labels: { [SET_LABEL]: name } }, spec: { image: TEST_IMAGE, command: COMMAND } },
    },
  };
}

const isReady = (n: Resource) => (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');

interface PersysSetup {
  cluster: TestCluster;
  engines: SecondDocker[];
}

async function startPersys(engines: SecondDocker[], opts: Options): Promise<PersysSetup> {
  process.env.PERSYS_E2E_LOG_LEVEL = opts.logLevel;
  // Shipped defaults: no controller flags, the agent's own heartbeat; etcd fsyncs as users run it.
  const cluster = await TestCluster.start({
    agents: PERSYS_ENGINES.map((name, i) => ({ name, dockerHost: `unix://${engines[i]!.socket}`, heartbeatInterval: false as const })),
    etcdFsync: true,
  });
  await cluster.client.apply({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  return { cluster, engines };
}

async function persysRound({ cluster, engines }: PersysSetup, opts: Options, n: number, seq: number): Promise<Failover> {
  const set = `fo-${seq}`;
  const owned = async () => (await cluster.client.list('Container', { namespace: NAMESPACE, labelSelector: `${SET_LABEL}=${set}` })).items;
  const nsLabel = `${LABEL_NAMESPACE}=${NAMESPACE}`;
  const vi = victimIndex(n);
  const victim = PERSYS_ENGINES[vi]!;
  const host: Host = { engine: engines[vi]!, agent: cluster.agents.get(victim)! };
  const others = engines.filter((_, i) => i !== vi);
  const otherNames = PERSYS_ENGINES.filter((_, i) => i !== vi);

  await cluster.client.apply(containerSet(set, opts.replicas));
  const before = await until(`${opts.replicas} replicas of ${set} Running on all ${PERSYS_ENGINES.length} nodes`, opts.timeoutMs, owned, (cs) =>
    cs.length === opts.replicas && cs.every((c) => c.status?.phase === 'Running') && new Set(cs.map((c) => c.spec.nodeName)).size === PERSYS_ENGINES.length);
  const moved = before.filter((c) => c.spec.nodeName === victim).length;

  const t0 = Date.now();
  await loseHost(host, opts.failure);
  let detectedS: number | undefined;
  let firstReplacedS: number | undefined;
  let restored = false;
  try {
    await until(`every replica of ${set} running off ${victim}, in the API and in Docker`, opts.timeoutMs, async () => {
      if (detectedS === undefined && !isReady(await cluster.client.get('Node', victim))) detectedS = secondsSince(t0);
      const elsewhere = (await owned()).filter((c) => c.spec.nodeName && c.spec.nodeName !== victim && c.status?.phase === 'Running');
      // The lost host's engine is not asked: it is dead or hung.
      const running = await runningByEngine(others, nsLabel);
      const uids = new Set(running.flatMap((list, i) => list.map((c) => `${otherNames[i]}/${c.Labels[LABEL_UID]}`)));
      const inDocker = elsewhere.filter((c) => uids.has(`${c.spec.nodeName}/${c.metadata.uid}`));
      if (firstReplacedS === undefined && inDocker.length > opts.replicas - moved) firstReplacedS = secondsSince(t0);
      return inDocker.length >= opts.replicas;
    }, (ok) => ok);
    const allRunningS = secondsSince(t0);

    // The host comes back: its agent must remove what was replaced elsewhere, and nothing may run twice.
    const r0 = Date.now();
    await restoreHost(host, opts.failure);
    restored = true;
    await cluster.waitNodeReady(victim, opts.timeoutMs);
    const liveUids = new Set((await owned()).map((c) => c.metadata.uid));
    await until(`${victim} to run none of the replaced copies`, opts.timeoutMs, () => runningByEngine([host.engine], nsLabel), (l) =>
      l.flat().every((c) => liveUids.has(c.Labels[LABEL_UID])));
    const staleRemovedS = secondsSince(r0);
    const total = (await runningByEngine(engines, nsLabel)).flat().length;
    return { system: 'persys', round: n, victim, moved, detectedS, firstReplacedS, allRunningS, staleRemovedS, duplicates: total - opts.replicas };
  } finally {
    if (!restored) await restoreHost(host, opts.failure).catch((e: Error) => console.error(`cleanup: restoring ${victim}: ${e.message}`));
    await cluster.waitNodeReady(victim, opts.timeoutMs).catch((e: Error) => console.error(`cleanup: ${e.message}`));
    await cluster.client.delete('ContainerSet', set, NAMESPACE).catch((e: Error) => console.error(`cleanup: delete ${set}: ${e.message}`));
    await until(`${set}'s containers to leave Docker`, opts.timeoutMs, () => runningByEngine(engines, nsLabel, true), (l) => l.flat().length === 0)
      .catch((e) => console.error(`cleanup: ${String(e)}`));
    await until(`${set}'s Containers to leave the API`, opts.timeoutMs, owned, (cs) => cs.length === 0).catch((e) => console.error(`cleanup: ${String(e)}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Docker Swarm

interface SwarmTask {
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string };
}

async function swarmRound(swarm: SwarmCluster, opts: Options, n: number, seq: number): Promise<Failover> {
  const name = `fo-${seq}`;
  const manager = swarm.manager.engine.docker;
  const engines = swarm.members.map((m) => m.engine);
  const label = `${SWARM_SERVICE_LABEL}=${name}`;
  const tasks = async () =>
    ((await manager.listTasks({ filters: JSON.stringify({ service: [name], 'desired-state': ['running'] }) })) as SwarmTask[])
      .filter((t) => t.Status?.State === 'running');
  const victim: SwarmMember = swarm.members[victimIndex(n)]!;
  if (victim.role !== 'worker') throw new Error('the victim must be a worker: the manager reschedules');
  const host: Host = { engine: victim.engine };
  const others = engines.filter((e) => e !== victim.engine);

  const service = await manager.createService({
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: TEST_IMAGE, Command: COMMAND } },
    Mode: { Replicated: { Replicas: opts.replicas } },
  });
  let restored = false;
  try {
    const before = await until(`${opts.replicas} tasks of ${name} running on all ${swarm.members.length} nodes`, opts.timeoutMs, tasks, (ts) =>
      ts.length === opts.replicas && new Set(ts.map((t) => t.NodeID)).size === swarm.members.length);
    const moved = before.filter((t) => t.NodeID === victim.nodeId).length;

    const t0 = Date.now();
    await loseHost(host, opts.failure);
    let detectedS: number | undefined;
    let firstReplacedS: number | undefined;
    await until(`every task of ${name} running off the lost worker, in the manager and in Docker`, opts.timeoutMs, async () => {
      if (detectedS === undefined && (await nodeStates(manager)).get(victim.nodeId) !== 'ready') detectedS = secondsSince(t0);
      const elsewhere = (await tasks()).filter((t) => t.NodeID !== victim.nodeId).length;
      const inDocker = (await runningByEngine(others, label)).flat().length;
      const replaced = Math.min(elsewhere, inDocker);
      if (firstReplacedS === undefined && replaced > opts.replicas - moved) firstReplacedS = secondsSince(t0);
      return replaced >= opts.replicas;
    }, (ok) => ok);
    const allRunningS = secondsSince(t0);

    const r0 = Date.now();
    await restoreHost(host, opts.failure);
    restored = true;
    await until('the lost worker to be ready again', opts.timeoutMs, () => nodeStates(manager), (m) => m.get(victim.nodeId) === 'ready');
    // Its old tasks died with it (crash) or are shut down by its agent once it hears from the manager (freeze).
    await until(`${victim.engine.address} to run none of ${name}`, opts.timeoutMs, () => runningByEngine([victim.engine], label), (l) => l.flat().length === 0);
    const staleRemovedS = secondsSince(r0);
    const total = (await runningByEngine(engines, label)).flat().length;
    return { system: 'swarm', round: n, victim: `worker ${victim.engine.address}`, moved, detectedS, firstReplacedS, allRunningS, staleRemovedS, duplicates: total - opts.replicas };
  } finally {
    if (!restored) await restoreHost(host, opts.failure).catch((e: Error) => console.error(`cleanup: restoring ${victim.engine.address}: ${e.message}`));
    await until('every swarm node ready', opts.timeoutMs, () => nodeStates(manager), (m) => [...m.values()].every((st) => st === 'ready'))
      .catch((e) => console.error(`cleanup: ${String(e)}`));
    await service.remove().catch((e: Error) => console.error(`cleanup: service rm ${name}: ${e.message}`));
    await until(`${name}'s containers to leave Docker`, opts.timeoutMs, () => runningByEngine(engines, label, true), (l) => l.flat().length === 0)
      .catch((e) => console.error(`cleanup: ${String(e)}`));
  }
}

// ---------------------------------------------------------------------------------------------

function report(opts: Options, rounds: Failover[], swarmHeartbeatS: number | undefined) {
  const cell = (v: number | undefined, w: number) => (v === undefined ? '—' : fmt(v, 1)).padStart(w);
  const lines = [
    `failover benchmark: ${opts.replicas} replicas of ${TEST_IMAGE} ${JSON.stringify(COMMAND)}; each system on its own 3 Docker engines (network namespaces on one machine)`,
    `  failure (the same for both): ${opts.failure === 'crash' ? 'kill -9 of every process of one host: dockerd, containerd, shims, containers, and persys\' agent' : 'SIGSTOP of every process of one host (and persys\' agent): silent, sockets open'}`,
    `  persys at shipped defaults (no tuning flags, 10 s heartbeat); etcd with fsync`,
    `  swarm at its defaults: dispatcher heartbeat ${swarmHeartbeatS !== undefined ? `${fmt(swarmHeartbeatS, 0)} s` : 'n/a'}`,
    `  order alternates (round 0 is the warm-up, not counted); times in seconds from the failure;`,
    `  "all running" = every replica running on another node, in the control plane and in that node's engine`,
    '',
    `  system  round  victim               moved  detected  first-moved  all-running  back:stale-gone  duplicates`,
  ];
  for (const r of rounds) {
    lines.push(`  ${r.system.padEnd(6)}  ${(r.round === 0 ? 'warm' : String(r.round)).padStart(5)}  ${r.victim.padEnd(19)}  ${String(r.moved).padStart(5)}  ${cell(r.detectedS, 8)}  ${cell(r.firstReplacedS, 11)}  ${cell(r.allRunningS, 11)}  ${cell(r.staleRemovedS, 15)}  ${String(r.duplicates ?? '—').padStart(10)}`);
  }
  const measured = (system: System) => rounds.filter((r) => r.system === system && r.round > 0);
  const summaries = Object.fromEntries((['persys', 'swarm'] as const).map((system) => [system, {
    allRunning: spreadOf(measured(system).map((r) => r.allRunningS)),
    detected: spreadOf(measured(system).map((r) => r.detectedS)),
  }])) as Record<System, { allRunning?: Spread; detected?: Spread }>;
  lines.push('');
  for (const system of ['persys', 'swarm'] as const) {
    const a = summaries[system].allRunning;
    const d = summaries[system].detected;
    if (a) lines.push(`  ${system.padEnd(6)}  all-running median ${fmt(a.median, 1)} s (min ${fmt(a.min, 1)}, max ${fmt(a.max, 1)}, spread ${fmt(a.spread, 1)}; n=${a.rounds})${d ? `; detected median ${fmt(d.median, 1)} s` : ''}`);
  }
  const p = summaries.persys.allRunning;
  const w = summaries.swarm.allRunning;
  const ratio = p && w ? round(p.median / w.median) : undefined;
  if (ratio !== undefined) lines.push(`  persys/swarm all-running median ratio ${fmt(ratio, 2)} (< 1: persys fails over faster)`);
  const dups = rounds.filter((r) => (r.duplicates ?? 0) !== 0);
  if (dups.length) lines.push(`  WARNING: ${dups.length} round(s) ended with replicas running twice`);
  lines.push('  note: a 2-core machine shared with other work; figures are noisy, compare within one run');
  console.log(lines.join('\n'));
  return { summaries, ratio };
}

/** Undo steps run in reverse, once, on success, failure or Ctrl-C. */
class Cleanup {
  private readonly steps: (() => Promise<void>)[] = [];
  private running?: Promise<void>;

  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) await step().catch((e) => console.error(`cleanup: ${String(e)}`));
    })();
    return this.running;
  }
}

/** Warm-up (round 0) then measured rounds, alternating which system goes first: S P, P S, S P, … */
function schedule(rounds: number, systems: System[]): { system: System; round: number }[] {
  const out: { system: System; round: number }[] = [];
  for (let n = 0; n <= rounds; n++) {
    const order = n % 2 === 0 ? [...systems].reverse() : systems;
    for (const system of order) out.push({ system, round: n });
  }
  return out;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const cleanup = new Cleanup();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`${sig}: cleaning up`);
      void cleanup.run().finally(() => process.exit(130));
    });
  }
  const errors: string[] = [];
  const rounds: Failover[] = [];
  let swarmHeartbeatS: number | undefined;
  const describe = (e: unknown) => (e instanceof ApiError ? `${e.codeName}: ${e.message}` : (e as Error).stack ?? String(e));
  try {
    const engines = async (names: string[]) => {
      const out: SecondDocker[] = [];
      for (const name of names) {
        const e = await startSecondDocker(name);
        cleanup.add(() => e.stop());
        out.push(e);
      }
      return out;
    };
    const systems = (['persys', 'swarm'] as const).filter((s) => !opts.skip.has(s));
    let persys: PersysSetup | undefined;
    let swarm: SwarmCluster | undefined;
    if (systems.includes('persys')) {
      const setup = await startPersys(await engines(PERSYS_ENGINES), opts);
      cleanup.add(() => setup.cluster.stop());
      persys = setup;
    }
    if (systems.includes('swarm')) {
      const swarmEngines = await engines(SWARM_ENGINES);
      const formed = await formSwarm(swarmEngines, opts.timeoutMs);
      cleanup.add(async () => {
        for (const m of formed.members) await m.engine.thaw();
        for (const m of formed.members) await m.engine.startEngine().catch((e: Error) => console.error(`cleanup: restarting ${m.engine.address}: ${e.message}`));
        await formed.dismantle();
      });
      swarm = formed;
      const spec = (await formed.manager.engine.docker.swarmInspect()) as { Spec?: { Dispatcher?: { HeartbeatPeriod?: number } } };
      swarmHeartbeatS = (spec.Spec?.Dispatcher?.HeartbeatPeriod ?? NaN) / 1e9;
    }
    const broken = new Set<System>();
    let seq = 0;
    for (const { system, round: n } of schedule(opts.rounds, [...systems])) {
      if (broken.has(system)) continue;
      seq++;
      console.error(`[${new Date().toISOString()}] ${system} ${n === 0 ? 'warm-up' : `round ${n}`}`);
      try {
        const r = system === 'persys' ? await persysRound(persys!, opts, n, seq) : await swarmRound(swarm!, opts, n, seq);
        console.error(`  ${JSON.stringify(r)}`);
        rounds.push(r);
      } catch (e) {
        broken.add(system);
        errors.push(`${system} round ${n}: ${describe(e)}${system === 'persys' ? `\n${persys!.cluster.logs()}` : ''}`);
      }
    }
  } catch (e) {
    errors.push(`setup: ${describe(e)}`);
  } finally {
    await cleanup.run();
  }
  const summaries = report(opts, rounds, swarmHeartbeatS);
  for (const e of errors) console.error(`failed: ${e}`);
  emitResult({
    bench: 'failover',
    at: new Date().toISOString(),
    replicas: opts.replicas,
    failure: opts.failure,
    swarmHeartbeatS,
    rounds,
    ...summaries,
    errors,
  }, opts.json, errors);
}

runBench(main);
