// bench:scale (issue 13): a 3-member etcd (fsync on), 2 API servers, the controllers and N hollow nodes as
// separate processes; ContainerSets of mixed sizes created in rate steps, a kill -9 of an etcd member and an
// API server midway, a rolling update of a tenth, then deletion; SLOs, memory, re-lists and idle writes.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Resource } from '../../lib/api/resource.js';
import { ApiClient } from '../../lib/client/client.js';
import { loadClientConfig } from '../../lib/client/config.js';
import { startEtcdCluster, type EtcdCluster } from '../../e2e/harness/etcd-cluster.js';
import { freePort } from '../../e2e/harness/etcd.js';
import { cpuSeconds, machineBusySeconds } from './process-cpu.js';
import { discrepancies, dueAtMs, highestRateWithinSlos, idleWritesPerHour, pickRollout, planSets, planSteps, type PlannedSet, type RateStep, type SetCount } from './scale-plan.js';
import { listAllPages, NodeReadyTracker, phaseOf, runProbe, StartupTracker, type ProbeSample } from './scale-observe.js';
import { failoverTarget, persysOnce, Proc, rssBytes, scrapeCounter, startApiServerProc, waitHttpOk, type ApiServerProc } from './scale-procs.js';
import { apiSummary, mib, mib1, printReport, stepSlos, type ScaleReport, type StepReport } from './scale-report.js';
import { fmt, summarize } from './stats.js';
import { benchFlags, emitResult, intFlag, runBench } from './until.js';

const USAGE = `usage: npm run bench:scale -- [flags]    (each flag also reads SCALE_<FLAG> from the environment)
  --nodes N                 hollow nodes (default 1000)
  --containers-per-node C   Containers per node; nodes × C in all (default 30)
  --rounds R                create / roll / delete cycles on the same cluster (default 1; the kill is in round 1)
  --rates LIST              Containers per second asked for, one create step each (default 25,50,100,200)
  --namespaces N            namespaces the ContainerSets spread over (default 20)
  --idle-seconds S          idle window for the writes-per-hour figure (default 60)
  --heartbeat D             hollow nodes' --heartbeat-interval (default 10s)
  --start-delay D           hollow containers' start delay (default 500ms)
  --no-kill                 skip the midway kill -9 of an etcd member and an API server
  --wait-seconds S          longest wait for one phase to settle (default 900)
  --deadline-minutes M      tear everything down and report after this long (default 40)
  --log-level LEVEL         log level of the persys processes (default warn)
  --json FILE               write the JSON result there (default bench-scale.json)
SCALE_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR" passes node flags to every persys process (profiles on exit).`;

const IMAGE = 'persys/busybox:test';
const PROBE_NS = 'scale-probe';

interface Options {
  nodes: number;
  perNode: number;
  rounds: number;
  rates: number[];
  namespaces: number;
  idleSeconds: number;
  heartbeat: string;
  startDelay: string;
  kill: boolean;
  waitMs: number;
  deadlineMs: number;
  logLevel: string;
  json: string;
}

