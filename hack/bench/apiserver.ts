// API server benchmark (`npm run bench:apiserver`): raw etcd3 puts as the baseline, Container creates
// through a separate API server process over mTLS, and watch fan-out delay, in one bounded run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import type { Resource } from '../../lib/api/resource.js';
import { ApiClient, ApiError } from '../../lib/client/client.js';
import type { ClientConfig } from '../../lib/client/config.js';
import { initPki, pkiPaths } from '../../apiserver/pki/index.js';
import { freePort, startEtcd, type EtcdInstance } from '../../e2e/harness/etcd.js';
import { measureCpu, type CpuReport } from './process-cpu.js';
import { benchFlags } from './until.js';
import { fmt, rate, summarize, type Summary } from './stats.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const T0_ANNOTATION = 'bench/t0';
const CREATE_TARGET_RATIO = 0.5;
const WATCH_TARGET_P99_MS = 100;

const USAGE = `usage: npm run bench:apiserver -- [flags]
  --objects N            objects written by the raw and the persys phase (default 5000)
  --concurrency C        concurrent writers; persys uses C separate mTLS clients (default 32)
  --watchers W           concurrent watch streams (default 200)
  --events E             objects written while they watch (default 200)
  --event-rate R         writes per second during the watch phase; 0 = back to back (default 20)
  --watch-connections K  client connections the watchers share (default 20)
  --timeout SECONDS      abort the whole run after this long (default 300)
  --server MODE          auto | cli (bin/persys.js apiserver) | child (hack/bench/apiserver-child.ts)
  --server-cpu-prof DIR  run the API server under node --cpu-prof, profile written to DIR
  --server-entry FILE    implies --server child: run FILE instead of hack/bench/apiserver-child.ts
                         (same arguments), to try a server change without touching the tree
  --json FILE            write the JSON result there (default: the last line of stdout)`;

interface Options {
  objects: number;
  concurrency: number;
  watchers: number;
  events: number;
  eventRate: number;
  watchConnections: number;
  timeoutMs: number;
  server: 'auto' | 'cli' | 'child';
  serverCpuProf?: string;
  serverEntry?: string;
  json?: string;
}

