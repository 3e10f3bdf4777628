// bench:service (issue 16): DNS queries per second one agent serves (against a UDP echo server as the
// ceiling), how long an EndpointSlice takes to follow a replica turning not ready or ready (against plain
// watch delivery), and requests through a Service VIP against straight to the container (hack/bench/service-vip.ts), in rounds.
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DNS_DEFAULTS, DnsBench, type DnsRound } from './service-dns.js';
import { ENDPOINTS_DEFAULTS, EndpointsBench, type EndpointsRound } from './service-endpoints.js';
import { describeLoad, VIP_DEFAULTS, VipBench, type VipRound } from './service-vip.js';
import { fmt, roundTo, spreadOf, type Spread } from './stats.js';
import { benchFlags, emitResult, intFlag, runBench, skipFlag } from './until.js';

const SECTIONS = ['dns', 'endpoints', 'vip'] as const;
type Section = (typeof SECTIONS)[number];
const RESULTS = fileURLToPath(new URL('./results', import.meta.url));

const USAGE = `usage: npm run bench:service -- [flags]
  --rounds N           rounds of every section (default 3)
  --only SECTION       dns | endpoints | vip: run that section alone
  --skip LIST          leave out these sections, comma-separated (e.g. --skip vip: it needs root for a
                       network namespace, routes and iptables)
  --vip-concurrency N  VIP: connections in flight (default ${VIP_DEFAULTS.concurrency})
  --vip-seconds S      VIP: length of each measurement (default ${VIP_DEFAULTS.seconds})
  --services N         DNS: Services in the directory, 3 endpoints each (default ${DNS_DEFAULTS.services})
  --dns-queries N      DNS: queries per measurement (default ${DNS_DEFAULTS.count})
  --dns-seconds S      DNS: a measurement stops sending after this long (default ${DNS_DEFAULTS.maxMs / 1000})
  --dns-window W       DNS: queries in flight at most (default ${DNS_DEFAULTS.window})
  --replicas N         endpoints: replicas of the ContainerSet the Service selects (default ${ENDPOINTS_DEFAULTS.replicas})
  --nodes N            endpoints: hollow nodes (default ${ENDPOINTS_DEFAULTS.nodes})
  --flips N            endpoints: not-ready-then-ready cycles per round (default ${ENDPOINTS_DEFAULTS.flips})
  --timeout SECONDS    give up on the whole run after this long (default 900)
  --json FILE          write the JSON result there (default hack/bench/results/service-<date>.json,
                       service-<section>-<date>.json with --only)`;

interface Options {
  rounds: number;
  sections: Set<Section>;
  dns: typeof DNS_DEFAULTS;
  endpoints: typeof ENDPOINTS_DEFAULTS;
  vip: typeof VIP_DEFAULTS;
  timeoutMs: number;
  json: string;
}

function parseOptions(argv: string[]): Options {
  const v = benchFlags(argv, USAGE, {
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    skip: { type: 'string', default: '' },
    services: { type: 'string', default: String(DNS_DEFAULTS.services) },
    'dns-queries': { type: 'string', default: String(DNS_DEFAULTS.count) },
    'dns-seconds': { type: 'string', default: String(DNS_DEFAULTS.maxMs / 1000) },
    'dns-window': { type: 'string', default: String(DNS_DEFAULTS.window) },
    replicas: { type: 'string', default: String(ENDPOINTS_DEFAULTS.replicas) },
    nodes: { type: 'string', default: String(ENDPOINTS_DEFAULTS.nodes) },
    flips: { type: 'string', default: String(ENDPOINTS_DEFAULTS.flips) },
    'vip-concurrency': { type: 'string', default: String(VIP_DEFAULTS.concurrency) },
    'vip-seconds': { type: 'string', default: String(VIP_DEFAULTS.seconds) },
    timeout: { type: 'string', default: '900' },
    json: { type: 'string' },
  });
  const int = intFlag(USAGE);
  if (v.only !== undefined && !(SECTIONS as readonly string[]).includes(v.only)) throw new Error(`--only must be one of ${SECTIONS.join(', ')}, got ${v.only}\n${USAGE}`);
  const skip = skipFlag(v.skip, SECTIONS, USAGE);
  const sections = new Set<Section>((v.only ? [v.only as Section] : SECTIONS).filter((s) => !skip.has(s)));
  return {
    rounds: int('rounds', v.rounds, 1),
    sections,
    dns: {
      services: int('services', v.services, 1),
      nodes: DNS_DEFAULTS.nodes,
      count: int('dns-queries', v['dns-queries'], 1),
      maxMs: int('dns-seconds', v['dns-seconds'], 1) * 1000,
      window: int('dns-window', v['dns-window'], 1),
    },
    endpoints: {
      replicas: int('replicas', v.replicas, 1),
      nodes: int('nodes', v.nodes, 1),
      flips: int('flips', v.flips, 1),
      eventTimeoutMs: ENDPOINTS_DEFAULTS.eventTimeoutMs,
    },
    vip: { concurrency: int('vip-concurrency', v['vip-concurrency'], 1), seconds: int('vip-seconds', v['vip-seconds'], 1), maxRequests: VIP_DEFAULTS.maxRequests },
    timeoutMs: int('timeout', v.timeout, 1) * 1000,
    // A run of one section gets its own file, so it never overwrites a full run's.
    json: v.json ?? join(RESULTS, `service-${v.only ? `${v.only}-` : ''}${new Date().toISOString().slice(0, 10)}.json`),
  };
}

