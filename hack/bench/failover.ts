// Failover benchmark (issue 4): time from losing one of three nodes until every replica is Running
// elsewhere, for persys (kill -9 of an agent) and for a 3-engine Docker Swarm (its worker's dockerd stopped).
import type Dockerode from 'dockerode';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/client.js';
import { TestCluster } from '../../e2e/harness/cluster.js';
import { startSecondDocker, TEST_IMAGE, type SecondDocker } from '../../e2e/harness/docker.js';
import { LABEL_NAMESPACE, LABEL_UID } from '../../node-agent/docker/labels.js';
import { fmt, summarize } from './stats.js';
import { formSwarm, nodeStates, type SwarmCluster, type SwarmMember } from './swarm-cluster.js';
import { benchFlags, emitResult, intFlag, runBench, skipFlag, until as untilEvery } from './until.js';

const COMMAND = ['sh', '-c', 'exec sleep 3600'];
const ENGINES = ['pbf1', 'pbf2', 'pbf3'];
const NAMESPACE = 'failover';
const SET_LABEL = 'failover-set';
const SWARM_SERVICE_LABEL = 'com.docker.swarm.service.name';
const POLL_MS = 200;
/** Bounded polling at this benchmark's granularity. */
const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> =>
  untilEvery(what, timeoutMs, probe, done, POLL_MS);

const USAGE = `usage: node --import tsx hack/bench/failover.ts [flags]
  --replicas N            replicas of the ContainerSet and of the Swarm service (default 9)
  --rounds R              failovers measured per system (default 3)
  --grace D               persys --node-monitor-grace-period (default 10s)
  --eviction D            persys --node-eviction-timeout (default 10s)
  --eviction-rate R       persys --node-eviction-rate, Containers per second (default 10)
  --log-level LEVEL       log level of the persys processes (default warn)
  --timeout SECONDS       deadline of every single wait (default 180)
  --skip LIST             comma-separated systems to skip: persys, swarm
  --json FILE             also write the JSON result there`;

interface Options {
  replicas: number;
  rounds: number;
  grace: string;
  eviction: string;
  evictionRate: string;
  logLevel: string;
  timeoutMs: number;
  skip: Set<string>;
  json?: string;
}

function parseOptions(argv: string[]): Options {
  const values = benchFlags(argv, USAGE, {
    replicas: { type: 'string', default: '9' },
    rounds: { type: 'string', default: '3' },
    grace: { type: 'string', default: '10s' },
    eviction: { type: 'string', default: '10s' },
    'eviction-rate': { type: 'string', default: '10' },
    'log-level': { type: 'string', default: 'warn' },
    timeout: { type: 'string', default: '180' },
    skip: { type: 'string', default: '' },
    json: { type: 'string' },
  });
  const int = intFlag(USAGE);
  const skip = skipFlag(values.skip, ['persys', 'swarm'], USAGE);
  return {
    // Fewer replicas than nodes cannot be spread so that every node runs one.
    replicas: int('replicas', values.replicas, ENGINES.length),
    rounds: int('rounds', values.rounds, 1),
    grace: values.grace,
    eviction: values.eviction,
    evictionRate: values['eviction-rate'],
    logLevel: values['log-level'],
    timeoutMs: int('timeout', values.timeout, 1) * 1000,
    skip,
    json: values.json,
  };
}



/** Seconds in a Go-style duration of one unit ("10s", "500ms", "1m"); NaN when it is not one. */
function durationS(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(d);
  if (!m) return NaN;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as 'ms' | 's' | 'm'];
}

const round = (v: number, d = 2) => (Number.isFinite(v) ? Number(v.toFixed(d)) : NaN);
const secondsSince = (t0: number) => round((Date.now() - t0) / 1000);