function parseOptions(argv: string[]): Options {
  const values = benchFlags(argv, USAGE, {
    objects: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    watchers: { type: 'string', default: '200' },
    events: { type: 'string', default: '200' },
    'event-rate': { type: 'string', default: '20' },
    'watch-connections': { type: 'string', default: '20' },
    timeout: { type: 'string', default: '300' },
    server: { type: 'string', default: 'auto' },
    'server-cpu-prof': { type: 'string' },
    'server-entry': { type: 'string' },
    json: { type: 'string' },
  });
  const int = (name: keyof typeof values, min: number): number => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}, got ${String(values[name])}\n${USAGE}`);
    return v;
  };
  const server = values.server as Options['server'];
  if (!['auto', 'cli', 'child'].includes(server)) throw new Error(`--server must be auto, cli or child\n${USAGE}`);
  return {
    objects: int('objects', 1),
    concurrency: int('concurrency', 1),
    watchers: int('watchers', 1),
    events: int('events', 1),
    eventRate: int('event-rate', 0),
    watchConnections: int('watch-connections', 1),
    timeoutMs: int('timeout', 1) * 1000,
    server,
    serverCpuProf: values['server-cpu-prof'],
    serverEntry: values['server-entry'],
    json: values.json,
  };
}

/** Wall-clock milliseconds with sub-millisecond precision; writer and watchers share this process. */
const nowMs = () => performance.timeOrigin + performance.now();

/** A Container as a user would write it: image, command, env, ports, volume, resources, healthcheck. */
function containerManifest(name: string, namespace: string, annotations: Record<string, string> = {}): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace, labels: { app: 'bench' }, annotations },
    spec: {
      image: 'persys/busybox:test',
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      env: [
        { name: 'MODE', value: 'production' },
        { name: 'LOG_LEVEL', value: 'info' },
      ],
      ports: [{ name: 'http', containerPort: 8080, hostPort: 0, protocol: 'TCP' }],
      volumes: [{ mountPath: '/www', volumeName: 'web-content' }],
      resources: { requests: { cpu: '100m', memory: '16Mi' }, limits: { cpu: '500m', memory: '64Mi' } },
      healthcheck: { tcpSocket: { port: 8080 }, intervalSeconds: 10 },
      restartPolicy: 'Always',
    },
  };
}

/** The JSON body persys stores for that manifest (server fields added), written as-is by the raw phase. */
function storedBody(i: number): Buffer {
  const obj = containerManifest(`bench-${i}`, 'default');
  obj.metadata = {
    ...obj.metadata,
    uid: '3f1c2b9e-8a4d-4f6b-9c2e-5d7a1b0e4c3f',
    generation: 1,
    creationTimestamp: '2025-01-01T00:00:00Z',
  };
  return Buffer.from(JSON.stringify(obj));
}

/** Runs fn(0..count-1) with `concurrency` workers; stops handing out work once the signal aborts. */
async function runPool(count: number, concurrency: number, signal: AbortSignal, fn: (i: number, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (w: number) => {
    while (next < count) {
      signal.throwIfAborted();
      await fn(next++, w);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, (_, w) => worker(w)));
}

interface Throughput {
  count: number;
  seconds: number;
  perSecond: number;
  latencyMs: Summary;
  /** CPU seconds each process spent during the timed part. */
  cpuSeconds: CpuReport;
}

type Pids = Record<string, number | undefined>;

async function timedPool(
  count: number,
  concurrency: number,
  signal: AbortSignal,
  pids: Pids,
  fn: (i: number, worker: number) => Promise<void>,
): Promise<Throughput> {
  const latencies = new Float64Array(count);
  const cpu = measureCpu(pids);
  const start = performance.now();
  await runPool(count, concurrency, signal, async (i, w) => {
    const t = performance.now();
    await fn(i, w);
    latencies[i] = performance.now() - t;
  });
  const ms = performance.now() - start;
  return { count, seconds: ms / 1000, perSecond: rate(count, ms), latencyMs: summarize(latencies), cpuSeconds: cpu() };
}

interface RawResult {
  put: Throughput;
  /** What one persys create asks of etcd: a linearizable get of the namespace, then a create-if-absent txn. */
  getTxn: Throughput;
}

async function benchRawEtcd(etcd: EtcdInstance, opts: Options, signal: AbortSignal): Promise<RawResult> {
  const client = new Etcd3({ hosts: etcd.endpoint });
  const pids = { etcd: etcd.pid(), 'load generator': process.pid };
  try {
    // Bodies are built before the clock starts: the baseline should time etcd and its client only.
    const bodies = Array.from({ length: opts.objects }, (_, i) => storedBody(i));
    const warm = Math.min(200, opts.objects);
    await runPool(warm, opts.concurrency, signal, (i) => client.put(`/bench-warm/${i}`).value(bodies[i]!).then(() => undefined));
    const put = await timedPool(opts.objects, opts.concurrency, signal, pids, async (i) => {
      await client.put(`/bench-raw/containers/default/bench-${i}`).value(bodies[i]!);
    });
    const nsKey = Buffer.from('/bench-txn/namespaces/default');
    await client.put(nsKey).value('{"kind":"Namespace"}');
    const getTxn = await timedPool(opts.objects, opts.concurrency, signal, pids, async (i) => {
      const key = Buffer.from(`/bench-txn/containers/default/bench-${i}`);
      await client.get(nsKey).buffer();
      const res = await client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value: bodies[i]! } }],
      });
      if (!res.succeeded) throw new Error(`raw txn: ${key.toString()} exists already`);
    });
    return { put, getTxn };
  } finally {
    client.close();
  }
}

/** An API server in its own process, so its CPU is not shared with the load generator's event loop. */
interface ServerProcess {
  mode: 'cli' | 'child';
  pid: number;
  config: ClientConfig;
  stop(): Promise<void>;
}

function cliWorks(dataDir: string): boolean {
  const res = spawnSync(process.execPath, [join(REPO, 'bin/persys.js'), 'pki', 'init', '--data-dir', dataDir], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  return res.status === 0;
}

async function waitForPort(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs) {
    if (child.exitCode !== null) throw new Error(`API server exited with code ${child.exitCode} before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`API server did not listen on 127.0.0.1:${port} in time`);
}