const t0 = Date.now();
const log = (msg: string) => console.error(`[${fmt((Date.now() - t0) / 1000)} s] ${msg}`);
const spreadLine = (what: string, s: Spread | undefined, unit: string, digits = 1) =>
  s ? `${what}: median ${fmt(s.median, digits)} ${unit} (min–max ${fmt(s.min, digits)}–${fmt(s.max, digits)}, ${s.rounds} rounds)` : `${what}: not measured`;

async function dnsSection(opts: Options, errors: string[]): Promise<object> {
  const bench = new DnsBench(opts.dns);
  const rounds: DnsRound[] = [];
  try {
    await bench.start();
    log(`dns: ${opts.dns.services} Services × 3 endpoints, ${opts.dns.nodes} nodes; per measurement ${opts.dns.count} UDP queries (70% A, 25% SRV, 5% NXDOMAIN), ${opts.dns.window} in flight, at most ${opts.dns.maxMs / 1000} s; client in its own process`);
    for (let n = 1; n <= opts.rounds; n++) {
      const r = await bench.round(n);
      rounds.push(r);
      const bad = r.dns.wrong + r.dns.timeouts + r.echo.wrong + r.echo.timeouts;
      if (bad) errors.push(`dns round ${n}: ${r.dns.wrong} wrong answers, ${r.dns.timeouts} DNS timeouts, ${r.echo.timeouts} echo timeouts`);
      log(`dns round ${n} (${r.order}): DNS ${fmt(r.dns.perSecond, 0)} answers/s (p50 ${fmt(r.dns.latencyMs.p50, 2)} ms, p99 ${fmt(r.dns.latencyMs.p99, 2)} ms, ${r.dns.answered}/${r.dns.sent} answered, ${r.dns.wrong} wrong, ${r.dns.timeouts} timeouts); `
        + `echo ${fmt(r.echo.perSecond, 0)} replies/s (p50 ${fmt(r.echo.latencyMs.p50, 2)} ms, p99 ${fmt(r.echo.latencyMs.p99, 2)} ms, ${r.echo.timeouts} timeouts); DNS/echo ${fmt(r.ratio, 2)}`);
    }
  } finally {
    await bench.stop();
  }
  const summary = {
    dnsPerSecond: spreadOf(rounds.map((r) => r.dns.perSecond), 0),
    dnsP50Ms: spreadOf(rounds.map((r) => r.dns.latencyMs.p50), 3),
    dnsP99Ms: spreadOf(rounds.map((r) => r.dns.latencyMs.p99), 3),
    echoPerSecond: spreadOf(rounds.map((r) => r.echo.perSecond), 0),
    echoP50Ms: spreadOf(rounds.map((r) => r.echo.latencyMs.p50), 3),
    echoP99Ms: spreadOf(rounds.map((r) => r.echo.latencyMs.p99), 3),
    ratio: spreadOf(rounds.map((r) => r.ratio), 3),
    errorsAndTimeouts: rounds.reduce((a, r) => a + r.dns.wrong + r.dns.timeouts, 0),
  };
  log(spreadLine('dns answers/s', summary.dnsPerSecond, '/s', 0));
  log(spreadLine('dns p50', summary.dnsP50Ms, 'ms', 2));
  log(spreadLine('dns p99', summary.dnsP99Ms, 'ms', 2));
  log(spreadLine('echo replies/s (Node UDP ceiling, same client)', summary.echoPerSecond, '/s', 0));
  log(spreadLine('DNS/echo', summary.ratio, '', 2));
  return { options: opts.dns, rounds, summary };
}

