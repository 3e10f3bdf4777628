// API server benchmark (`npm run bench:apiserver`): raw etcd3 puts as the baseline, Container creates
// through a separate API server process over mTLS (rounds, order alternating, etcd with fsync), watch
// load (informer-like watchers while creating at 1,000/s) and watch fan-out delay, in one bounded run.
// With --rbac, each round also measures creates and fan-out as the admin and as RBAC-checked callers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import type { Resource } from '../../lib/api/resource.js';
import { ApiClient } from '../../lib/client/client.js';
import { ApiError } from '../../lib/client/errors.js';
import type { ClientConfig } from '../../lib/client/config.js';
import { initPki, issueCertificate, pkiPaths } from '../../lib/pki/index.js';
import { freePort, startEtcd, type EtcdInstance } from '../../e2e/harness/etcd.js';
import { measureCpu, type CpuReport } from './process-cpu.js';
import { benchFlags, until } from './until.js';
import { fmt, rate, summarize, type Summary } from './stats.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const T0_ANNOTATION = 'bench/t0';
const CREATE_TARGET_RATIO = 0.6;
const CPU_TARGET_MS_PER_CREATE = 0.35;
const WATCH_TARGET_P99_MS = 100;
/** Issue 15: what RBAC may add to a create's cost or a watch event's delay. */
const RBAC_TARGET_OVERHEAD = 0.1;
/** How many slices each mode's create (and no-op) phase is cut into, run mode after mode. */
const RBAC_SLICES = 10;

const USAGE = `usage: npm run bench:apiserver -- [flags]
  --warmup N             untimed writes before each raw and persys create phase, so a fresh API server
                         is measured after V8 has optimized its hot paths, as a long-running one (default 3000)
  --rounds R             raw-vs-persys create rounds, order alternating, each on a fresh etcd (default 3)
  --objects N            objects written by the raw and the persys phase per round (default 5000)
  --concurrency C        concurrent writers (default 32)
  --connections K        mTLS connections the persys writers share, each an ApiClient of its own. The
                         raw phase's etcd3 client sends all its calls over one connection, and so does a
                         program with one ApiClient; C gives C separate programs (default 1)
  --load-watchers W      watch load: informer-like Container watches over real gRPC (default 6)
  --load-rate R          watch load: creates per second asked for while they watch (default 1000)
  --load-seconds S       watch load: how long to create at that rate (default 10)
  --watchers W           concurrent watch streams (default 200)
  --events E             objects written while they watch (default 200)
  --event-rate R         writes per second during the watch phase; 0 = back to back (default 20)
  --watch-connections K  client connections the watchers share (default 20)
  --timeout SECONDS      abort the whole run after this long (default 900)
  --rbac MODE            off | both | all: in every round, on that round's API server, run the create and
                         the watch fan-out phases as the admin (RBAC bypassed: "off") and as a user
                         certificate bound to ClusterRole edit by RoleBindings in the bench namespaces
                         ("on"); all adds a ServiceAccount token bound the same way ("token"). The modes
                         take turns in rotating order: creates in ${RBAC_SLICES} slices each, fan-out event by
                         event (--event-rate is then the rate of all modes' writes together); the
                         fan-out after the rounds is left out (default off)
  --server MODE          auto | cli (bin/persys.js apiserver) | child (hack/bench/apiserver-child.ts)
  --server-cpu-prof DIR  run the API server under node --cpu-prof, profile written to DIR
  --server-node-flags=F extra node flags for the API server process, space-separated (e.g. --server-node-flags=--trace-gc)
  --server-entry FILE    implies --server child: run FILE instead of hack/bench/apiserver-child.ts
                         (same arguments), to try a server change without touching the tree
  --json FILE            write the JSON result there (default: the last line of stdout)`;

interface Options {
  rounds: number;
  warmup: number;
  loadWatchers: number;
  loadRate: number;
  loadSeconds: number;
  objects: number;
  concurrency: number;
  connections: number;
  watchers: number;
  events: number;
  eventRate: number;
  watchConnections: number;
  timeoutMs: number;
  rbac: 'off' | 'both' | 'all';
  server: 'auto' | 'cli' | 'child';
  serverCpuProf?: string;
  serverNodeFlags: string[];
  serverEntry?: string;
  json?: string;
}