/** One measured failover. */
interface Failover {
  round: number;
  victim: string;
  /** Replicas the lost node ran. */
  moved: number;
  /** Until the system marked the node not ready (persys Ready≠True, swarm node state down). */
  detectedS?: number;
  /** Until the first replacement was Running elsewhere. */
  firstReplacedS?: number;
  /** Until every replica was Running on another node and its container running in that engine. */
  allRunningS: number;
  /** After the node came back: until its stale copies were gone. */
  staleRemovedS?: number;
  /** Running copies beyond the replica count once the node was back (must be 0). */
  duplicates?: number;
}

/** Running containers carrying `label`, per engine index. */
async function runningByEngine(engines: SecondDocker[], label: string, all = false): Promise<Dockerode.ContainerInfo[][]> {
  return Promise.all(
    engines.map((e) => e.docker.listContainers({ all, filters: JSON.stringify({ label: [label] }) } as Dockerode.ContainerListOptions)),
  );
}

async function removeByLabel(engines: SecondDocker[], label: string): Promise<void> {
  const lists = await runningByEngine(engines, label, true);
  await Promise.all(
    lists.flatMap((list, i) =>
      list.map((c) =>
        engines[i]!.docker.getContainer(c.Id).remove({ force: true }).catch((e: Error & { statusCode?: number }) => {
          if (e.statusCode !== 404) console.error(`cleanup: removing ${c.Id.slice(0, 12)}: ${e.message}`);
        }),
      ),
    ),
  );
}

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

async function persysRound(cluster: TestCluster, engines: SecondDocker[], opts: Options, n: number): Promise<Failover> {
  const set = `fo-${n}`;
  const owned = async () => (await cluster.client.list('Container', { namespace: NAMESPACE, labelSelector: `${SET_LABEL}=${set}` })).items;
  const engineOf = (node: string) => engines[ENGINES.indexOf(node)]!;
  const nsLabel = `${LABEL_NAMESPACE}=${NAMESPACE}`;

  await cluster.client.apply(containerSet(set, opts.replicas));
  const before = await until(`${opts.replicas} replicas of ${set} Running on all ${ENGINES.length} nodes`, opts.timeoutMs, owned, (cs) =>
    cs.length === opts.replicas && cs.every((c) => c.status?.phase === 'Running') && new Set(cs.map((c) => c.spec.nodeName)).size === ENGINES.length);
  const countOn = (node: string) => before.filter((c) => c.spec.nodeName === node).length;
  // Take the nodes in turn so no single node's placement decides every round.
  const victim = ENGINES[(n - 1) % ENGINES.length]!;
  const moved = countOn(victim);
  const agent = cluster.agents.get(victim)!;

  const t0 = Date.now();
  await agent.kill();
  let detectedS: number | undefined;
  let firstReplacedS: number | undefined;
  await until(`every replica of ${set} Running off ${victim}, in the API and in Docker`, opts.timeoutMs, async () => {
    if (detectedS === undefined && !isReady(await cluster.client.get('Node', victim))) detectedS = secondsSince(t0);
    const elsewhere = (await owned()).filter((c) => c.spec.nodeName && c.spec.nodeName !== victim && c.status?.phase === 'Running');
    const fresh = elsewhere.filter((c) => !before.some((b) => b.metadata.uid === c.metadata.uid));
    if (firstReplacedS === undefined && fresh.length > 0) firstReplacedS = secondsSince(t0);
    if (elsewhere.length < opts.replicas) return false;
    // The API's word is not enough: each replica's container must be running in its node's engine.
    const running = await runningByEngine(engines, nsLabel);
    const uids = new Set(running.flatMap((list, i) => list.map((c) => `${ENGINES[i]}/${c.Labels[LABEL_UID]}`)));
    return elsewhere.every((c) => uids.has(`${c.spec.nodeName}/${c.metadata.uid}`));
  }, (ok) => ok);
  const allRunningS = secondsSince(t0);

  // Bring the node back: its agent must remove what was replaced elsewhere, and nothing may run twice.
  const r0 = Date.now();
  agent.start();
  await cluster.waitNodeReady(victim, opts.timeoutMs);
  const liveUids = new Set((await owned()).map((c) => c.metadata.uid));
  await until(`${victim} to remove its stale copies`, opts.timeoutMs, () => engineOf(victim).docker.listContainers({
    all: true, filters: JSON.stringify({ label: [nsLabel] }),
  } as Dockerode.ContainerListOptions), (l) => l.every((c) => liveUids.has(c.Labels[LABEL_UID])));
  const staleRemovedS = secondsSince(r0);
  const total = (await runningByEngine(engines, nsLabel)).flat().length;

  await cluster.client.delete('ContainerSet', set, NAMESPACE);
  await until(`${set}'s containers to leave Docker`, opts.timeoutMs, () => runningByEngine(engines, nsLabel, true), (l) => l.flat().length === 0);
  await until(`${set}'s Containers to leave the API`, opts.timeoutMs, owned, (cs) => cs.length === 0);
  return { round: n, victim, moved, detectedS, firstReplacedS, allRunningS, staleRemovedS, duplicates: total - opts.replicas };
}

