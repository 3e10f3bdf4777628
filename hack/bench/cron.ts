// Cron controller benchmark (`npm run bench:cron`): N CronJobs every P seconds for a window against a real
// etcd and API server, runs marked finished by a stand-in process (no Docker); schedule lag and CPU.
//
// Processes: etcd, the API server (hack/bench/apiserver-child.ts) and the stand-in (this file with
// --finisher) each run on their own; the cron controller runs in this process, which does nothing
// else during the window, so this process's CPU (process.cpuUsage) is the controller's.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { status as Code } from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Resource } from '../../lib/api/resource.js';
import { ApiClient } from '../../lib/client/client.js';
import { ApiError } from '../../lib/client/errors.js';
import type { ClientConfig } from '../../lib/client/config.js';
import { initPki } from '../../lib/pki/index.js';
import { newCronController } from '../../controllers/cron/controller.js';
import { Informer } from '../../controllers/runtime/informer.js';
import { runControllers } from '../../controllers/runtime/manager.js';
import { freePort, startEtcd } from '../../e2e/harness/etcd.js';
import { measureCpu } from './process-cpu.js';
import { benchFlags } from './until.js';
import { fmt, summarize } from './stats.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const NAMESPACE = 'bench-cron';
const TARGET_P99_MS = 1000;

const USAGE = `usage: npm run bench:cron -- [flags]
  --cronjobs N            CronJobs, all on the same schedule (default 500)
  --period SECONDS        schedule "*/SECONDS * * * * *"; must divide 60 (default 10)
  --duration SECONDS      measured window, a multiple of the period (default 120)
  --workers W             cron controller workers (default 8, as in persys controllers)
  --run-ms MS             how long the stand-in lets each run "run" before marking it Succeeded (default 1000)
  --finish-concurrency C  status writes the stand-in keeps in flight at most (default 32)
  --create-concurrency C  CronJob creates in flight at most while setting up (default 32)
  --timeout SECONDS       abort the whole run after this long (default 600)
  --json FILE             also write the JSON result there`;

interface Options {
  cronJobs: number;
  periodS: number;
  durationS: number;
  workers: number;
  runMs: number;
  finishConcurrency: number;
  createConcurrency: number;
  timeoutMs: number;
  json?: string;
  finisher?: string;
}