async function startServerProcess(etcdEndpoint: string, dataDir: string, opts: Options): Promise<ServerProcess> {
  let mode: 'cli' | 'child' = opts.server === 'child' || opts.serverEntry ? 'child' : 'cli';
  if (mode === 'cli' && !cliWorks(dataDir)) {
    if (opts.server === 'cli') throw new Error('`persys pki init` failed and --server cli was asked for');
    mode = 'child';
  }
  const pki = mode === 'child' ? await initPki(join(dataDir, 'pki')) : pkiPaths(join(dataDir, 'pki'));
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const nodeFlags = opts.serverCpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.serverCpuProf] : [];
  const args =
    mode === 'cli'
      ? [...nodeFlags, join(REPO, 'bin/persys.js'), 'apiserver', '--etcd-servers', etcdEndpoint, '--data-dir', dataDir,
         '--listen', listen, '--metrics-listen', '127.0.0.1:0', '--log-level', 'warn']
      : [...nodeFlags, '--import', 'tsx', opts.serverEntry ?? join(REPO, 'hack/bench/apiserver-child.ts'), etcdEndpoint, dataDir, listen, 'warn'];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  // Server logs (warn and above) go to stderr, so stdout stays the report.
  const forward = (chunk: Buffer) => process.stderr.write(chunk.toString().replace(/^(?=.)/gm, '[apiserver] '));
  child.stdout!.on('data', forward);
  child.stderr!.on('data', forward);
  await waitForPort(port, child, Date.now() + 60_000);
  return {
    mode,
    pid: child.pid!,
    config: { server: listen, caCert: pki.caCert, clientCert: pki.adminCert, clientKey: pki.adminKey, namespace: 'default' },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface CreateResult extends Throughput {
  ratio: number;
}

async function benchCreate(config: ClientConfig, opts: Options, baseline: Throughput, pids: Pids, signal: AbortSignal): Promise<CreateResult> {
  // One client per worker: each has its own secure context, so grpc-js gives it its own connection.
  const clients = Array.from({ length: opts.concurrency }, () => new ApiClient(config));
  try {
    await Promise.all(clients.map((c) => c.listKinds()));
    const warm = Math.min(200, opts.objects);
    await runPool(warm, opts.concurrency, signal, (i, w) => clients[w]!.create(containerManifest(`warm-${i}`, 'default')).then(() => undefined));
    const t = await timedPool(opts.objects, opts.concurrency, signal, pids, async (i, w) => {
      await clients[w]!.create(containerManifest(`bench-${i}`, 'default'));
    });
    return { ...t, ratio: t.perSecond / baseline.perSecond };
  } finally {
    clients.forEach((c) => c.close());
  }
}

interface WatchResult {
  watchers: number;
  events: number;
  expected: number;
  delivered: number;
  missing: number;
  /** Watchers whose stream ended with an error before seeing every event, and the first such error. */
  streamErrors: number;
  firstStreamError?: string;
  delayMs: Summary;
  createLatencyMs: Summary;
  writeSeconds: number;
  cpuSeconds: CpuReport;
}

async function benchWatchFanout(config: ClientConfig, opts: Options, pids: Pids, signal: AbortSignal): Promise<WatchResult> {
  const ns = 'bench-watch';
  const writer = new ApiClient(config);
  const conns = Array.from({ length: Math.min(opts.watchConnections, opts.watchers) }, () => new ApiClient(config));
  try {
    await writer.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: ns } }).catch((err: unknown) => {
      if (!(err instanceof ApiError && err.codeName === 'ALREADY_EXISTS')) throw err;
    });
    const { resourceVersion } = await writer.list('Container', { namespace: ns });

    const delays: number[] = [];
    let warmSeen = 0;
    let streamErrors = 0;
    let firstStreamError: string | undefined;
    let finished = 0;
    let allFinished!: () => void;
    const allDone = new Promise<void>((r) => (allFinished = r));
    const watchOne = async (w: number) => {
      let seen = 0;
      try {
        for await (const ev of conns[w % conns.length]!.watch('Container', { namespace: ns, resourceVersion })) {
          const received = nowMs();
          if (ev.type !== 'ADDED') continue;
          const t0 = ev.object?.metadata.annotations?.[T0_ANNOTATION];
          if (t0 === undefined) {
            warmSeen++;
            continue;
          }
          delays.push(received - Number(t0));
          if (++seen === opts.events) break;
        }
      } catch (err) {
        streamErrors++;
        firstStreamError ??= err instanceof Error ? err.message : String(err);
      } finally {
        if (++finished === opts.watchers) allFinished();
      }
    };
    for (let w = 0; w < opts.watchers; w++) void watchOne(w);

    // The first (unmeasured) write proves every stream is open, so no delay includes stream setup.
    await writer.create(containerManifest('warm', ns));
    const warmDeadline = Date.now() + 30_000;
    while (warmSeen < opts.watchers) {
      signal.throwIfAborted();
      if (Date.now() > warmDeadline) throw new Error(`only ${warmSeen} of ${opts.watchers} watchers saw the warm-up event in 30 s`);
      await sleep(10);
    }

    const createLatency: number[] = [];
    const cpu = measureCpu(pids);
    const interval = opts.eventRate > 0 ? 1000 / opts.eventRate : 0;
    const start = performance.now();
    for (let i = 0; i < opts.events; i++) {
      signal.throwIfAborted();
      const wait = start + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      const t0 = nowMs();
      await writer.create(containerManifest(`ev-${i}`, ns, { [T0_ANNOTATION]: t0.toFixed(3) }));
      createLatency.push(nowMs() - t0);
    }
    const writeSeconds = (performance.now() - start) / 1000;

    const expected = opts.watchers * opts.events;
    const grace = new AbortController();
    await Promise.race([allDone, sleep(30_000, undefined, { signal: AbortSignal.any([signal, grace.signal]) })]).finally(() => grace.abort());
    return {
      watchers: opts.watchers,
      events: opts.events,
      expected,
      delivered: delays.length,
      missing: expected - delays.length,
      streamErrors,
      firstStreamError,
      delayMs: summarize(delays),
      createLatencyMs: summarize(createLatency),
      writeSeconds,
      cpuSeconds: cpu(),
    };
  } finally {
    // Closing the channels ends any stream still waiting for events that never came.
    writer.close();
    conns.forEach((c) => c.close());
  }
}