function parseOptions(argv: string[]): Options {
  const values = benchFlags(argv, USAGE, {
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3000' },
    'load-watchers': { type: 'string', default: '6' },
    'load-rate': { type: 'string', default: '1000' },
    'load-seconds': { type: 'string', default: '10' },
    objects: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string', default: '1' },
    watchers: { type: 'string', default: '200' },
    events: { type: 'string', default: '200' },
    'event-rate': { type: 'string', default: '20' },
    'watch-connections': { type: 'string', default: '20' },
    timeout: { type: 'string', default: '900' },
    rbac: { type: 'string', default: 'off' },
    server: { type: 'string', default: 'auto' },
    'server-cpu-prof': { type: 'string' },
    'server-node-flags': { type: 'string', default: '' },
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
  const rbac = values.rbac as Options['rbac'];
  if (!['off', 'both', 'all'].includes(rbac)) throw new Error(`--rbac must be off, both or all\n${USAGE}`);
  return {
    rounds: int('rounds', 1),
    warmup: int('warmup', 0),
    loadWatchers: int('load-watchers', 0),
    loadRate: int('load-rate', 1),
    loadSeconds: int('load-seconds', 1),
    objects: int('objects', 1),
    concurrency: int('concurrency', 1),
    connections: int('connections', 1),
    watchers: int('watchers', 1),
    events: int('events', 1),
    eventRate: int('event-rate', 0),
    watchConnections: int('watch-connections', 1),
    timeoutMs: int('timeout', 1) * 1000,
    rbac,
    server,
    serverCpuProf: values['server-cpu-prof'],
    serverNodeFlags: values['server-node-flags'].split(/\s+/).filter(Boolean),
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
    const warm = opts.warmup;
    await runPool(warm, opts.concurrency, signal, (i) => client.put(`/bench-warm/${i}`).value(bodies[i % bodies.length]!).then(() => undefined));
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
  const nodeFlags = [...opts.serverNodeFlags, ...(opts.serverCpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.serverCpuProf] : [])];
  const args =
    mode === 'cli'
      ? [...nodeFlags, join(REPO, 'bin/persys.js'), 'apiserver', '--etcd-servers', etcdEndpoint, '--data-dir', dataDir,
         '--listen', listen, '--join-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--log-level', 'warn']
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

/** Where a phase writes: its namespace, and a prefix keeping its names apart from another phase's there. */
interface Target {
  namespace: string;
  prefix: string;
}

type CreateResult = Throughput & { revisions: number; noop: Throughput };

async function ensureNamespace(client: ApiClient, name: string): Promise<void> {
  await client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name } }).catch((err: unknown) => {
    if (!(err instanceof ApiError && err.codeName === 'ALREADY_EXISTS')) throw err;
  });
}

/**
 * The writers' clients: --connections of them, worker w using clientOf(clients, w). Each ApiClient has
 * its own secure context, so grpc-js gives each its own connection.
 */
function writerClients(config: ClientConfig, opts: Options): ApiClient[] {
  return Array.from({ length: Math.min(opts.connections, opts.concurrency) }, () => new ApiClient(config));
}

/** The client worker `w` sends over: workers share the clients round-robin. */
const clientOf = <T>(clients: readonly T[], w: number): T => clients[w % clients.length]!;

/** `count` creates named PREFIXi by `concurrency` workers over `clients`, untimed: warm-up. */
async function createUntimed(clients: ApiClient[], count: number, concurrency: number, signal: AbortSignal, { namespace, prefix }: Target): Promise<void> {
  await runPool(count, concurrency, signal, (i, w) => clientOf(clients, w).create(containerManifest(`${prefix}${i}`, namespace)).then(() => undefined));
}

/** Creates per etcd revision tells how many creates shared a transaction (the API server's group commit). */
async function benchCreate(
  config: ClientConfig,
  opts: Options,
  pids: Pids,
  signal: AbortSignal,
  { namespace, prefix }: Target = { namespace: 'default', prefix: '' },
): Promise<CreateResult> {
  const clients = writerClients(config, opts);
  try {
    await Promise.all(clients.map((c) => c.listKinds()));
    await createUntimed(clients, opts.warmup, opts.concurrency, signal, { namespace, prefix: `${prefix}warm-` });
    const revisions = new Set<string>();
    const t = await timedPool(opts.objects, opts.concurrency, signal, pids, async (i, w) => {
      const created = await clientOf(clients, w).create(containerManifest(`${prefix}bench-${i}`, namespace));
      revisions.add(created.metadata.resourceVersion ?? '');
    });
    // The floor: the same number of calls that do no work (ListKinds), so CPU per create can be read
    // as gRPC's per-call cost plus what a create adds.
    const noop = await timedPool(opts.objects, opts.concurrency, signal, pids, async (_i, w) => {
      await clientOf(clients, w).listKinds();
    });
    return { ...t, revisions: revisions.size, noop };
  } finally {
    clients.forEach((c) => c.close());
  }
}

interface WatchLoadResult {
  watchers: number;
  askedRate: number;
  creates: number;
  /** Creates per second achieved while the watchers watched. */
  createRate: number;
  createLatencyMs: Summary;
  /** Watch streams the server ended before the watcher was done (each resumed, as an informer would). */
  drops: number;
  firstDrop?: string;
  expected: number;
  delivered: number;
  /** Create sent → event received by a watcher (includes the create itself). */
  lagMs: Summary;
  cpuSeconds: CpuReport;
  seconds: number;
}

/**
 * Informer-like watchers (one client each, all Containers, resuming from the last revision when the
 * server ends the stream) while creates arrive at `loadRate` for `loadSeconds`: drops and lag.
 */