function parseOptions(argv: string[]): Options {
  const values = benchFlags(argv, USAGE, {
    cronjobs: { type: 'string', default: '500' },
    period: { type: 'string', default: '10' },
    duration: { type: 'string', default: '120' },
    workers: { type: 'string', default: '8' },
    'run-ms': { type: 'string', default: '1000' },
    'finish-concurrency': { type: 'string', default: '32' },
    'create-concurrency': { type: 'string', default: '32' },
    timeout: { type: 'string', default: '600' },
    json: { type: 'string' },
    finisher: { type: 'string' },
  });
  const int = (name: keyof typeof values, min: number): number => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}, got ${String(values[name])}\n${USAGE}`);
    return v;
  };
  const periodS = int('period', 1);
  const durationS = int('duration', 1);
  if (60 % periodS !== 0) throw new Error(`--period must divide 60 so "*/${periodS}" is evenly spaced\n${USAGE}`);
  if (durationS % periodS !== 0) throw new Error(`--duration must be a multiple of --period\n${USAGE}`);
  return {
    cronJobs: int('cronjobs', 1),
    periodS,
    durationS,
    workers: int('workers', 1),
    runMs: int('run-ms', 0),
    finishConcurrency: int('finish-concurrency', 1),
    createConcurrency: int('create-concurrency', 1),
    timeoutMs: int('timeout', 1) * 1000,
    json: values.json,
    finisher: values.finisher,
  };
}

const codeOf = (err: unknown) => (err instanceof ApiError ? err.code : undefined);
const report = (line: string) => process.stdout.write(`${line}\n`);
// Warnings of the controller and the stand-in go to stderr, so stdout stays the report.
const stderrLogger = (component: string) => pino({ level: 'warn', base: { component } }, pino.destination(2));

async function runPool(count: number, concurrency: number, signal: AbortSignal, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      signal.throwIfAborted();
      await fn(next++);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

// ---- the stand-in for the agents: marks every run Succeeded runMs after it appears ----------------

interface FinisherConfig {
  client: ClientConfig;
  namespace: string;
  runMs: number;
  concurrency: number;
}

interface FinisherReport {
  finished: number;
  conflicts: number;
  errors: number;
  firstError?: string;
}

async function runFinisher(configFile: string): Promise<number> {
  const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as FinisherConfig;
  const client = new ApiClient(cfg.client);
  const informer = new Informer({ client, kind: 'Container', namespace: cfg.namespace, logger: stderrLogger('finisher') });
  const stats: FinisherReport = { finished: 0, conflicts: 0, errors: 0 };
  // Keys due for a status write, in order; `pending` keeps each run in the queue once.
  const queue: { key: string; dueMs: number }[] = [];
  const pending = new Set<string>();
  const idle: (() => void)[] = [];
  let stopping = false;

  const consider = (c: Resource) => {
    const key = `${c.metadata.namespace}/${c.metadata.name}`;
    const phase = c.status?.phase;
    if (c.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed' || pending.has(key)) return;
    pending.add(key);
    queue.push({ key, dueMs: Date.now() + cfg.runMs });
    idle.shift()?.();
  };
  informer.onAdd(consider);
  informer.onUpdate((_, c) => consider(c));

  const finish = async (key: string) => {
    for (let tries = 0; tries < 5; tries++) {
      const c = informer.getByKey(key);
      if (!c || c.metadata.deletionTimestamp) return;
      const startedAt = new Date(Date.parse(c.metadata.creationTimestamp ?? '') || Date.now()).toISOString();
      try {
        await client.updateStatus({ ...c, status: { phase: 'Succeeded', reason: 'Completed', exitCode: 0, startedAt, finishedAt: new Date().toISOString() } });
        stats.finished++;
        return;
      } catch (err) {
        if (codeOf(err) === Code.NOT_FOUND) return;
        if (codeOf(err) !== Code.ABORTED) {
          stats.errors++;
          stats.firstError ??= String(err);
          return;
        }
        // The cache is behind the stored object: let the watch catch up, then write again.
        stats.conflicts++;
        await sleep(50);
      }
    }
  };
  const worker = async () => {
    while (!stopping) {
      const head = queue[0];
      if (!head) {
        await new Promise<void>((r) => idle.push(r));
        continue;
      }
      if (head.dueMs > Date.now()) {
        await sleep(Math.min(head.dueMs - Date.now(), 100));
        continue;
      }
      queue.shift();
      await finish(head.key);
      pending.delete(head.key);
    }
  };

  informer.start();
  await informer.waitForSync();
  const workers = Array.from({ length: cfg.concurrency }, worker);
  process.stdout.write('ready\n');
  await new Promise<void>((r) => {
    process.once('SIGTERM', r);
    process.once('SIGINT', r);
  });
  stopping = true;
  for (const w of idle.splice(0)) w();
  await Promise.race([Promise.all(workers), sleep(5_000)]);
  await informer.stop();
  client.close();
  process.stdout.write(`${JSON.stringify(stats)}\n`);
  return 0;
}

// ---- child processes -------------------------------------------------------------------------------

interface Child {
  pid: number;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  stop(): Promise<void>;
}

function startChild(label: string, args: string[]): { child: ChildProcess; handle: Child } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(d.toString().replace(/^(?=.)/gm, `[${label}] `)));
  const handle: Child = {
    pid: child.pid!,
    stdout: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return { child, handle };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, child: ChildProcess, deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs) {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited with code ${child.exitCode}`);
    if (await ok()) return;
    await sleep(100);
  }
  throw new Error(`${what}: not in time`);
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

async function startApiServer(etcdEndpoint: string, dataDir: string): Promise<Child & { config: ClientConfig }> {
  const pki = await initPki(join(dataDir, 'pki'));
  const port = await freePort();
  const { child, handle } = startChild('apiserver', [join(REPO, 'hack/bench/apiserver-child.ts'), etcdEndpoint, dataDir, `127.0.0.1:${port}`, 'warn']);
  await until('API server listening', () => portOpen(port), child, Date.now() + 60_000);
  return { ...handle, config: { server: `127.0.0.1:${port}`, caCert: pki.caCert, clientCert: pki.adminCert, clientKey: pki.adminKey, namespace: NAMESPACE } };
}

