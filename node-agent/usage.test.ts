// Usage figures from /proc text, Docker stats and healthcheck logs, and NodeInfo's capacity and allocatable.
import { describe, expect, it } from 'vitest';
import {
  buildNodeInfo,
  ContainerUsageSampler,
  containerUsageFromStats,
  cpuPercent,
  NodeUsageSampler,
  parseDiskstats,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
} from './usage.js';
import type { ManagedContainer } from './docker/runtime.js';

const STAT = (user: number, idle: number) => `cpu  ${user} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n`;
const MEMINFO = 'MemTotal:        2048000 kB\nMemFree:          100000 kB\nMemAvailable:    1024000 kB\n';
const DISKSTATS = (read: number, written: number) =>
  [
    `   8       0 sda 10 0 ${read} 5 20 0 ${written} 7 0 0 0`,
    `   8       1 sda1 10 0 ${read} 5 20 0 ${written} 7 0 0 0`,
    `   7       0 loop0 1 0 999 0 0 0 999 0 0 0 0`,
  ].join('\n');
const NETDEV = (rx: number, tx: number) =>
  [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    `    lo: 5000 1 0 0 0 0 0 0 5000 1 0 0 0 0 0 0`,
    `  eth0: ${rx} 1 0 0 0 0 0 0 ${tx} 1 0 0 0 0 0 0`,
  ].join('\n');

describe('/proc parsers', () => {
  it('computes CPU % from the busy share of the jiffies between two samples', () => {
    expect(cpuPercent(parseProcStat(STAT(100, 100)), parseProcStat(STAT(130, 170)))).toBe(30);
    expect(cpuPercent(parseProcStat(STAT(100, 100)), parseProcStat(STAT(100, 100)))).toBe(0);
  });

  it('reads total and available memory in bytes', () => {
    expect(parseMeminfo(MEMINFO)).toEqual({ totalBytes: 2048000 * 1024, availableBytes: 1024000 * 1024 });
  });

  it('counts whole disks only, in 512-byte sectors', () => {
    expect(parseDiskstats(DISKSTATS(4, 8), (d) => d === 'sda')).toEqual({ readBytes: 2048, writeBytes: 4096 });
  });

  it('sums network bytes of every interface except loopback', () => {
    expect(parseNetDev(NETDEV(300, 700))).toEqual({ rxBytes: 300, txBytes: 700 });
  });
});

describe('NodeUsageSampler', () => {
  it('reports rates per second between samples', () => {
    let t = 0;
    let files: Record<string, string> = {
      '/proc/stat': STAT(0, 0),
      '/proc/meminfo': MEMINFO,
      '/proc/diskstats': DISKSTATS(0, 0),
      '/proc/net/dev': NETDEV(0, 0),
    };
    const sampler = new NodeUsageSampler((p) => files[p]!, () => t);
    t = 2_000;
    files = { ...files, '/proc/stat': STAT(50, 150), '/proc/diskstats': DISKSTATS(8, 16), '/proc/net/dev': NETDEV(2000, 4000) };
    const u = sampler.sample();
    // isWholeDisk consults /sys/block, where no "sda" need exist: disk rates are checked via parseDiskstats.
    expect(u).toMatchObject({
      cpuPercent: 25,
      memoryBytes: String(1024000 * 1024),
      networkRxBytesPerSecond: '1000',
      networkTxBytesPerSecond: '2000',
    });
  });
});