function parseOptions(argv: string[]): Options {
  const flags = {
    nodes: { type: 'string', default: '1000' },
    'containers-per-node': { type: 'string', default: '30' },
    rounds: { type: 'string', default: '1' },
    rates: { type: 'string', default: '25,50,100,200' },
    namespaces: { type: 'string', default: '20' },
    'idle-seconds': { type: 'string', default: '60' },
    heartbeat: { type: 'string', default: '10s' },
    'start-delay': { type: 'string', default: '500ms' },
    'no-kill': { type: 'string' },
    'wait-seconds': { type: 'string', default: '900' },
    'deadline-minutes': { type: 'string', default: '40' },
    'log-level': { type: 'string', default: 'warn' },
    json: { type: 'string', default: 'bench-scale.json' },
  } as const;
  // --no-kill takes no value: rewrite it so that every flag parses as a string.
  const args = argv.map((a) => (a === '--no-kill' ? '--no-kill=1' : a));
  for (const name of Object.keys(flags)) {
    const env = process.env[`SCALE_${name.toUpperCase().replace(/-/g, '_')}`];
    if (env !== undefined && !args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`))) args.push(`--${name}=${env}`);
  }
  const v = benchFlags(args, USAGE, flags);
  const int = intFlag(USAGE);
  const rates = v.rates.split(',').map(Number);
  if (!rates.length || rates.some((r) => !(r > 0))) throw new Error(`--rates must be positive numbers, got ${v.rates}\n${USAGE}`);
  return {
    nodes: int('nodes', v.nodes, 1),
    perNode: int('containers-per-node', v['containers-per-node'], 1),
    rounds: int('rounds', v.rounds, 1),
    rates,
    namespaces: int('namespaces', v.namespaces, 1),
    idleSeconds: int('idle-seconds', v['idle-seconds'], 0),
    heartbeat: v.heartbeat,
    startDelay: v['start-delay'],
    kill: v['no-kill'] === undefined,
    waitMs: int('wait-seconds', v['wait-seconds'], 1) * 1000,
    deadlineMs: int('deadline-minutes', v['deadline-minutes'], 1) * 60_000,
    logLevel: v['log-level'],
    json: v.json,
  };
}

/** Seconds in a duration like 10s, 500ms or 1m. */
function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}

class Deadline extends Error {
  override name = 'Deadline';
}

/** Everything the run started, for teardown by pid. */
interface Running {
  etcd?: EtcdCluster;
  apis: ApiServerProc[];
  controllers?: { proc: Proc; metrics: string };
  hollow?: Proc;
  client?: ApiClient;
  dir: string;
  logDir: string;
}

/** etcd's own status of one member (JSON gateway): revision, DB size, whether it leads. */
async function etcdStatus(clientUrl: string): Promise<{ revision: number; dbSize: number; leader: boolean } | undefined> {
  try {
    const res = await fetch(`${clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5_000) });
    const s = (await res.json()) as { header: { revision: string; member_id: string }; dbSize: string; leader: string };
    return { revision: Number(s.header.revision), dbSize: Number(s.dbSize), leader: s.header.member_id === s.leader };
  } catch {
    return undefined;
  }
}

function containerSet(p: PlannedSet, rollout: number): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name: p.name, namespace: p.namespace },
    spec: {
      replicas: p.replicas,
      template: {
        metadata: { labels: { app: p.name } },
        spec: { image: IMAGE, command: ['sleep', '86400'], env: [{ name: 'ROLLOUT', value: String(rollout) }] },
      },
      strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    },
  };
}

