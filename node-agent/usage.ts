// What the agent reports about its host: node usage as rates from /proc deltas (CPU, memory, disk
// I/O, network), per-container usage from sparse Docker stats (plus healthcheck response time from inspect),
// and NodeInfo (capacity, allocatable, ...).
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type Dockerode from 'dockerode';
import { parseCpuMillis, parseMemoryBytes } from '../lib/api/quantity.js';
import type { NodeUsage } from '../lib/gen/persys/v1/cluster.js';
import type { ContainerUsage, NodeInfo } from '../lib/gen/persys/v1/agent.js';
import type { ContainerRuntime, ManagedContainer } from './runtime.js';
import { healthResponseTimeMs } from './health-response-time.js';

export interface CpuTimes {
  idle: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat: idle (idle + iowait) and total jiffies. */
export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no aggregate cpu line');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // guest and guest_nice are already counted in user and nice.
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { idle: (v[3] ?? 0) + (v[4] ?? 0), total };
}

export function cpuPercent(prev: CpuTimes, cur: CpuTimes): number {
  const total = cur.total - prev.total;
  if (total <= 0) return 0;
  return Math.max(0, Math.min(100, (100 * (total - (cur.idle - prev.idle))) / total));
}

/** MemTotal and MemAvailable in bytes. */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } {
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  const totalBytes = kb('MemTotal');
  const available = kb('MemAvailable');
  return { totalBytes, availableBytes: available || kb('MemFree') + kb('Buffers') + kb('Cached') };
}

/** Bytes read and written by whole disks (partitions would count twice); sectors are 512 bytes here. */
export function parseDiskstats(text: string, isDisk: (device: string) => boolean): { readBytes: number; writeBytes: number } {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !isDisk(f[2]!)) continue;
    readBytes += Number(f[5]) * 512;
    writeBytes += Number(f[9]) * 512;
  }
  return { readBytes, writeBytes };
}

/** Received and transmitted bytes over every interface but loopback. */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    rxBytes += f[0] ?? 0;
    txBytes += f[8] ?? 0;
  }
  return { rxBytes, txBytes };
}

/** A real block device listed in /sys/block that is neither a loop nor a RAM disk. */
function isWholeDisk(device: string): boolean {
  return !/^(loop|ram|zram)/.test(device) && existsSync(`/sys/block/${device.replace(/\//g, '!')}`);
}

interface Counters {
  at: number;
  cpu: CpuTimes;
  readBytes: number;
  writeBytes: number;
  rxBytes: number;
  txBytes: number;
}

const perSecond = (delta: number, ms: number) => (ms > 0 ? String(Math.max(0, Math.round((delta * 1000) / ms))) : '0');

/** Node usage since the previous sample (the first call covers the time since construction). */
export class NodeUsageSampler {
  private last: Counters;

  constructor(
    private readonly read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
    private readonly now: () => number = Date.now,
  ) {
    this.last = this.counters();
  }

  sample(): NodeUsage {
    const cur = this.counters();
    const prev = this.last;
    this.last = cur;
    const ms = cur.at - prev.at;
    const mem = parseMeminfo(this.read('/proc/meminfo'));
    return {
      cpuPercent: Math.round(cpuPercent(prev.cpu, cur.cpu) * 10) / 10,
      memoryBytes: String(mem.totalBytes - mem.availableBytes),
      diskReadBytesPerSecond: perSecond(cur.readBytes - prev.readBytes, ms),
      diskWriteBytesPerSecond: perSecond(cur.writeBytes - prev.writeBytes, ms),
      networkRxBytesPerSecond: perSecond(cur.rxBytes - prev.rxBytes, ms),
      networkTxBytesPerSecond: perSecond(cur.txBytes - prev.txBytes, ms),
    };
  }

  private counters(): Counters {
    const disk = parseDiskstats(this.read('/proc/diskstats'), isWholeDisk);
    const net = parseNetDev(this.read('/proc/net/dev'));
    return { at: this.now(), cpu: parseProcStat(this.read('/proc/stat')), ...disk, ...net };
  }
}

/** CPU % of the whole host (as `docker stats`), memory without page cache, and network totals. */
export function containerUsageFromStats(s: Dockerode.ContainerStats): {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  rxBytes: number;
  txBytes: number;
} {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  const cpu = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  const stats = (s.memory_stats?.stats ?? {}) as Record<string, number>;
  // cgroup v2 names it inactive_file, v1 total_inactive_file; docker stats subtracts it too.
  const cache = stats['inactive_file'] ?? stats['total_inactive_file'] ?? 0;
  let rxBytes = 0;
  let txBytes = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rxBytes += n.rx_bytes ?? 0;
    txBytes += n.tx_bytes ?? 0;
  }
  return {
    cpuPercent: Math.round(cpu * 10) / 10,
    memoryBytes: Math.max(0, (s.memory_stats?.usage ?? 0) - cache),
    memoryLimitBytes: s.memory_stats?.limit ?? 0,
    rxBytes,
    txBytes,
  };
}