describe('containerUsageFromStats', () => {
  it('computes CPU % as docker stats does and subtracts inactive page cache from memory', () => {
    const u = containerUsageFromStats({
      cpu_stats: { cpu_usage: { total_usage: 3_000 }, system_cpu_usage: 20_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000 }, system_cpu_usage: 10_000 },
      memory_stats: { usage: 10_000, limit: 50_000, stats: { inactive_file: 4_000 } },
      networks: { eth0: { rx_bytes: 10, tx_bytes: 20 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
    } as never);
    expect(u).toEqual({ cpuPercent: 40, memoryBytes: 6_000, memoryLimitBytes: 50_000, rxBytes: 11, txBytes: 22 });
  });
});

describe('ContainerUsageSampler', () => {
  const running = (id: string, state = 'running', health?: string): ManagedContainer => ({
    id, containerName: id, uid: `u-${id}`, kind: 'Container', namespace: 'ns', name: id, image: 'img', state, exitCode: 0, health,
  });
  const withHealthcheck = (id: string) => running(id, 'running', 'healthy');
  /** A Health.Log whose probes took `ms` each. */
  const healthLog = (...ms: number[]) =>
    ms.map((d, i) => ({ Start: new Date(i * 10_000).toISOString(), End: new Date(i * 10_000 + d).toISOString(), ExitCode: 0, Output: '' }));
  // One-shot stats: cumulative counters, precpu_stats empty.
  const oneShot = (cpu: number, system: number, rx: number) =>
    ({ cpu_stats: { cpu_usage: { total_usage: cpu }, system_cpu_usage: system, online_cpus: 1 }, precpu_stats: {},
      memory_stats: { usage: 100, limit: 0 }, networks: { eth0: { rx_bytes: rx, tx_bytes: 0 } } }) as never;

  function fakeRuntime() {
    const counters = new Map<string, number>();
    let inFlight = 0;
    const rt = {
      calls: [] as { id: string; oneShot?: boolean }[],
      inspected: [] as string[],
      maxInFlight: 0,
      /** Health.Log per container id; an id missing here fails its inspect. */
      logs: new Map<string, ReturnType<typeof healthLog>>(),
      async inspect(id: string) {
        rt.inspected.push(id);
        const log = rt.logs.get(id);
        if (!log) throw new Error(`inspect ${id}: engine error`);
        return { State: { Health: { Status: 'healthy', FailingStreak: 0, Log: log } } } as never;
      },
      async stats(id: string, opts: { oneShot?: boolean } = {}) {
        rt.calls.push({ id, oneShot: opts.oneShot });
        rt.maxInFlight = Math.max(rt.maxInFlight, ++inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        const n = (counters.get(id) ?? 0) + 1;
        counters.set(id, n);
        return oneShot(n * 500, n * 1_000, n * 30_000);
      },
    };
    return rt;
  }

  it('samples each running Container at most once per max age and reuses the sample in between', async () => {
    let now = 0;
    const rt = fakeRuntime();
    const sampler = new ContainerUsageSampler(rt, { now: () => now, maxAgeMs: 30_000 });
    const list = [running('a'), running('b'), running('c', 'exited')];
    expect((await sampler.sample(list)).map((u) => u.name)).toEqual(['a', 'b']);
    now = 10_000;
    expect((await sampler.sample(list)).map((u) => u.name)).toEqual(['a', 'b']);
    expect(rt.calls.map((c) => c.id)).toEqual(['a', 'b']);
    now = 30_000;
    await sampler.sample(list);
    expect(rt.calls.map((c) => c.id)).toEqual(['a', 'b', 'a', 'b']);
    expect(rt.calls.every((c) => c.oneShot)).toBe(true);
  });

  it('reports CPU and network as rates against its own previous sample (one-shot stats carry no precpu)', async () => {
    let now = 0;
    const sampler = new ContainerUsageSampler(fakeRuntime(), { now: () => now, maxAgeMs: 30_000 });
    const [first] = await sampler.sample([running('a')]);
    expect(first).toMatchObject({ cpuPercent: 0, networkRxBytesPerSecond: '0' });
    now = 30_000;
    const [second] = await sampler.sample([running('a')]);
    // 500 of 1000 system jiffies on one CPU; 30,000 bytes over 30 s.
    expect(second).toMatchObject({ cpuPercent: 50, networkRxBytesPerSecond: '1000', memoryBytes: '100' });
  });

  it('reports the healthcheck response time of containers with a healthcheck and 0 for the rest, inspecting only the former', async () => {
    const rt = fakeRuntime();
    rt.logs.set('h', healthLog(900, 200, 220, 240));
    const sampler = new ContainerUsageSampler(rt);
    const out = await sampler.sample([withHealthcheck('h'), running('plain')]);
    expect(out.map((u) => [u.name, u.healthResponseTimeMs])).toEqual([['h', 220], ['plain', 0]]);
    expect(rt.inspected).toEqual(['h']);
  });

  it('re-reads the healthcheck log at each new sample, not in between', async () => {
    let now = 0;
    const rt = fakeRuntime();
    rt.logs.set('h', healthLog(100));
    const sampler = new ContainerUsageSampler(rt, { now: () => now, maxAgeMs: 30_000 });
    await sampler.sample([withHealthcheck('h')]);
    rt.logs.set('h', healthLog(100, 400, 400, 400));
    now = 10_000;
    expect((await sampler.sample([withHealthcheck('h')]))[0]?.healthResponseTimeMs).toBe(100);
    now = 30_000;
    expect((await sampler.sample([withHealthcheck('h')]))[0]?.healthResponseTimeMs).toBe(400);
    expect(rt.inspected).toEqual(['h', 'h']);
  });

  it('keeps the previous response time when an inspect fails, while stats still refresh', async () => {
    let now = 0;
    const rt = fakeRuntime();
    rt.logs.set('h', healthLog(300));
    const sampler = new ContainerUsageSampler(rt, { now: () => now, maxAgeMs: 0 });
    await sampler.sample([withHealthcheck('h')]);
    rt.logs.delete('h');
    now = 30_000;
    const [u] = await sampler.sample([withHealthcheck('h')]);
    expect(u).toMatchObject({ healthResponseTimeMs: 300, networkRxBytesPerSecond: '1000' });
  });

  it('samples at most `maxPerRound` containers a round, never-sampled and oldest first, so every container gets its turn', async () => {
    let now = 0;
    const rt = fakeRuntime();
    const sampler = new ContainerUsageSampler(rt, { now: () => now, maxAgeMs: 0, maxPerRound: 2, concurrency: 1 });
    const list = ['a', 'b', 'c', 'd', 'e'].map((id) => running(id));
    for (let round = 0; round < 4; round++, now += 1_000) await sampler.sample(list);
    expect(rt.calls.map((c) => c.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'a', 'b', 'c']);
  });

  it('gives up on a call at its deadline, keeps the last sample, and starts no call while given-up ones still hang', async () => {
    let now = 0;
    const rt = fakeRuntime();
    const sampler = new ContainerUsageSampler(rt, { now: () => now, maxAgeMs: 0, concurrency: 2, callTimeoutMs: 20 });
    await sampler.sample([running('a'), running('b')]);
    const hung: string[] = [];
    rt.stats = async (id: string) => (hung.push(id), new Promise<never>(() => undefined));
    now = 30_000;
    const out = await sampler.sample([running('a'), running('b'), running('c')]);
    // a and b keep their first samples; c has none yet.
    expect(out.map((u) => u.name)).toEqual(['a', 'b']);
    expect(sampler.latest().map((u) => u.name)).toEqual(['a', 'b']);
    await sampler.sample([running('a'), running('b'), running('c')]);
    expect(hung).toHaveLength(2);
  });

  it('keeps at most `concurrency` stats calls in flight', async () => {
    const rt = fakeRuntime();
    const sampler = new ContainerUsageSampler(rt, { concurrency: 3 });
    const out = await sampler.sample(Array.from({ length: 10 }, (_, i) => running(`c${i}`)));
    expect(out).toHaveLength(10);
    expect(rt.maxInFlight).toBe(3);
  });
});

describe('buildNodeInfo', () => {
  it('reports capacity, allocatable after the reserve, InternalIP and Hostname addresses', () => {
    const info = buildNodeInfo({
      cpus: 2,
      memTotalBytes: 4 * 1024 ** 3,
      reservedCpu: '100m',
      reservedMemory: '256Mi',
      dockerVersion: '24.0.5',
      hostname: 'host-a',
      interfaces: {
        lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true } as never],
        eth0: [
          { address: '10.0.0.5', family: 'IPv4', internal: false } as never,
          { address: 'fe80::1', family: 'IPv6', internal: false } as never,
        ],
      },
      labels: { zone: 'a' },
      os: 'linux',
      architecture: 'amd64',
      agentVersion: '0.1.0',
    });
    expect(info.capacity).toEqual({ cpu: '2', memory: `${4 * 1024 * 1024}Ki` });
    expect(info.allocatable).toEqual({ cpu: '1900m', memory: `${4 * 1024 * 1024 - 256 * 1024}Ki` });
    expect(info.addresses).toEqual([
      { type: 'InternalIP', address: '10.0.0.5' },
      { type: 'Hostname', address: 'host-a' },
    ]);
    expect(info.labels).toEqual({ zone: 'a' });
  });

  it('reports only --node-ip as the InternalIP when it is given', () => {
    const info = buildNodeInfo({
      cpus: 1,
      memTotalBytes: 1024 ** 3,
      reservedCpu: '0',
      reservedMemory: '0',
      dockerVersion: '',
      hostname: 'host-b',
      interfaces: { eth0: [{ address: '10.0.0.5', family: 'IPv4', internal: false } as never] },
      labels: {},
      os: 'linux',
      architecture: 'amd64',
      agentVersion: '',
      nodeIp: '10.231.7.2',
    });
    expect(info.addresses).toEqual([
      { type: 'InternalIP', address: '10.231.7.2' },
      { type: 'Hostname', address: 'host-b' },
    ]);
  });
});