async function endpointsSection(opts: Options, errors: string[]): Promise<object> {
  const bench = new EndpointsBench(opts.endpoints);
  const rounds: EndpointsRound[] = [];
  try {
    await bench.start(log);
    log('endpoints: timed from the Container watch event showing its Ready condition flipped (written as an agent reports a failing/passing healthcheck) '
      + 'to the EndpointSlice watch event showing that endpoint ready flipped; baseline: a ConfigMap update to its watch event, same API server, interleaved');
    for (let n = 1; n <= opts.rounds; n++) {
      const r = await bench.round();
      rounds.push(r);
      if (r.timeouts) errors.push(`endpoints round ${n}: ${r.timeouts} events not seen within ${opts.endpoints.eventTimeoutMs / 1000} s`);
      if (r.unexpectedFlips) errors.push(`endpoints round ${n}: ${r.unexpectedFlips} Ready flips the bench did not write (an agent overwrote its status)`);
      const s = (x: { p50: number; p99: number; max: number }) => `p50 ${fmt(x.p50)} / p99 ${fmt(x.p99)} / max ${fmt(x.max)} ms`;
      log(`endpoints round ${n}: not ready → slice ${s(r.notReadyMs)}; ready → slice ${s(r.readyMs)}; baseline write → event ${s(r.baselineMs)}; `
        + `status write → Container event ${s(r.statusWriteToEventMs)}; ${r.timeouts} timeouts`);
    }
  } finally {
    await bench.stop();
  }
  const of = (pick: (r: EndpointsRound) => number) => spreadOf(rounds.map(pick), 2);
  const summary = {
    notReadyP50Ms: of((r) => r.notReadyMs.p50),
    notReadyP99Ms: of((r) => r.notReadyMs.p99),
    notReadyMaxMs: of((r) => r.notReadyMs.max),
    readyP50Ms: of((r) => r.readyMs.p50),
    readyP99Ms: of((r) => r.readyMs.p99),
    readyMaxMs: of((r) => r.readyMs.max),
    baselineP50Ms: of((r) => r.baselineMs.p50),
    baselineP99Ms: of((r) => r.baselineMs.p99),
    /** What the endpoints controller adds over one plain write and its watch delivery, at the median. */
    notReadyOverBaselineP50Ms: of((r) => r.notReadyMs.p50 - r.baselineMs.p50),
    readyOverBaselineP50Ms: of((r) => r.readyMs.p50 - r.baselineMs.p50),
    notReadyRatioP50: of((r) => r.notReadyMs.p50 / r.baselineMs.p50),
    readyRatioP50: of((r) => r.readyMs.p50 / r.baselineMs.p50),
  };
  for (const [k, v] of Object.entries(summary)) log(spreadLine(`endpoints ${k}`, v, /Ms$/.test(k) ? 'ms' : '×', 2));
  return { options: opts.endpoints, timed: 'Container watch event (Ready flipped) → EndpointSlice watch event (endpoint ready flipped)', rounds, summary };
}

async function vipSection(opts: Options, errors: string[]): Promise<object> {
  const bench = new VipBench(opts.vip);
  const rounds: VipRound[] = [];
  try {
    await bench.start(log);
    log(`vip: per measurement ${opts.vip.concurrency} connections in flight, ${opts.vip.seconds} s or ${opts.vip.maxRequests} requests, a new TCP connection each`);
    for (let n = 1; n <= opts.rounds; n++) {
      const r = await bench.round(n);
      rounds.push(r);
      if (r.vip.failed || r.direct.failed) errors.push(`vip round ${n}: ${r.vip.failed} failed through the VIP, ${r.direct.failed} direct`);
      log(`vip round ${n} (${r.order}): VIP ${describeLoad(r.vip)}; direct ${describeLoad(r.direct)}; VIP/direct ${fmt(r.ratio, 2)}`);
    }
  } finally {
    await bench.stop();
  }
  const summary = {
    vipPerSecond: spreadOf(rounds.map((r) => r.vip.perSecond), 0),
    directPerSecond: spreadOf(rounds.map((r) => r.direct.perSecond), 0),
    ratio: spreadOf(rounds.map((r) => r.ratio), 3),
    vipP50Ms: spreadOf(rounds.map((r) => r.vip.latencyMs.p50), 3),
    directP50Ms: spreadOf(rounds.map((r) => r.direct.latencyMs.p50), 3),
    vipP99Ms: spreadOf(rounds.map((r) => r.vip.latencyMs.p99), 3),
    directP99Ms: spreadOf(rounds.map((r) => r.direct.latencyMs.p99), 3),
  };
  log(spreadLine('vip requests/s', summary.vipPerSecond, '/s', 0));
  log(spreadLine('direct requests/s', summary.directPerSecond, '/s', 0));
  log(spreadLine('VIP/direct', summary.ratio, '', 2));
  log(spreadLine('vip p50', summary.vipP50Ms, 'ms', 2));
  log(spreadLine('direct p50', summary.directP50Ms, 'ms', 2));
  return { options: opts.vip, rounds, summary };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  mkdirSync(RESULTS, { recursive: true });
  // Every loop is bounded on its own; this is the backstop for a hang.
  const backstop = setTimeout(() => {
    console.error(`bench:service: gave up after ${opts.timeoutMs / 1000} s`);
    process.exit(2);
  }, opts.timeoutMs);
  backstop.unref();
  const errors: string[] = [];
  const result: Record<string, unknown> = {
    bench: 'service',
    startedAt: new Date(t0).toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    rounds: opts.rounds,
    sections: [...opts.sections],
  };
  const run = async (name: Section, fn: (o: Options, e: string[]) => Promise<object>) => {
    if (!opts.sections.has(name)) return;
    try {
      result[name] = await fn(opts, errors);
    } catch (err) {
      errors.push(`${name}: ${String(err)}`);
      log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  };
  await run('dns', dnsSection);
  await run('endpoints', endpointsSection);
  await run('vip', vipSection);
  result['seconds'] = roundTo((Date.now() - t0) / 1000, 1);
  result['errors'] = errors;
  for (const e of errors) log(`error: ${e}`);
  log(`results in ${opts.json}`);
  emitResult(result, opts.json, errors);
}

runBench(main);