export interface ContainerUsageSamplerOptions {
  /** @default Date.now */
  now?: () => number;
  /**
   * Containers sampled at once (one stats call, and one inspect for those with a healthcheck). A call
   * given up at its deadline keeps its slot until the engine answers, so no more are ever in flight. @default 4
   */
  concurrency?: number;
  /** A container's sample is reused until it is this old. @default 30_000 */
  maxAgeMs?: number;
  /** Containers sampled in one round at most, the oldest samples first; the rest wait for later rounds. @default 50 */
  maxPerRound?: number;
  /** How long a round waits for one container's calls before giving up on it until a later round. @default 5_000 */
  callTimeoutMs?: number;
}

interface Sample {
  at: number;
  stats: Dockerode.ContainerStats;
  usage: ContainerUsage;
}

/** Gave up waiting for the engine's answer about one container (the call itself may still finish). */
export class UsageCallTimeoutError extends Error {
  override name = 'UsageCallTimeoutError';
  constructor(id: string, ms: number) {
    super(`stats of container ${id.slice(0, 12)} took longer than ${ms} ms`);
  }
}

/**
 * Per-container usage from one-shot stats calls, each container sampled at most every `maxAgeMs`
 * (the engine's own stats call blocks ~1 s per container to fill precpu_stats; at a 10 s heartbeat
 * that kept it busy most of the time). CPU and network are rates between this sampler's own samples.
 * Containers with a healthcheck are also inspected, at the same cadence, for the durations of their
 * latest probes: the agent's cached inspect is refreshed only on state changes, so its Health.Log is old.
 * A round is bounded in calls (`maxPerRound`), in parallel calls (`concurrency`) and in time per call
 * (`callTimeoutMs`), so a busy or hung engine slows usage figures down and never piles calls up.
 */
export class ContainerUsageSampler {
  private readonly last = new Map<string, Sample>();
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly maxAgeMs: number;
  private readonly maxPerRound: number;
  private readonly callTimeoutMs: number;
  private inFlight = 0;

  constructor(
    private readonly runtime: Pick<ContainerRuntime, 'stats' | 'inspect'>,
    opts: ContainerUsageSamplerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.concurrency = opts.concurrency ?? 4;
    this.maxAgeMs = opts.maxAgeMs ?? 30_000;
    this.maxPerRound = opts.maxPerRound ?? 50;
    this.callTimeoutMs = opts.callTimeoutMs ?? 5_000;
  }

  /** One bounded round over the due containers, then the usage of every running Container that has a sample. */
  async sample(containers: ManagedContainer[]): Promise<ContainerUsage[]> {
    const running = containers.filter((c) => c.state === 'running' && c.kind === 'Container');
    const now = this.now();
    const age = (c: ManagedContainer) => now - (this.last.get(c.id)?.at ?? -Infinity);
    // Never-sampled first, then the oldest: a node with more containers than a round covers still rotates through all.
    const due = running.filter((c) => age(c) >= this.maxAgeMs).sort((a, b) => age(b) - age(a)).slice(0, this.maxPerRound);
    let next = 0;
    const worker = async () => {
      for (let c = due[next]; c && this.inFlight < this.concurrency; c = due[next]) {
        next++;
        await this.one(c);
      }
    };
    await Promise.all(Array.from({ length: Math.max(0, Math.min(this.concurrency - this.inFlight, due.length)) }, worker));
    const live = new Set(running.map((c) => c.id));
    for (const id of this.last.keys()) if (!live.has(id)) this.last.delete(id);
    return running.flatMap((c) => {
      const u = this.last.get(c.id)?.usage;
      return u ? [u] : [];
    });
  }

  /** The latest usage of each container seen running in the last round, without calling the engine. */
  latest(): ContainerUsage[] {
    return [...this.last.values()].map((s) => s.usage);
  }