async function benchWatchLoad(config: ClientConfig, opts: Options, pids: Pids, signal: AbortSignal): Promise<WatchLoadResult> {
  const ns = 'bench-load';
  const count = opts.loadRate * opts.loadSeconds;
  const writers = Array.from({ length: 64 }, () => new ApiClient(config));
  const watchClients = Array.from({ length: opts.loadWatchers }, () => new ApiClient(config));
  const stop = new AbortController();
  try {
    await ensureNamespace(writers[0]!, ns);
    const start = await writers[0]!.create(containerManifest('load-start', ns));
    const sent = new Float64Array(count);
    const lags: number[] = [];
    let drops = 0;
    let firstDrop: string | undefined;
    const seen = new Array<number>(opts.loadWatchers).fill(0);
    const watchOne = async (w: number) => {
      let rv = start.metadata.resourceVersion!;
      while (!stop.signal.aborted && seen[w]! < count) {
        try {
          for await (const ev of watchClients[w]!.watch('Container', { resourceVersion: rv, allowBookmarks: true, signal: stop.signal })) {
            rv = ev.resourceVersion || rv;
            const name = ev.object?.metadata.name ?? '';
            if (ev.type !== 'ADDED' || ev.object?.metadata.namespace !== ns || !name.startsWith('load-')) continue;
            const i = Number(name.slice(5));
            if (!Number.isInteger(i)) continue;
            if (sent[i]! > 0) lags.push(nowMs() - sent[i]!);
            if (++seen[w]! === count) break;
          }
        } catch (err) {
          drops++;
          firstDrop ??= err instanceof Error ? err.message : String(err);
        }
      }
    };
    const watching = Array.from({ length: opts.loadWatchers }, (_, w) => watchOne(w));
    await sleep(500); // streams open before the clock starts

    const latencies = new Float64Array(count);
    const cpu = measureCpu(pids);
    const t0 = performance.now();
    const interval = 1000 / opts.loadRate;
    await runPool(count, writers.length, signal, async (i, w) => {
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      const t = performance.now();
      sent[i] = nowMs();
      await writers[w]!.create(containerManifest(`load-${i}`, ns));
      latencies[i] = performance.now() - t;
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = cpu();
    const grace = setTimeout(() => stop.abort(), 30_000);
    await Promise.all(watching);
    clearTimeout(grace);
    return {
      watchers: opts.loadWatchers,
      askedRate: opts.loadRate,
      creates: count,
      createRate: count / seconds,
      createLatencyMs: summarize(latencies),
      drops,
      firstDrop,
      expected: count * opts.loadWatchers,
      delivered: seen.reduce((a, b) => a + b, 0),
      lagMs: summarize(lags),
      cpuSeconds,
      seconds,
    };
  } finally {
    stop.abort();
    writers.forEach((c) => c.close());
    watchClients.forEach((c) => c.close());
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

/** One namespace's watchers and a writer there, as one identity: opened and warmed, then written to. */
interface Fanout {
  /** Writes event i, stamped with its send time. */
  write(i: number): Promise<void>;
  /** Waits (at most 30 s) for the watchers to see every event, then sums up. */
  finish(cpuSeconds: CpuReport, writeSeconds: number): Promise<WatchResult>;
  close(): void;
}

/** Opens `opts.watchers` watches of the namespace (it must exist) and returns once each saw a warm-up write. */
async function openFanout(config: ClientConfig, opts: Options, signal: AbortSignal, { namespace: ns, prefix }: Target): Promise<Fanout> {
  const writer = new ApiClient(config);
  const conns = Array.from({ length: Math.min(opts.watchConnections, opts.watchers) }, () => new ApiClient(config));
  const close = () => {
    // Closing the channels ends any stream still waiting for events that never came.
    writer.close();
    conns.forEach((c) => c.close());
  };
  try {
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
        for await (const ev of clientOf(conns, w).watch('Container', { namespace: ns, resourceVersion })) {
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
    await writer.create(containerManifest(`${prefix}warm`, ns));
    const warmDeadline = Date.now() + 30_000;
    while (warmSeen < opts.watchers) {
      signal.throwIfAborted();
      if (Date.now() > warmDeadline) throw new Error(`only ${warmSeen} of ${opts.watchers} watchers saw the warm-up event in 30 s`);
      await sleep(10);
    }

    const createLatency: number[] = [];
    return {
      async write(i) {
        const t0 = nowMs();
        await writer.create(containerManifest(`${prefix}ev-${i}`, ns, { [T0_ANNOTATION]: t0.toFixed(3) }));
        createLatency.push(nowMs() - t0);
      },
      async finish(cpuSeconds, writeSeconds) {
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
          cpuSeconds,
        };
      },
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}

/**
 * Writes `opts.events` events to each fan-out at `opts.eventRate` in all (back to back at 0), taking
 * turns in rotating order; returns the CPU and wall seconds of the writing.
 */
async function writeEvents(fanouts: Fanout[], opts: Options, pids: Pids, signal: AbortSignal): Promise<{ cpuSeconds: CpuReport; writeSeconds: number }> {
  const cpu = measureCpu(pids);
  const interval = opts.eventRate > 0 ? 1000 / opts.eventRate : 0;
  const start = performance.now();
  let k = 0;
  for (let i = 0; i < opts.events; i++) {
    for (const f of rotate(fanouts, i)) {
      signal.throwIfAborted();
      const wait = start + k++ * interval - performance.now();
      if (wait > 0) await sleep(wait);
      await f.write(i);
    }
  }
  return { writeSeconds: (performance.now() - start) / 1000, cpuSeconds: cpu() };
}

async function benchWatchFanout(config: ClientConfig, opts: Options, pids: Pids, signal: AbortSignal, target: Target): Promise<WatchResult> {
  const fanout = await openFanout(config, opts, signal, target);
  try {
    const { cpuSeconds, writeSeconds } = await writeEvents([fanout], opts, pids, signal);
    return await fanout.finish(cpuSeconds, writeSeconds);
  } finally {
    fanout.close();
  }
}

/** Who a phase runs as: the admin (RBAC bypassed), a user certificate, a ServiceAccount token (both RBAC-checked). */
type AccessMode = 'off' | 'on' | 'token';
type CheckedMode = Exclude<AccessMode, 'off'>;
const RBAC_CREATE_NAMESPACE = 'bench-rbac';
/** Each mode's watchers watch their own namespace, so each event reaches only the watchers timing it. */
const rbacWatchNamespace = (mode: AccessMode) => `bench-rbac-watch-${mode}`;
const RBAC_USER = 'bench-user';
const RBAC_SERVICE_ACCOUNT = 'bench-sa';

function accessModes(rbac: Options['rbac']): AccessMode[] {
  return rbac === 'all' ? ['off', 'on', 'token'] : rbac === 'both' ? ['off', 'on'] : [];
}

/** Round r's order: each mode takes each place once every `modes.length` rounds. */
const rotate = <T>(modes: T[], r: number): T[] => modes.map((_, i) => modes[(i + r) % modes.length]!);

/**
 * The bench namespaces, RoleBindings of ClusterRole edit there for RBAC_USER (and the ServiceAccount),
 * and a client config per mode; returns once the authorizer has seen the bindings.
 */
async function accessConfigs(admin: ClientConfig, dataDir: string, modes: AccessMode[]): Promise<Record<AccessMode, ClientConfig | undefined>> {
  const client = new ApiClient(admin);
  const checked: ApiClient[] = [];
  try {
    const namespaces = [RBAC_CREATE_NAMESPACE, ...modes.map(rbacWatchNamespace)];
    for (const namespace of namespaces) await ensureNamespace(client, namespace);
    const subjects: Record<string, string>[] = [{ kind: 'User', name: RBAC_USER }];
    if (modes.includes('token')) {
      const account = { name: RBAC_SERVICE_ACCOUNT, namespace: RBAC_CREATE_NAMESPACE };
      await client.apply({ apiVersion: 'persys.dev/v1', kind: 'ServiceAccount', metadata: account });
      subjects.push({ kind: 'ServiceAccount', ...account });
    }
    for (const namespace of namespaces) {
      await client.apply({
        apiVersion: 'persys.dev/v1',
        kind: 'RoleBinding',
        metadata: { name: 'bench-edit', namespace },
        subjects,
        roleRef: { kind: 'ClusterRole', name: 'edit' },
      });
    }
    const configs: Record<AccessMode, ClientConfig | undefined> = { off: admin, on: undefined, token: undefined };
    if (modes.includes('on')) {
      const pki = pkiPaths(join(dataDir, 'pki'));
      const ca = { certPem: readFileSync(pki.caCert, 'utf8'), keyPem: readFileSync(pki.caKey, 'utf8') };
      const cert = await issueCertificate(ca, { commonName: RBAC_USER, organizations: ['bench'], usage: 'client' });
      const [certFile, keyFile] = [join(dataDir, `${RBAC_USER}.crt`), join(dataDir, `${RBAC_USER}.key`)];
      writeFileSync(certFile, cert.certPem);
      writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
      configs.on = { ...admin, clientCert: certFile, clientKey: keyFile, namespace: RBAC_CREATE_NAMESPACE };
    }
    if (modes.includes('token')) {
      // The ServiceAccount was just created in this round's (fresh) etcd, so its token is issued anew.
      const { token } = await client.createServiceAccountToken(RBAC_CREATE_NAMESPACE, RBAC_SERVICE_ACCOUNT, { ttlSeconds: 3600 });
      configs.token = { server: admin.server, caCert: admin.caCert, clientCert: '', clientKey: '', token, namespace: RBAC_CREATE_NAMESPACE };
    }
    // The authorizer learns of bindings through its watch caches, a moment after they are written.
    for (const mode of modes.filter((m) => m !== 'off')) {
      const c = new ApiClient(configs[mode]!);
      checked.push(c);
      await until(`the RoleBindings of ${mode} to reach the authorizer`, 30_000, async () => {
        for (const namespace of namespaces) await c.list('Container', { namespace, limit: 1 });
        return true;
      }, (ok) => ok);
    }
    return configs;
  } finally {
    client.close();
    checked.forEach((c) => c.close());
  }
}

interface AccessModeRun {
  create: CreateResult;
  /** API server CPU milliseconds per create. */
  serverCpuMsPerCreate: number | undefined;
  fanout: WatchResult;
}

/** A checked mode's figures over the same round's "off" figures. */
interface AccessRatios {
  createsPerSecond: number;
  serverCpuPerCreate: number;
  fanoutP50: number;
  fanoutP99: number;
}

interface RbacRound {
  order: AccessMode[];
  modes: Partial<Record<AccessMode, AccessModeRun>>;
  ratios: Partial<Record<CheckedMode, AccessRatios>>;
}

const serverCpuMs = (t: Throughput): number | undefined => {
  const s = t.cpuSeconds['apiserver'];
  return s === undefined ? undefined : (s * 1000) / t.count;
};

/**
 * `count` calls per mode, `concurrency` at a time, cut into slices run mode after mode (rotating which
 * goes first): load from other processes comes and goes within seconds, and so falls on every mode alike.
 */
async function interleavedPools(
  order: AccessMode[],
  count: number,
  concurrency: number,
  pids: Pids,
  signal: AbortSignal,
  call: (mode: AccessMode, i: number, worker: number) => Promise<void>,
): Promise<Partial<Record<AccessMode, Throughput>>> {
  const acc = new Map(order.map((m) => [m, { latencies: new Float64Array(count), ms: 0, cpu: {} as CpuReport }]));
  const slices = Math.min(RBAC_SLICES, count);
  for (let s = 0; s < slices; s++) {
    const [from, to] = [Math.floor((s * count) / slices), Math.floor(((s + 1) * count) / slices)];
    for (const mode of rotate(order, s)) {
      const a = acc.get(mode)!;
      const cpu = measureCpu(pids);
      const start = performance.now();
      await runPool(to - from, concurrency, signal, async (j, w) => {
        const t = performance.now();
        await call(mode, from + j, w);
        a.latencies[from + j] = performance.now() - t;
      });
      a.ms += performance.now() - start;
      // NaN once /proc could not tell, for any slice.
      for (const [name, sec] of Object.entries(cpu())) a.cpu[name] = (a.cpu[name] ?? 0) + (sec ?? NaN);
    }
  }
  return Object.fromEntries(
    [...acc].map(([m, a]) => [m, { count, seconds: a.ms / 1000, perSecond: rate(count, a.ms), latencyMs: summarize(a.latencies), cpuSeconds: a.cpu }]),
  );
}

/** Every mode's creates, then its no-op calls, interleaved in slices; --connections clients per mode. */
async function benchCreateModes(configs: Record<AccessMode, ClientConfig | undefined>, order: AccessMode[], opts: Options, pids: Pids, signal: AbortSignal) {
  const clients = new Map(order.map((m) => [m, writerClients(configs[m]!, opts)]));
  try {
    // Untimed: each mode's path through a fresh server warms (JIT) before any is measured.
    for (const mode of order) {
      await clients.get(mode)![0]!.listKinds();
      await createUntimed(clients.get(mode)!, Math.min(1000, opts.objects), opts.concurrency, signal, { namespace: RBAC_CREATE_NAMESPACE, prefix: `${mode}-warm-` });
    }
    const revisions = new Map(order.map((m) => [m, new Set<string>()]));
    const creates = await interleavedPools(order, opts.objects, opts.concurrency, pids, signal, async (mode, i, w) => {
      const created = await clientOf(clients.get(mode)!, w).create(containerManifest(`${mode}-bench-${i}`, RBAC_CREATE_NAMESPACE));
      revisions.get(mode)!.add(created.metadata.resourceVersion ?? '');
    });
    const noops = await interleavedPools(order, opts.objects, opts.concurrency, pids, signal, async (mode, _i, w) => {
      await clientOf(clients.get(mode)!, w).listKinds();
    });
    const out: Partial<Record<AccessMode, CreateResult>> = {};
    for (const mode of order) out[mode] = { ...creates[mode]!, revisions: revisions.get(mode)!.size, noop: noops[mode]! };
    return out;
  } finally {
    for (const list of clients.values()) list.forEach((c) => c.close());
  }
}

/** On one API server: the modes' create phases interleaved, then their fan-out phases interleaved. */
async function benchAccessModes(admin: ClientConfig, dataDir: string, order: AccessMode[], opts: Options, pids: Pids, signal: AbortSignal): Promise<RbacRound> {
  const configs = await accessConfigs(admin, dataDir, order);
  const creates = await benchCreateModes(configs, order, opts, pids, signal);
  // Every mode's watchers at once, events written by the modes in turn: each event's delay is timed
  // under the same load whoever wrote and watches it.
  const fanouts: Fanout[] = [];
  const modes: RbacRound['modes'] = {};
  try {
    for (const mode of order) fanouts.push(await openFanout(configs[mode]!, opts, signal, { namespace: rbacWatchNamespace(mode), prefix: `${mode}-` }));
    const { cpuSeconds, writeSeconds } = await writeEvents(fanouts, opts, pids, signal);
    for (const [k, mode] of order.entries()) {
      const fanout = await fanouts[k]!.finish(cpuSeconds, writeSeconds);
      modes[mode] = { create: creates[mode]!, serverCpuMsPerCreate: serverCpuMs(creates[mode]!), fanout };
    }
  } finally {
    fanouts.forEach((f) => f.close());
  }
  const off = modes.off!;
  const ratios: RbacRound['ratios'] = {};
  for (const mode of order) {
    if (mode === 'off') continue;
    const m = modes[mode]!;
    ratios[mode] = {
      createsPerSecond: m.create.perSecond / off.create.perSecond,
      serverCpuPerCreate: (m.serverCpuMsPerCreate ?? NaN) / (off.serverCpuMsPerCreate ?? NaN),
      fanoutP50: m.fanout.delayMs.p50 / off.fanout.delayMs.p50,
      fanoutP99: m.fanout.delayMs.p99 / off.fanout.delayMs.p99,
    };
  }
  return { order, modes, ratios };
}

/** Where the CPU went during a phase, against what the machine had: saturation explains throughput. */
function cpuLine(cpu: CpuReport, seconds: number): string {
  const parts = Object.entries(cpu).map(([name, s]) => `${name} ${s === undefined ? 'n/a' : `${fmt(s, 2)} s`}`);
  return `                 cpu: ${parts.join(', ')} in ${fmt(seconds, 2)} s wall (${cpus().length} CPUs = ${fmt(seconds * cpus().length, 2)} CPU-s)`;
}

function report(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface Round {
  rawPut: Throughput;
  rawGetTxn: Throughput;
  persysCreate: CreateResult;
  ratio: number;
  /** API server CPU milliseconds per create. */
  serverCpuMsPerCreate: number | undefined;
  order: string;
  /** With --rbac: the access modes on this round's API server (persysCreate is then the "off" one). */
  rbac?: RbacRound;
}

/** Median and spread (min–max) of one figure over the rounds. */
function spread(values: number[]): { median: number; min: number; max: number } {
  const s = summarize(values);
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: s.min, max: s.max };
}

const spreadText = (v: { median: number; min: number; max: number }, digits: number) =>
  `median ${fmt(v.median, digits)} (${fmt(v.min, digits)}–${fmt(v.max, digits)})`;

/** The share of the machine's CPU that went to processes other than the measured ones during a phase. */
function othersShare(cpu: CpuReport, seconds: number): number {
  const ours = Object.entries(cpu).reduce((sum, [name, s]) => (name === 'machine' ? sum : sum + (s ?? 0)), 0);
  return ((cpu['machine'] ?? NaN) - ours) / (seconds * cpus().length);
}

function reportAccessRound(round: RbacRound): void {
  const ratio = (mode: AccessMode, figure: keyof AccessRatios) => (mode === 'off' ? '' : ` (x${fmt(round.ratios[mode]![figure], 2)})`);
  const each = (text: (run: AccessModeRun, mode: AccessMode) => string) => round.order.map((m) => `${m} ${text(round.modes[m]!, m)}`).join(', ');
  report(`  rbac (${round.order.join(', ')}): creates ${each((run, m) => `${fmt(run.create.perSecond, 0)}/s${ratio(m, 'createsPerSecond')}`)};` +
    ` API server CPU ${each((run, m) => `${fmt(run.serverCpuMsPerCreate ?? NaN, 3)} ms${ratio(m, 'serverCpuPerCreate')}`)} per create;` +
    ` other processes' CPU share ${each((run) => `${fmt(othersShare(run.create.cpuSeconds, run.create.seconds) * 100, 0)}%`)}`);
  report(`                 fan-out p50/p99 ${each((run, m) => `${fmt(run.fanout.delayMs.p50)}/${fmt(run.fanout.delayMs.p99)} ms${m === 'off' ? '' : ` (x${fmt(round.ratios[m]!.fanoutP50, 2)}/x${fmt(round.ratios[m]!.fanoutP99, 2)})`}`)};` +
    ` missing ${each((run) => String(run.fanout.missing))}; no-op call (ListKinds) ${each((run) => `${fmt(serverCpuMs(run.create.noop) ?? NaN, 3)} ms`)}`);
}

/** Per mode, and per checked mode against "off" round by round: median and spread over the rounds. */
function summarizeAccess(rounds: RbacRound[], modes: AccessMode[]) {
  const perMode = Object.fromEntries(modes.map((m) => {
    const runs = rounds.map((r) => r.modes[m]!);
    return [m, {
      createsPerSecond: spread(runs.map((run) => run.create.perSecond)),
      serverCpuMsPerCreate: spread(runs.map((run) => run.serverCpuMsPerCreate ?? NaN)),
      fanoutP50Ms: spread(runs.map((run) => run.fanout.delayMs.p50)),
      fanoutP99Ms: spread(runs.map((run) => run.fanout.delayMs.p99)),
      fanoutMissing: runs.reduce((n, run) => n + run.fanout.missing, 0),
    }];
  }));
  const ratios = Object.fromEntries(modes.filter((m): m is CheckedMode => m !== 'off').map((m) => {
    const of = (figure: keyof AccessRatios) => spread(rounds.map((r) => r.ratios[m]![figure]));
    const r = { createsPerSecond: of('createsPerSecond'), serverCpuPerCreate: of('serverCpuPerCreate'), fanoutP50: of('fanoutP50'), fanoutP99: of('fanoutP99') };
    const pass = r.createsPerSecond.median >= 1 - RBAC_TARGET_OVERHEAD && r.serverCpuPerCreate.median <= 1 + RBAC_TARGET_OVERHEAD && r.fanoutP99.median <= 1 + RBAC_TARGET_OVERHEAD;
    return [m, { ...r, pass }];
  }));
  return { perMode, ratios, targetOverhead: RBAC_TARGET_OVERHEAD };
}

function reportAccessSummary(s: ReturnType<typeof summarizeAccess>): void {
  for (const [mode, m] of Object.entries(s.perMode)) {
    report(`rbac ${`${mode}:`.padEnd(11)} create ${spreadText(m.createsPerSecond, 0)} obj/s, API server CPU ${spreadText(m.serverCpuMsPerCreate, 3)} ms/create,` +
      ` fan-out p50 ${spreadText(m.fanoutP50Ms, 1)} ms p99 ${spreadText(m.fanoutP99Ms, 1)} ms`);
  }
  for (const [mode, r] of Object.entries(s.ratios)) {
    report(`rbac ${`${mode}/off:`.padEnd(11)} creates/s ${spreadText(r.createsPerSecond, 3)}, CPU per create ${spreadText(r.serverCpuPerCreate, 3)},` +
      ` fan-out p50 ${spreadText(r.fanoutP50, 2)} p99 ${spreadText(r.fanoutP99, 2)} (each round against its own "off";` +
      ` target: overhead <= ${fmt(s.targetOverhead * 100, 0)}%: ${r.pass ? 'met' : 'not met'})`);
  }
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
    report(`persys API server benchmark: node ${process.version}, ${cpus().length} CPUs, object body ${bodyBytes} bytes, etcd with fsync, ${opts.rounds} rounds`);
    const dataDir = mkdtempSync(join(tmpdir(), 'persys-bench-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));

    const runRaw = async () => {
      const rawEtcd = await startEtcd({ fsync: true });
      try {
        return await benchRawEtcd(rawEtcd, opts, abort.signal);
      } finally {
        await rawEtcd.stop();
      }
    };
    // A fresh etcd per round, so the API server starts from the same (empty) state the raw phase did.
    const startPersys = async () => {
      const etcd = await startEtcd({ fsync: true });
      try {
        const server = await startServerProcess(etcd.endpoint, dataDir, opts);
        return { etcd, server, async stop() { await server.stop(); await etcd.stop(); } };
      } catch (err) {
        await etcd.stop();
        throw err;
      }
    };

    const modes = accessModes(opts.rbac);
    const rounds: Round[] = [];
    let last: Awaited<ReturnType<typeof startPersys>> | undefined;
    for (let r = 0; r < opts.rounds; r++) {
      const persysFirst = r % 2 === 1;
      let raw: RawResult | undefined;
      if (!persysFirst) raw = await runRaw();
      const persys = await startPersys();
      cleanups.push(() => persys.stop());
      const pids = { etcd: persys.etcd.pid(), apiserver: persys.server.pid, 'load generator': process.pid };
      const rbac = modes.length ? await benchAccessModes(persys.server.config, dataDir, rotate(modes, r), opts, pids, abort.signal) : undefined;
      const create = rbac ? rbac.modes.off!.create : await benchCreate(persys.server.config, opts, pids, abort.signal);
      if (r < opts.rounds - 1) {
        await persys.stop();
        cleanups.pop();
      } else {
        last = persys;
      }
      raw ??= await runRaw();
      const round: Round = {
        rawPut: raw.put,
        rawGetTxn: raw.getTxn,
        persysCreate: create,
        ratio: create.perSecond / raw.put.perSecond,
        serverCpuMsPerCreate: serverCpuMs(create),
        order: persysFirst ? 'persys, raw' : 'raw, persys',
        rbac,
      };
      rounds.push(round);
      report(`round ${r + 1} (${round.order}): raw put ${fmt(raw.put.perSecond, 0)}/s, raw get+txn ${fmt(raw.getTxn.perSecond, 0)}/s,` +
        ` persys create ${fmt(create.perSecond, 0)}/s (p50 ${fmt(create.latencyMs.p50)} ms p99 ${fmt(create.latencyMs.p99)} ms),` +
        ` ratio ${fmt(round.ratio, 2)}, API server CPU ${fmt(round.serverCpuMsPerCreate ?? NaN, 3)} ms/create,` +
        ` ${fmt(create.count / create.revisions, 1)} creates per etcd revision;` +
        ` a no-op call (ListKinds) ${fmt(((create.noop.cpuSeconds['apiserver'] ?? NaN) * 1000) / create.noop.count, 3)} ms`);
      report(cpuLine(create.cpuSeconds, create.seconds));
      if (rbac) reportAccessRound(rbac);
    }
    const summary = {
      rawPutPerSecond: spread(rounds.map((r) => r.rawPut.perSecond)),
      persysCreatePerSecond: spread(rounds.map((r) => r.persysCreate.perSecond)),
      ratio: spread(rounds.map((r) => r.ratio)),
      serverCpuMsPerCreate: spread(rounds.map((r) => r.serverCpuMsPerCreate ?? NaN)),
    };
    report(`raw etcd3 put:   ${spreadText(summary.rawPutPerSecond, 0)} obj/s (${opts.concurrency} concurrent, ${opts.objects} per round, one connection)`);
    report(`persys create:   ${spreadText(summary.persysCreatePerSecond, 0)} obj/s (${opts.concurrency} concurrent over ${Math.min(opts.connections, opts.concurrency)} mTLS connection(s))`);
    report(`ratio:           ${spreadText(summary.ratio, 2)} (target >= ${CREATE_TARGET_RATIO}; each round's ratio is against its own raw phase)`);
    report(`API server CPU:  ${spreadText(summary.serverCpuMsPerCreate, 3)} ms per create (target <= ${CPU_TARGET_MS_PER_CREATE})`);
    const rbac = modes.length ? summarizeAccess(rounds.map((r) => r.rbac!), modes) : undefined;
    if (rbac) reportAccessSummary(rbac);

    const { server, etcd } = last!;
    const entry = server.mode === 'cli' ? 'bin/persys.js apiserver' : (opts.serverEntry ?? 'hack/bench/apiserver-child.ts');
    report(`API server:      pid ${server.pid} (${entry}), the last round's, for the watch phases`);
    const pids = { etcd: etcd.pid(), apiserver: server.pid, 'load generator': process.pid };

    let load: WatchLoadResult | undefined;
    if (opts.loadWatchers > 0) {
      load = await benchWatchLoad(server.config, opts, pids, abort.signal);
      report(`watch load:      ${load.watchers} watchers, ${load.creates} creates asked at ${load.askedRate}/s, done at ${fmt(load.createRate, 0)}/s` +
        ` (create p50 ${fmt(load.createLatencyMs.p50)} ms p99 ${fmt(load.createLatencyMs.p99)} ms)`);
      report(`                 ${load.drops} watcher drops (target 0)${load.firstDrop ? ` (first: ${load.firstDrop})` : ''}, ${load.delivered}/${load.expected} deliveries,` +
        ` lag create sent → received p50 ${fmt(load.lagMs.p50)} ms p99 ${fmt(load.lagMs.p99)} ms max ${fmt(load.lagMs.max)} ms`);
      report(cpuLine(load.cpuSeconds, load.seconds));
    }

    // With --rbac every round measured fan-out already, as each mode.
    let watch: WatchResult | undefined;
    if (!rbac) {
      const admin = new ApiClient(server.config);
      await ensureNamespace(admin, 'bench-watch').finally(() => admin.close());
      watch = await benchWatchFanout(server.config, opts, pids, abort.signal, { namespace: 'bench-watch', prefix: '' });
      const d = watch.delayMs;
      report(`watch fan-out:   ${watch.watchers} watchers x ${watch.events} events, p50 ${fmt(d.p50)} ms p90 ${fmt(d.p90)} ms` +
        ` p99 ${fmt(d.p99)} ms max ${fmt(d.max)} ms (target p99 < ${WATCH_TARGET_P99_MS} ms)`);
      report(`                 ${watch.delivered}/${watch.expected} deliveries, ${watch.missing} missing, ${watch.streamErrors} stream errors;` +
        `${watch.firstStreamError ? ` (first: ${watch.firstStreamError})` : ''} writes at ${opts.eventRate || 'max'}/s over ${opts.watchConnections} watch connections, create p50 ${fmt(watch.createLatencyMs.p50)} ms`);
      report(cpuLine(watch.cpuSeconds, watch.writeSeconds));
    }

    const result = {
      options: { ...opts, timeoutMs: undefined },
      environment: { node: process.version, cpus: cpus().length, bodyBytes, server: server.mode, etcdFsync: true },
      rounds,
      summary: {
        ...summary,
        ratioTarget: CREATE_TARGET_RATIO,
        cpuTargetMs: CPU_TARGET_MS_PER_CREATE,
        pass: summary.ratio.median >= CREATE_TARGET_RATIO && summary.serverCpuMsPerCreate.median <= CPU_TARGET_MS_PER_CREATE,
      },
      watchLoad: load && { ...load, pass: load.drops === 0 && load.delivered === load.expected },
      watchFanout: watch && { ...watch, targetP99Ms: WATCH_TARGET_P99_MS, pass: watch.missing === 0 && watch.delayMs.p99 < WATCH_TARGET_P99_MS },
      rbac,
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