const rolloutOf = (c: Resource) =>
  ((c['spec'] as { env?: { name: string; value?: string }[] } | undefined)?.env ?? []).find((e) => e.name === 'ROLLOUT')?.value;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const t0 = Date.now();
  const deadlineAt = t0 + opts.deadlineMs;
  const total = opts.nodes * opts.perNode;
  const sets = planSets(total, opts.namespaces);
  const steps = planSteps(sets, opts.rates);
  const rolled = pickRollout(sets, 0.1);
  const namespaces = [...new Set(sets.map((s) => s.namespace))];
  const dir = mkdtempSync(join(tmpdir(), 'persys-bench-scale-'));
  const logDir = mkdtempSync(join(tmpdir(), 'persys-bench-scale-logs-'));
  const run: Running = { apis: [], dir, logDir };
  const report: ScaleReport = {
    options: { ...opts, total, sets: sets.length, rolloutSets: rolled.length },
    startedAt: new Date(t0).toISOString(),
    machine: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) },
    setup: {},
    steps: [],
    rounds: [],
    rssAtFullMiB: {},
    rssPeakMiB: {},
    cpuSecondsCreate: {},
    etcdDbSizeMiB: {},
    falseNotReady: { count: 0, first: [] },
    errors: [],
    verdict: 'not finished',
  };
  const log = (msg: string) => console.log(`[${fmt((Date.now() - t0) / 1000)} s] ${msg}`);
  log(`${total} Containers in ${sets.length} ContainerSets over ${namespaces.length} namespaces, ${opts.nodes} hollow nodes; logs in ${logDir}`);

  /** Polls `done` until it holds; bounded by `timeoutMs` and the global deadline. */
  const waitFor = async (what: string, timeoutMs: number, done: () => boolean | Promise<boolean>, everyMs = 500): Promise<void> => {
    const until = Math.min(Date.now() + timeoutMs, deadlineAt);
    for (;;) {
      if (await done()) return;
      if (Date.now() > until) throw Date.now() > deadlineAt ? new Deadline(`global deadline reached waiting for ${what}`) : new Error(`timed out waiting for ${what}`);
      await sleep(everyMs);
    }
  };

  const procs = (): Record<string, number | undefined> => ({
    ...Object.fromEntries(run.apis.map((a) => [a.proc.name, a.proc.alive() ? a.proc.pid : undefined])),
    controllers: run.controllers?.proc.alive() ? run.controllers.proc.pid : undefined,
    hollow: run.hollow?.alive() ? run.hollow.pid : undefined,
    ...Object.fromEntries((run.etcd?.members ?? []).map((m) => [`etcd-${m.name}`, m.alive() ? m.pid() : undefined])),
    bench: process.pid,
  });
  const peak: Record<string, number> = {};
  // The last CPU reading of each process, so one killed midway still shows what it used until then.
  const lastCpu: Record<string, number> = {};
  const sampleProcs = () => {
    for (const [name, pid] of Object.entries(procs())) {
      const b = pid === undefined ? undefined : rssBytes(pid);
      if (b !== undefined) peak[name] = Math.max(peak[name] ?? 0, b);
      const c = pid === undefined ? undefined : cpuSeconds(pid);
      if (c !== undefined) lastCpu[name] = c;
    }
  };
  const rssTimer = setInterval(sampleProcs, 2_000);

  let tracker: StartupTracker | undefined;
  let nodesTracker: NodeReadyTracker | undefined;
  let probe: ReturnType<typeof runProbe> | undefined;
  let probeStop: AbortController | undefined;
  const allSamples: ProbeSample[] = [];
  const created = new Map<number, string>(); // set index → uid
  const startProbe = () => {
    probeStop = new AbortController();
    probe = runProbe({
      client: run.client!,
      probeNamespace: PROBE_NS,
      targets: () => ({ namespaces, sets: [...created.keys()].map((i) => sets[i]!) }),
      intervalMs: 200,
      clusterListEveryMs: 10_000,
      signal: probeStop.signal,
    });
  };
  const stopProbe = async () => {
    probeStop?.abort();
    await probe?.done;
    if (probe) allSamples.push(...probe.samples.splice(0));
    probe = undefined;
  };
  const samplesSoFar = () => [...allSamples, ...(probe?.samples ?? [])];
  let current: { round: number; step: RateStep; stepStart: number; phase: string; killedHere: boolean } | undefined;
  /** The report of the step under way; `partial` when the run stopped before all its Containers ran. */
  const closeStep = (partial: boolean): StepReport => {
    const c = current!;
    current = undefined;
    const stepEnd = Date.now();
    const lat = tracker!.latencies(c.phase);
    const api = apiSummary(samplesSoFar(), c.stepStart, stepEnd);
    const startup = summarize(lat.fromCreation);
    const running = partial ? lat.fromCreation.length : c.step.replicas;
    const r: StepReport = {
      round: c.round,
      rate: c.step.rate,
      replicas: running,
      sets: c.step.sets.length,
      achieved: (running * 1000) / (stepEnd - c.stepStart),
      seconds: (stepEnd - c.stepStart) / 1000,
      killedHere: c.killedHere,
      partial,
      startupFromCreation: startup,
      startupFromSeen: summarize(lat.fromSeen),
      api,
      ...stepSlos(startup, api),
    };
    report.steps.push(r);
    return r;
  };
  /** RSS and etcd DB size now, with the number of Running Containers they were taken at. */
  const snapshot = async () => {
    for (const [name, pid] of Object.entries(procs())) report.rssAtFullMiB[name] = mib(pid === undefined ? undefined : rssBytes(pid));
    for (const m of run.etcd?.members ?? []) report.etcdDbSizeMiB[m.name] = m.alive() ? mib1((await etcdStatus(m.clientUrl))?.dbSize) : undefined;
    report.snapshotAtRunning = tracker?.counts().running ?? 0;
  };
  let cpuBefore: { at: number; cpu: Record<string, number> } | undefined;
  /** CPU per process from the start of round 1's create phase until now (its end, or where the run stopped). */
  const closeCpu = () => {
    if (!cpuBefore) return;
    sampleProcs();
    const after: Record<string, number> = { ...lastCpu, machine: machineBusySeconds() ?? NaN };
    for (const [name, v] of Object.entries(after)) report.cpuSecondsCreate[name] = v - (cpuBefore.cpu[name] ?? 0);
    report.createWallSeconds = (Date.now() - cpuBefore.at) / 1000;
    cpuBefore = undefined;
  };
  let finished: Promise<void> | undefined;
  // A call that hangs past the deadline must not keep the cluster running: tear down, report, exit.
  const watchdog = setTimeout(() => {
    report.errors.push(`global deadline of ${opts.deadlineMs / 60_000} min reached`);
    void finish().then(() => process.exit());
  }, opts.deadlineMs + 30_000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      report.errors.push(`interrupted (${signal})`);
      void finish().then(() => process.exit());
    });
  }

  try {
    // The cluster: etcd, PKI, API servers, a join token, the controllers, the hollow nodes.
    let t = Date.now();
    run.etcd = await startEtcdCluster({ size: 3 });
    report.setup['etcd'] = (Date.now() - t) / 1000;
    const pkiOut = persysOnce(['pki', 'init', '--data-dir', dir]);
    const caHash = /CA certificate hash: (sha256:[0-9a-f]+)/.exec(pkiOut)?.[1];
    if (!caHash) throw new Error(`persys pki init printed no CA hash:\n${pkiOut}`);
    t = Date.now();
    run.apis = await Promise.all([0, 1].map((i) => startApiServerProc(`apiserver-${i}`, run.etcd!.endpoints, dir, logDir, opts.logLevel)));
    report.setup['apiservers'] = (Date.now() - t) / 1000;
    const target = failoverTarget(run.apis.map((a) => a.server));
    const configFile = join(dir, 'config.yaml');
    const token = persysOnce(['--config', configFile, '--server', target, 'token', 'create', '--ttl', '4h', '--description', 'bench:scale']).split('\n')[0]!.trim();
    run.client = new ApiClient({ ...loadClientConfig({ config: configFile }), server: target });
    for (const ns of [PROBE_NS, ...namespaces]) await run.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: ns } });

    t = Date.now();
    const controllersMetrics = `127.0.0.1:${await freePort()}`;
    const controllers = new Proc('controllers', ['--config', configFile, '--server', target, 'controllers', '--metrics-listen', controllersMetrics, '--log-level', opts.logLevel], join(logDir, 'controllers.log'));
    run.controllers = { proc: controllers, metrics: controllersMetrics };
    await waitHttpOk(controllers, `http://${controllersMetrics}/healthz`, 120_000);
    report.setup['controllers'] = (Date.now() - t) / 1000;

    t = Date.now();
    mkdirSync(join(dir, 'hollow'));
    run.hollow = new Proc('hollow', [
      'hollow-nodes',
      '--count', String(opts.nodes),
      '--server', run.apis.map((a) => a.server).join(','),
      '--token', token,
      '--ca-cert-hash', caHash,
      '--data-dir', join(dir, 'hollow'),
      '--start-delay', opts.startDelay,
      '--heartbeat-interval', opts.heartbeat,
      '--metrics-listen', `127.0.0.1:${await freePort()}`,
      '--log-level', opts.logLevel,
    ], join(logDir, 'hollow.log'));
    await run.hollow.waitForLine(/hollow nodes connected/, Math.min(opts.waitMs, deadlineAt - Date.now()));
    report.setup['hollowNodes'] = (Date.now() - t) / 1000;

    tracker = new StartupTracker(run.client);
    nodesTracker = new NodeReadyTracker(run.client);
    tracker.informer.start();
    nodesTracker.informer.start();
    await Promise.all([tracker.informer.waitForSync(), nodesTracker.informer.waitForSync()]);
    await waitFor(`${opts.nodes} Ready nodes`, opts.waitMs, () => nodesTracker!.ready() >= opts.nodes);
    report.setup['nodesReady'] = (Date.now() - t) / 1000;
    if (opts.idleSeconds > 0) report.idleWritesBeforeLoad = await measureIdle(run, opts);
    log(`cluster up: etcd ×3, API servers ${run.apis.map((a) => a.server).join(' ')}, controllers, ${opts.nodes} Ready hollow nodes`);

    for (let round = 1; round <= opts.rounds; round++) {
      const rd: ScaleReport['rounds'][number] = { round };
      report.rounds.push(rd);
      created.clear();
      if (round > 1) for (const ns of namespaces) await run.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: ns } });
      startProbe();

      // Create, one rate step at a time; each step ends when all its Containers are Running.
      const createStart = Date.now();
      sampleProcs();
      if (round === 1) cpuBefore = { at: createStart, cpu: { ...lastCpu, machine: machineBusySeconds() ?? NaN } };
      let cum = 0;
      // Midway: half of the Containers asked for, or half of the time left, whichever comes first.
      const killAt = createStart + (deadlineAt - createStart) / 2;
      const maybeKill = async (asked: number) => {
        if (!opts.kill || round !== 1 || report.kill || (asked < total / 2 && Date.now() < killAt)) return;
        if (current) current.killedHere = true;
        report.kill = await killMidway(run, asked);
        log(`kill -9: etcd ${report.kill.etcdMember}${report.kill.etcdWasLeader ? ' (leader)' : ''} and ${report.kill.apiServer} at ${asked} replicas asked`);
      };
      for (const [si, step] of steps.entries()) {
        const stepStart = Date.now();
        tracker.phase = `r${round}-s${si}`;
        current = { round, step, stepStart, phase: tracker.phase, killedHere: false };
        let before = 0;
        for (const i of step.sets) {
          const due = stepStart + dueAtMs(before, step.rate);
          if (due > Date.now()) await sleep(Math.min(due - Date.now(), Math.max(0, deadlineAt - Date.now())));
          if (Date.now() > deadlineAt) throw new Deadline('global deadline reached while creating');
          const obj = await createWithRetry(run.client, containerSet(sets[i]!, 0));
          created.set(i, obj.metadata.uid!);
          before += sets[i]!.replicas;
          cum += sets[i]!.replicas;
          await maybeKill(cum);
        }
        await waitFor(`${cum} Containers Running (step ${si})`, opts.waitMs, async () => {
          await maybeKill(cum);
          const c = tracker!.counts();
          return c.running >= cum && c.total === cum;
        });
        const r = closeStep(false);
        log(`step ${si}: ${step.replicas} at ${step.rate}/s asked → ${fmt(r.achieved)}/s; startup p99 ${fmt(r.startupFromCreation.p99, 0)} ms; broken: ${r.broken.join(',') || 'none'}`);
      }
      rd.createSeconds = (Date.now() - createStart) / 1000;
      if (round === 1) {
        closeCpu();
        await snapshot();
      }
      const tl = Date.now();
      const everything = await listAllPages(run.client, 'Container', '');
      if (round === 1) report.clusterListAtFull = { ms: Date.now() - tl, items: everything.length };
      rd.verifyAfterCreate = verify(sets, created, everything, () => true);
      log(`after create: ${rd.verifyAfterCreate.length ? rd.verifyAfterCreate.slice(0, 5).join('; ') : 'OK'}`);

      // Rolling update of about a tenth: a new env value in the template.
      tracker.phase = `r${round}-rollout`;
      const rollStart = Date.now();
      for (const i of rolled) {
        await updateWithRetry(run.client, sets[i]!, (cur) => {
          const spec = cur['spec'] as { template: { spec: { env: { name: string; value: string }[] } } };
          spec.template.spec.env = [{ name: 'ROLLOUT', value: String(round) }];
        });
      }
      const rolledSet = new Set(rolled);
      const rolledReplicas = rolled.reduce((a, i) => a + sets[i]!.replicas, 0);
      await waitFor('the rolling update to finish', opts.waitMs, () => {
        let fresh = 0;
        let all = 0;
        for (const c of tracker!.informer.list()) {
          all++;
          if (rolloutOf(c) === String(round) && phaseOf(c) === 'Running') fresh++;
        }
        return fresh >= rolledReplicas && all === total;
      }, 1_000);
      rd.rolloutSeconds = (Date.now() - rollStart) / 1000;
      rd.rolloutSets = rolled.length;
      rd.rolloutReplicas = rolledReplicas;
      rd.rolloutStartup = summarize(tracker.latencies(tracker.phase).fromCreation);
      rd.verifyAfterRollout = verify(sets, created, await listAllPages(run.client, 'Container', ''), (i, c) => rolloutOf(c) === (rolledSet.has(i) ? String(round) : '0'));
      log(`rollout of ${rolledReplicas} replicas: ${fmt(rd.rolloutSeconds)} s; ${rd.verifyAfterRollout.length ? rd.verifyAfterRollout.slice(0, 5).join('; ') : 'OK'}`);
      await stopProbe();

      if (round === 1 && opts.idleSeconds > 0) {
        // Idle: nothing of ours writes (the probe is stopped); etcd's revision counts every write.
        report.idleWrites = await measureIdle(run, opts);
        log(`idle: ${report.idleWrites?.revisions} revisions in ${opts.idleSeconds} s`);
      }

      // Delete everything: the namespaces, and with them the sets and Containers.
      tracker.phase = `r${round}-delete`;
      const delStart = Date.now();
      for (const ns of namespaces) await run.client.delete('Namespace', ns);
      await waitFor('every Container and namespace to be gone', opts.waitMs, async () => {
        if (tracker!.counts().total > 0) return false;
        const left = (await run.client!.list('Namespace', {})).items.filter((n) => namespaces.includes(n.metadata.name!));
        return left.length === 0;
      }, 1_000);
      rd.deleteSeconds = (Date.now() - delStart) / 1000;
      log(`deleted everything in ${fmt(rd.deleteSeconds)} s`);
    }
  } catch (err) {
    report.errors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    log(`stopped early: ${String(err)}`);
  } finally {
    await finish();
  }

  async function finish(): Promise<void> {
    if (finished) return finished;
    finished = (async () => {
      clearInterval(rssTimer);
      clearTimeout(watchdog);
      if (current && tracker) closeStep(true);
      closeCpu();
      if (report.snapshotAtRunning === undefined && run.etcd) await snapshot().catch(() => undefined);
      await stopProbe().catch(() => undefined);
      if (run.controllers) report.informerRelists = await scrapeCounter(run.controllers.metrics, 'persys_informer_relists_total');
      if (nodesTracker) report.falseNotReady = { count: nodesTracker.notReady.length, first: nodesTracker.notReady.slice(0, 10) };
      for (const [name, b] of Object.entries(peak)) report.rssPeakMiB[name] = mib(b);
      report.highestRateWithinSlos = highestRateWithinSlos(
        report.steps.filter((s) => !s.partial).map((s) => ({ rate: s.rate, achieved: s.achieved, broken: [...s.broken, ...(Object.values(s.api).some((k) => k.errors) ? ['apiErrors'] : [])] })),
      );
      const problems = [
        ...report.errors,
        ...report.rounds.flatMap((r) => [...(r.verifyAfterCreate ?? []), ...(r.verifyAfterRollout ?? [])]),
        ...(report.falseNotReady.count ? [`${report.falseNotReady.count} false NotReady`] : []),
      ];
      report.verdict = problems.length ? `NOT OK: ${problems.length} problems (first: ${problems[0]})` : 'OK';
      await tracker?.informer.stop();
      await nodesTracker?.informer.stop();
      run.client?.close();
      await teardown(run);
      printReport(report);
      emitResult(report, opts.json, problems);
    })();
    return finished;
  }
}