async function benchPersys(engines: SecondDocker[], opts: Options): Promise<Failover[]> {
  process.env.PERSYS_E2E_LOG_LEVEL = opts.logLevel;
  const cluster = await TestCluster.start({
    agents: ENGINES.map((name, i) => ({ name, dockerHost: `unix://${engines[i]!.socket}` })),
    controllerArgs: ['--node-monitor-grace-period', opts.grace, '--node-eviction-timeout', opts.eviction, '--node-eviction-rate', opts.evictionRate],
  });
  const rounds: Failover[] = [];
  try {
    await cluster.client.apply({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    for (let n = 1; n <= opts.rounds; n++) {
      console.error(`[${new Date().toISOString()}] persys round ${n}`);
      const r = await persysRound(cluster, engines, opts, n);
      console.error(`  ${JSON.stringify(r)}`);
      rounds.push(r);
    }
    return rounds;
  } catch (e) {
    if (rounds.length) console.error(`persys: ${rounds.length} round(s) done before the failure: ${JSON.stringify(rounds)}`);
    throw new Error(`${(e as Error).message}\n${cluster.logs()}`);
  } finally {
    await cluster.stop().catch((e) => console.error(`cleanup: cluster stop: ${String(e)}`));
    // Agents keep their containers when they stop; remove them so the swarm phase starts from empty engines.
    await removeByLabel(engines, `${LABEL_NAMESPACE}=${NAMESPACE}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Docker Swarm

interface SwarmTask {
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string };
}

async function swarmRound(swarm: SwarmCluster, opts: Options, n: number): Promise<Failover> {
  const name = `fo-${n}`;
  const manager = swarm.manager.engine.docker;
  const engines = swarm.members.map((m) => m.engine);
  const label = `${SWARM_SERVICE_LABEL}=${name}`;
  const tasks = async () =>
    ((await manager.listTasks({ filters: JSON.stringify({ service: [name], 'desired-state': ['running'] }) })) as SwarmTask[])
      .filter((t) => t.Status?.State === 'running');

  const service = await manager.createService({
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: TEST_IMAGE, Command: COMMAND } },
    Mode: { Replicated: { Replicas: opts.replicas } },
  });
  try {
    const before = await until(`${opts.replicas} tasks of ${name} running on all ${swarm.members.length} nodes`, opts.timeoutMs, tasks, (ts) =>
      ts.length === opts.replicas && new Set(ts.map((t) => t.NodeID)).size === swarm.members.length);
    // Only workers: stopping the one manager would stop the control plane that reschedules.
    const workers = swarm.members.filter((m) => m.role === 'worker');
    const victim: SwarmMember = workers[(n - 1) % workers.length]!;
    const moved = before.filter((t) => t.NodeID === victim.nodeId).length;
    const others = engines.filter((e) => e !== victim.engine);

    const t0 = Date.now();
    await victim.engine.stopEngine();
    let detectedS: number | undefined;
    let firstReplacedS: number | undefined;
    await until(`every task of ${name} running off the stopped worker, in the manager and in Docker`, opts.timeoutMs, async () => {
      if (detectedS === undefined && (await nodeStates(manager)).get(victim.nodeId) !== 'ready') detectedS = secondsSince(t0);
      const elsewhere = (await tasks()).filter((t) => t.NodeID !== victim.nodeId);
      if (firstReplacedS === undefined && elsewhere.length > opts.replicas - moved) firstReplacedS = secondsSince(t0);
      if (elsewhere.length < opts.replicas) return false;
      const inDocker = (await runningByEngine(others, label)).flat().length;
      return inDocker >= opts.replicas;
    }, (ok) => ok);
    const allRunningS = secondsSince(t0);

    const r0 = Date.now();
    await victim.engine.startEngine();
    await until('the stopped worker to be ready again', opts.timeoutMs, () => nodeStates(manager), (m) => m.get(victim.nodeId) === 'ready');
    // Swarm's old tasks on the worker were shut down with its engine; wait for its agent to reconcile.
    await until(`${victim.engine.address} to run none of ${name}`, opts.timeoutMs, () => runningByEngine([victim.engine], label), (l) => l.flat().length === 0);
    const staleRemovedS = secondsSince(r0);
    const total = (await runningByEngine(engines, label)).flat().length;
    return { round: n, victim: `worker ${victim.engine.address}`, moved, detectedS, firstReplacedS, allRunningS, staleRemovedS, duplicates: total - opts.replicas };
  } finally {
    await service.remove().catch((e: Error) => console.error(`cleanup: service rm ${name}: ${e.message}`));
    await until(`${name}'s containers to leave Docker`, opts.timeoutMs, () => runningByEngine(engines, label, true), (l) => l.flat().length === 0)
      .catch((e) => console.error(`cleanup: ${String(e)}`));
  }
}

async function benchSwarm(engines: SecondDocker[], opts: Options): Promise<{ rounds: Failover[]; heartbeatS: number }> {
  const swarm = await formSwarm(engines, opts.timeoutMs);
  const rounds: Failover[] = [];
  try {
    const spec = (await swarm.manager.engine.docker.swarmInspect()) as { Spec?: { Dispatcher?: { HeartbeatPeriod?: number } } };
    const heartbeatS = (spec.Spec?.Dispatcher?.HeartbeatPeriod ?? NaN) / 1e9;
    for (let n = 1; n <= opts.rounds; n++) {
      console.error(`[${new Date().toISOString()}] swarm round ${n}`);
      const r = await swarmRound(swarm, opts, n);
      console.error(`  ${JSON.stringify(r)}`);
      rounds.push(r);
    }
    return { rounds, heartbeatS };
  } catch (e) {
    if (rounds.length) console.error(`swarm: ${rounds.length} round(s) done before the failure: ${JSON.stringify(rounds)}`);
    throw e;
  } finally {
    // A round that failed may have left a worker's engine stopped; leaving the swarm needs it up.
    for (const m of swarm.members) await m.engine.startEngine().catch((e: Error) => console.error(`cleanup: restarting ${m.engine.address}: ${e.message}`));
    await swarm.dismantle();
  }
}

// ---------------------------------------------------------------------------------------------

function summary(rounds: Failover[] | undefined) {
  if (!rounds?.length) return undefined;
  const s = summarize(rounds.map((r) => r.allRunningS));
  return { rounds: s.count, p50: round(s.p50), max: round(s.max), min: round(s.min) };
}

function report(opts: Options, persys: Failover[] | undefined, swarm: { rounds: Failover[]; heartbeatS: number } | undefined) {
  const cell = (v: number | undefined, w: number) => (v === undefined ? '—' : fmt(v, 1)).padStart(w);
  const lines = [
    `failover benchmark: ${opts.replicas} replicas of ${TEST_IMAGE} ${JSON.stringify(COMMAND)} on ${ENGINES.length} Docker engines (network namespaces on one machine)`,
    `  persys: kill -9 of one agent; --node-monitor-grace-period ${opts.grace}, --node-eviction-timeout ${opts.eviction}, --node-eviction-rate ${opts.evictionRate}`,
    `  swarm:  SIGTERM of one worker's dockerd (its containers stop with it); dispatcher heartbeat ${swarm ? `${fmt(swarm.heartbeatS, 0)} s` : 'n/a'} (default)`,
    `  times in seconds from the failure; "all running" = every replica Running on another node and its container running in that engine`,
    '',
    `  system  round  victim               moved  detected  first-moved  all-running  back:stale-gone  duplicates`,
  ];
  const rows = (system: string, rs: Failover[] | undefined) => {
    for (const r of rs ?? []) {
      lines.push(`  ${system.padEnd(6)}  ${String(r.round).padStart(5)}  ${r.victim.padEnd(19)}  ${String(r.moved).padStart(5)}  ${cell(r.detectedS, 8)}  ${cell(r.firstReplacedS, 11)}  ${cell(r.allRunningS, 11)}  ${cell(r.staleRemovedS, 15)}  ${String(r.duplicates ?? '—').padStart(10)}`);
    }
  };
  rows('persys', persys);
  rows('swarm', swarm?.rounds);
  const p = summary(persys);
  const s = summary(swarm?.rounds);
  lines.push('');
  if (p) lines.push(`  persys  all-running p50 ${fmt(p.p50, 1)} s, max ${fmt(p.max, 1)} s (n=${p.rounds})`);
  if (s) lines.push(`  swarm   all-running p50 ${fmt(s.p50, 1)} s, max ${fmt(s.max, 1)} s (n=${s.rounds})`);
  const ratio = p && s ? { p50: round(p.p50 / s.p50), max: round(p.max / s.max) } : undefined;
  if (ratio) lines.push(`  persys/swarm  p50 ${fmt(ratio.p50, 2)}  max ${fmt(ratio.max, 2)}  (< 1: persys fails over faster)`);
  const early = (persys ?? []).filter((r) => r.detectedS !== undefined && r.firstReplacedS !== undefined && r.firstReplacedS - r.detectedS < durationS(opts.eviction));
  if (early.length) {
    lines.push(`  note: in ${early.length} persys round(s) replacements ran sooner after NotReady than --node-eviction-timeout ${opts.eviction}:`);
    lines.push('        something other than the node controller\'s eviction replaced them (e.g. a set treating phase Unknown as lost)');
  }
  lines.push('  note: a 2-core machine shared with other work; figures are noisy, compare within one run');
  console.log(lines.join('\n'));
  return { persys: p, swarm: s, ratio };
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
  let persys: Failover[] | undefined;
  let swarm: { rounds: Failover[]; heartbeatS: number } | undefined;
  try {
    const engines: SecondDocker[] = [];
    for (const name of ENGINES) {
      const e = await startSecondDocker(name);
      cleanup.add(() => e.stop());
      engines.push(e);
    }
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
    persys = await phase('persys', () => benchPersys(engines, opts));
    swarm = await phase('swarm', () => benchSwarm(engines, opts));
  } finally {
    await cleanup.run();
  }
  const summaries = report(opts, persys, swarm);
  for (const e of errors) console.error(`phase failed: ${e}`);
  emitResult({
    bench: 'failover',
    at: new Date().toISOString(),
    replicas: opts.replicas,
    persysSettings: { grace: opts.grace, eviction: opts.eviction, evictionRate: opts.evictionRate },
    swarmHeartbeatS: swarm?.heartbeatS,
    persys: { rounds: persys, summary: summaries.persys },
    swarm: { rounds: swarm?.rounds, summary: summaries.swarm },
    ratio: summaries.ratio,
    errors,
  }, opts.json, errors);
}

runBench(main);