/** Where the CPU went during a phase, against what the machine had: saturation explains throughput. */
function cpuLine(cpu: CpuReport, seconds: number): string {
  const parts = Object.entries(cpu).map(([name, s]) => `${name} ${s === undefined ? 'n/a' : `${fmt(s, 2)} s`}`);
  return `                 cpu: ${parts.join(', ')} in ${fmt(seconds, 2)} s wall (${cpus().length} CPUs = ${fmt(seconds * cpus().length, 2)} CPU-s)`;
}

function report(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`benchmark aborted after ${opts.timeoutMs / 1000} s (--timeout)`)), opts.timeoutMs);
  timer.unref();
  const cleanups: (() => Promise<void> | void)[] = [];
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const bodyBytes = storedBody(0).length;
    report(`persys API server benchmark: node ${process.version}, ${cpus().length} CPUs, object body ${bodyBytes} bytes`);

    const rawEtcd = await startEtcd();
    cleanups.push(() => rawEtcd.stop());
    const raw = await benchRawEtcd(rawEtcd, opts, abort.signal);
    await rawEtcd.stop();
    cleanups.pop();
    report(`raw etcd3 put:   ${raw.put.count} objects in ${fmt(raw.put.seconds, 2)} s = ${fmt(raw.put.perSecond, 0)} obj/s (${opts.concurrency} concurrent)` +
      `  latency p50 ${fmt(raw.put.latencyMs.p50)} ms p99 ${fmt(raw.put.latencyMs.p99)} ms`);
    report(`raw get+txn:     ${raw.getTxn.count} objects in ${fmt(raw.getTxn.seconds, 2)} s = ${fmt(raw.getTxn.perSecond, 0)} obj/s` +
      ` (the etcd work of one persys create: namespace get + create-if-absent txn)`);
    report(cpuLine(raw.put.cpuSeconds, raw.put.seconds));

    // A fresh etcd, so the API server starts from the same (empty) state the raw phase did.
    const etcd = await startEtcd();
    cleanups.push(() => etcd.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'persys-bench-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await startServerProcess(etcd.endpoint, dataDir, opts);
    cleanups.push(() => server.stop());
    const entry = server.mode === 'cli' ? 'bin/persys.js apiserver' : (opts.serverEntry ?? 'hack/bench/apiserver-child.ts');
    report(`API server:      pid ${server.pid} at ${server.config.server} (${entry})`);

    const pids = { etcd: etcd.pid(), apiserver: server.pid, 'load generator': process.pid };
    const create = await benchCreate(server.config, opts, raw.put, pids, abort.signal);
    report(`persys create:   ${create.count} objects in ${fmt(create.seconds, 2)} s = ${fmt(create.perSecond, 0)} obj/s (${opts.concurrency} concurrent)` +
      `  ratio ${fmt(create.ratio, 2)} (target >= ${CREATE_TARGET_RATIO})` +
      `  latency p50 ${fmt(create.latencyMs.p50)} ms p99 ${fmt(create.latencyMs.p99)} ms`);

    report(cpuLine(create.cpuSeconds, create.seconds));

    const watch = await benchWatchFanout(server.config, opts, pids, abort.signal);
    const d = watch.delayMs;
    report(`watch fan-out:   ${watch.watchers} watchers x ${watch.events} events, p50 ${fmt(d.p50)} ms p90 ${fmt(d.p90)} ms` +
      ` p99 ${fmt(d.p99)} ms max ${fmt(d.max)} ms (target p99 < ${WATCH_TARGET_P99_MS} ms)`);
    report(`                 ${watch.delivered}/${watch.expected} deliveries, ${watch.missing} missing, ${watch.streamErrors} stream errors;` +
      `${watch.firstStreamError ? ` (first: ${watch.firstStreamError})` : ''} writes at ${opts.eventRate || 'max'}/s over ${opts.watchConnections} watch connections, create p50 ${fmt(watch.createLatencyMs.p50)} ms`);
    report(cpuLine(watch.cpuSeconds, watch.writeSeconds));

    const result = {
      options: { ...opts, timeoutMs: undefined },
      environment: { node: process.version, cpus: cpus().length, bodyBytes, server: server.mode },
      rawPut: raw.put,
      rawGetTxn: raw.getTxn,
      persysCreate: { ...create, target: CREATE_TARGET_RATIO, pass: create.ratio >= CREATE_TARGET_RATIO },
      watchFanout: { ...watch, targetP99Ms: WATCH_TARGET_P99_MS, pass: watch.missing === 0 && d.p99 < WATCH_TARGET_P99_MS },
    };
    const json = JSON.stringify(result);
    if (opts.json) writeFileSync(opts.json, `${json}\n`);
    else report(json);
    return 0;
  } catch (err) {
    console.error(`bench failed: ${abort.signal.aborted ? String(abort.signal.reason) : ''}`, err);
    return 1;
  } finally {
    clearTimeout(timer);
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch((err: unknown) => console.error('cleanup failed', err));
  }
}

// Exit explicitly: an aborted run may leave client streams that would otherwise keep node alive.
process.exit(await main());