async function startFinisher(cfg: FinisherConfig, dataDir: string): Promise<Child & { report(): FinisherReport | undefined }> {
  const file = join(dataDir, 'finisher.json');
  writeFileSync(file, JSON.stringify(cfg));
  const { child, handle } = startChild('finisher', [SELF, '--finisher', file]);
  await until('stand-in synced', () => handle.stdout().includes('ready\n'), child, Date.now() + 60_000);
  return {
    ...handle,
    report() {
      const last = handle.stdout().trim().split('\n').at(-1) ?? '';
      return last.startsWith('{') ? (JSON.parse(last) as FinisherReport) : undefined;
    },
  };
}

// ---- the benchmark ---------------------------------------------------------------------------------

function cronJob(i: number, periodS: number): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'CronJob',
    metadata: { name: `bench-${String(i).padStart(4, '0')}`, namespace: NAMESPACE },
    spec: {
      schedule: `*/${periodS} * * * * *`,
      jobTemplate: { spec: { image: 'persys/busybox:test', command: ['true'], restartPolicy: 'Never' } },
    },
  };
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.finisher) return runFinisher(opts.finisher);

  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`benchmark aborted after ${opts.timeoutMs / 1000} s (--timeout)`)), opts.timeoutMs);
  timer.unref();
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const cleanups: (() => Promise<void> | void)[] = [];
  const aborted = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(abort.signal.reason as Error), { once: true }));
  aborted.catch(() => undefined);
  const bounded = <T>(p: Promise<T>) => Promise.race([p, aborted]);

  try {
    report(`persys cron benchmark: node ${process.version}, ${cpus().length} CPUs; ${opts.cronJobs} CronJobs "*/${opts.periodS} * * * * *" for ${opts.durationS} s`);
    // fsync as users run etcd: benchmark figures include the disk.
    const etcd = await startEtcd({ fsync: true });
    cleanups.push(() => etcd.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'persys-bench-cron-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await bounded(startApiServer(etcd.endpoint, dataDir));
    cleanups.push(() => server.stop());
    const client = new ApiClient(server.config);
    cleanups.push(() => client.close());

    await client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    const t0 = Date.now();
    await bounded(runPool(opts.cronJobs, opts.createConcurrency, abort.signal, (i) => client.create(cronJob(i, opts.periodS)).then(() => undefined)));
    report(`setup:           ${opts.cronJobs} CronJobs created in ${fmt((Date.now() - t0) / 1000, 1)} s (${opts.createConcurrency} concurrent)`);

    const finisher = await bounded(startFinisher({ client: server.config, namespace: NAMESPACE, runMs: opts.runMs, concurrency: opts.finishConcurrency }, dataDir));
    cleanups.push(() => finisher.stop());

    // The window: whole periods from the first schedule time after the controller's caches are warm.
    let windowStartMs = Infinity;
    let windowEndMs = Infinity;
    const lags: number[] = [];
    const created = new Set<string>();
    let createdOutside = 0;
    const registry = new Registry();
    // The controller's API calls, timed per verb: where the lag goes when it is over target.
    const callMs = new Map<string, number[]>();
    let timing = false;
    const timed = <A extends unknown[], R>(verb: string, fn: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
      const t = performance.now();
      try {
        return await fn(...a);
      } finally {
        if (timing) {
          const l = callMs.get(verb) ?? [];
          l.push(performance.now() - t);
          callMs.set(verb, l);
        }
      }
    };
    const verbs = ['list', 'watch', 'get', 'create', 'update', 'updateStatus', 'delete'] as const;
    const controllerClient = Object.fromEntries(
      verbs.map((v) => [v, v === 'watch' ? client.watch.bind(client) : timed(v, (client[v] as (...a: unknown[]) => Promise<unknown>).bind(client))]),
    ) as unknown as ApiClient;
    const cron = newCronController({
      client: controllerClient,
      logger: stderrLogger('cron'),
      registry,
      workers: opts.workers,
      onRunCreated: ({ name, scheduledMs, lagMs }) => {
        if (scheduledMs < windowStartMs || scheduledMs >= windowEndMs) {
          createdOutside++;
          return;
        }
        created.add(name);
        lags.push(lagMs);
      },
    });
    const running = await bounded(runControllers({ ...cron, registry, logger: stderrLogger('controller-manager') }));
    cleanups.push(() => running.stop());
    await bounded(Promise.all(cron.informers.map((i) => i.waitForSync(abort.signal))));

    const periodMs = opts.periodS * 1000;
    windowStartMs = Math.ceil((Date.now() + 2_000) / periodMs) * periodMs;
    windowEndMs = windowStartMs + opts.durationS * 1000;
    const expected = opts.cronJobs * (opts.durationS / opts.periodS);
    await bounded(sleep(windowStartMs - Date.now()));
    timing = true;
    const cpu = measureCpu({ controller: process.pid, apiserver: server.pid, etcd: etcd.pid(), finisher: finisher.pid });
    await bounded(sleep(windowEndMs - Date.now()));
    const cpuSeconds = cpu();
    timing = false;
    // Stragglers for the window's last time may still be on their way; wait at most one more period.
    const straggleDeadline = Date.now() + periodMs;
    while (created.size < expected && Date.now() < straggleDeadline) await bounded(sleep(100));

    const lag = summarize(lags);
    const windowS = opts.durationS;
    const pct = (s: number | undefined) => (s === undefined ? 'n/a' : `${fmt(s, 1)} s = ${fmt((100 * s) / windowS, 1)}% of a core`);
    report(`runs:            ${created.size} created for the window's times / ${expected} expected (${opts.cronJobs} x ${opts.durationS / opts.periodS}); ${expected - created.size} missing`);
    report(`schedule lag:    p50 ${fmt(lag.p50, 0)} ms  p90 ${fmt(lag.p90, 0)} ms  p99 ${fmt(lag.p99, 0)} ms  max ${fmt(lag.max, 0)} ms` +
      ` (creation acknowledged − scheduled time; target p99 < ${TARGET_P99_MS} ms: ${lag.p99 < TARGET_P99_MS ? 'pass' : 'FAIL'})`);
    const calls = Object.fromEntries([...callMs].map(([verb, l]) => [verb, summarize(l)]));
    report(`controller API:  ${Object.entries(calls).map(([verb, c]) => `${verb} ${c.count} (p50 ${fmt(c.p50, 0)} ms, p99 ${fmt(c.p99, 0)} ms)`).join('; ')}`);
    report(`cron controller: ${pct(cpuSeconds.controller)} (this process, process.cpuUsage; ${opts.workers} workers)`);
    report(`others:          apiserver ${pct(cpuSeconds.apiserver)}; etcd ${pct(cpuSeconds.etcd)}; stand-in ${pct(cpuSeconds.finisher)}; machine busy ${fmt(cpuSeconds.machine ?? NaN, 1)} CPU-s of ${cpus().length * windowS}`);

    await finisher.stop();
    const finished = finisher.report();
    report(`stand-in:        ${finished?.finished ?? 'n/a'} runs marked Succeeded after ${opts.runMs} ms, ${finished?.conflicts ?? 'n/a'} conflicts, ${finished?.errors ?? 'n/a'} errors` +
      `${finished?.firstError ? ` (first: ${finished.firstError})` : ''}; ${createdOutside} runs for times outside the window`);

    const result = {
      options: { ...opts, timeoutMs: undefined, finisher: undefined },
      environment: { node: process.version, cpus: cpus().length },
      window: { start: new Date(windowStartMs).toISOString(), seconds: windowS },
      runs: { expected, created: created.size, missing: expected - created.size, outsideWindow: createdOutside },
      lagMs: lag,
      controllerCallsMs: calls,
      cpuSeconds,
      cpuMeasure: 'controller: process.cpuUsage of the bench process (controller only during the window); others: /proc/PID/stat',
      standIn: finished,
      target: { p99Ms: TARGET_P99_MS, pass: lag.p99 < TARGET_P99_MS && created.size === expected },
    };
    if (opts.json) writeFileSync(opts.json, `${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    console.error('bench failed:', err);
    return 1;
  } finally {
    clearTimeout(timer);
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch((err: unknown) => console.error('cleanup failed', err));
  }
}

// Exit explicitly: client streams left by an aborted run would otherwise keep node alive.
process.exit(await main());