/** etcd revisions written over --idle-seconds, per hour, less one Lease renewal per node per heartbeat. */
async function measureIdle(run: Running, opts: Options): Promise<ScaleReport['idleWrites']> {
  const live = run.etcd!.members.find((m) => m.alive())!;
  const a = await etcdStatus(live.clientUrl);
  await sleep(opts.idleSeconds * 1000);
  const b = await etcdStatus(live.clientUrl);
  if (!a || !b) return undefined;
  const w = idleWritesPerHour(b.revision - a.revision, opts.idleSeconds * 1000, opts.nodes, durationMs(opts.heartbeat));
  return { windowSeconds: opts.idleSeconds, revisions: b.revision - a.revision, ...w };
}

/** kill -9 of the etcd leader (or member 0) and of the first API server, the one clients dial first. */
async function killMidway(run: Running, atReplicas: number): Promise<NonNullable<ScaleReport['kill']>> {
  const etcd = run.etcd!;
  let index = 0;
  for (const [i, m] of etcd.members.entries()) if ((await etcdStatus(m.clientUrl))?.leader) index = i;
  const wasLeader = (await etcdStatus(etcd.members[index]!.clientUrl))?.leader ?? false;
  await Promise.all([etcd.kill(index), run.apis[0]!.proc.kill()]);
  return { atMs: Date.now(), etcdMember: etcd.members[index]!.name, etcdWasLeader: wasLeader, apiServer: run.apis[0]!.proc.name, atReplicas };
}