  private async one(c: ManagedContainer): Promise<void> {
    const prev = this.last.get(c.id);
    this.inFlight++;
    const calls = Promise.all([this.runtime.stats(c.id, { oneShot: true }), this.healthResponseTime(c, prev)]).finally(() => this.inFlight--);
    let stats: Dockerode.ContainerStats;
    let responseMs: number;
    try {
      [stats, responseMs] = await withDeadline(calls, this.callTimeoutMs, () => new UsageCallTimeoutError(c.id, this.callTimeoutMs));
    } catch {
      return; // stopped meanwhile, slow, or the engine is down (the heartbeat says so); the last sample stays
    }
    const at = this.now();
    // One-shot stats leave precpu_stats empty: the previous sample is the CPU baseline.
    const u = containerUsageFromStats({ ...stats, precpu_stats: prev?.stats.cpu_stats ?? stats.cpu_stats });
    const before = prev ? containerUsageFromStats(prev.stats) : undefined;
    this.last.set(c.id, {
      at,
      stats,
      usage: {
        uid: c.uid,
        namespace: c.namespace,
        name: c.name,
        cpuPercent: u.cpuPercent,
        memoryBytes: String(u.memoryBytes),
        memoryLimitBytes: String(u.memoryLimitBytes),
        networkRxBytesPerSecond: prev && before ? perSecond(u.rxBytes - before.rxBytes, at - prev.at) : '0',
        networkTxBytesPerSecond: prev && before ? perSecond(u.txBytes - before.txBytes, at - prev.at) : '0',
        healthResponseTimeMs: responseMs,
      },
    });
  }

  /** 0 without a healthcheck; the previous figure when the inspect fails, as stats failures keep theirs. */
  private async healthResponseTime(c: ManagedContainer, prev: Sample | undefined): Promise<number> {
    if (!c.health) return 0;
    try {
      return healthResponseTimeMs((await this.runtime.inspect(c.id)).State.Health?.Log);
    } catch {
      return prev?.usage.healthResponseTimeMs ?? 0;
    }
  }
}

/** `p`, or `timeout()` as a rejection once `ms` pass; a late rejection of `p` is handled. */
function withDeadline<T>(p: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  p.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeout()), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

export interface NodeInfoInput {
  cpus: number;
  memTotalBytes: number;
  reservedCpu: string;
  reservedMemory: string;
  dockerVersion: string;
  hostname: string;
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  labels: Record<string, string>;
  os: string;
  architecture: string;
  agentVersion: string;
  /** The node's address for other nodes (e.g. swarm's advertise address); detected from the interfaces when absent. */
  nodeIp?: string;
}

/** Capacity as the host has it, allocatable after the reserve, addresses: --node-ip or the non-internal IPv4s, + hostname. */
export function buildNodeInfo(i: NodeInfoInput): NodeInfo {
  const cpuMillis = Math.max(0, i.cpus * 1000 - parseCpuMillis(i.reservedCpu));
  const memKi = Math.floor(i.memTotalBytes / 1024);
  const allocKi = Math.max(0, Math.floor((i.memTotalBytes - parseMemoryBytes(i.reservedMemory)) / 1024));
  const addresses = i.nodeIp
    ? [{ type: 'InternalIP', address: i.nodeIp }]
    : Object.values(i.interfaces)
        .flatMap((list) => list ?? [])
        .filter((a) => a.family === 'IPv4' && !a.internal)
        .map((a) => ({ type: 'InternalIP', address: a.address }));
  return {
    capacity: { cpu: String(i.cpus), memory: `${memKi}Ki` },
    allocatable: { cpu: cpuMillis % 1000 === 0 ? String(cpuMillis / 1000) : `${cpuMillis}m`, memory: `${allocKi}Ki` },
    dockerVersion: i.dockerVersion,
    addresses: [...addresses, { type: 'Hostname', address: i.hostname }],
    labels: i.labels,
    os: i.os,
    architecture: i.architecture,
    agentVersion: i.agentVersion,
  };
}

/** NodeInfo of this host; the Docker version is left empty when the engine does not answer. */
export async function hostNodeInfo(opts: {
  runtime: Pick<ContainerRuntime, 'version'>;
  reservedCpu: string;
  reservedMemory: string;
  labels: Record<string, string>;
  agentVersion: string;
  nodeIp?: string;
}): Promise<NodeInfo> {
  const dockerVersion = await opts.runtime.version().then((v) => v.Version, () => '');
  let memTotalBytes = os.totalmem();
  try {
    memTotalBytes = parseMeminfo(readFileSync('/proc/meminfo', 'utf8')).totalBytes || memTotalBytes;
  } catch {
    // not Linux: os.totalmem() is the same figure
  }
  return buildNodeInfo({
    cpus: os.cpus().length,
    memTotalBytes,
    reservedCpu: opts.reservedCpu,
    reservedMemory: opts.reservedMemory,
    dockerVersion,
    hostname: os.hostname(),
    interfaces: os.networkInterfaces(),
    labels: opts.labels,
    os: os.platform(),
    architecture: os.arch() === 'x64' ? 'amd64' : os.arch(),
    agentVersion: opts.agentVersion,
    nodeIp: opts.nodeIp,
  });
}