/** Retries a create through a failover (UNAVAILABLE); ALREADY_EXISTS means an earlier try landed. */
async function createWithRetry(client: ApiClient, obj: Resource): Promise<Resource> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.create(obj);
    } catch (err) {
      const code = (err as { codeName?: string }).codeName;
      if (code === 'ALREADY_EXISTS') return client.get(obj.kind, obj.metadata.name!, obj.metadata.namespace);
      if (attempt >= 30) throw err;
      await sleep(1_000);
    }
  }
}

async function updateWithRetry(client: ApiClient, p: PlannedSet, change: (cur: Resource) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const cur = await client.get('ContainerSet', p.name, p.namespace);
      change(cur);
      await client.update(cur);
      return;
    } catch (err) {
      if (attempt >= 30) throw err;
      await sleep(attempt === 0 ? 50 : 1_000);
    }
  }
}

/** Lost, doubled or not Running Containers per planned set, and any that fail `check`. */
function verify(sets: readonly PlannedSet[], created: Map<number, string>, containers: readonly Resource[], check: (setIndex: number, c: Resource) => boolean): string[] {
  const byUid = new Map<string, number>();
  for (const [i, uid] of created) byUid.set(uid, i);
  const counts = new Map<number, SetCount>();
  for (const [i] of created) counts.set(i, { namespace: sets[i]!.namespace, name: sets[i]!.name, desired: sets[i]!.replicas, names: [], running: 0 });
  let stray = 0;
  const failing: string[] = [];
  for (const c of containers) {
    const owner = c.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    const i = owner === undefined ? undefined : byUid.get(owner);
    if (i === undefined) {
      stray++;
      continue;
    }
    // A Container on its way out (rolled or deleted) is not one of the set's replicas any more.
    if (c.metadata.deletionTimestamp) continue;
    const s = counts.get(i)!;
    s.names.push(c.metadata.name!);
    if (phaseOf(c) === 'Running') s.running++;
    if (!check(i, c)) failing.push(`${c.metadata.namespace}/${c.metadata.name}`);
  }
  const out = discrepancies([...counts.values()], stray);
  if (failing.length) out.push(`${failing.length} Containers not on their set's current template (e.g. ${failing[0]})`);
  return out;
}

/** Stops every process this run started, by pid, and removes the data directories (logs stay). */
async function teardown(run: Running): Promise<void> {
  const stops: Promise<void>[] = [];
  if (run.hollow) stops.push(run.hollow.stop(15_000));
  if (run.controllers) stops.push(run.controllers.proc.stop());
  await Promise.all(stops);
  await Promise.all(run.apis.map((a) => a.proc.stop()));
  await run.etcd?.stop();
  rmSync(run.dir, { recursive: true, force: true });
}

runBench(main);
