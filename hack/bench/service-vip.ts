// bench:service, VIP section: HTTP requests through a Service VIP against the same requests straight to
// the container, in the same round. One Docker engine in a network namespace of the bench's own runs a
// busybox httpd; the agent's real VIP loop (node-agent/vip) programs that namespace's nat table for a
// Service whose one endpoint is that container. This machine reaches the namespace over its veth: /32
// routes for the VIP and the container's address point there, so no packet ever leaves the machine.
// Every request is a new TCP connection (httpd answers HTTP/1.0 and closes), so each pays the DNAT.
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import type { Resource } from '../../lib/api/resource.js';
import { startSecondDocker, TEST_IMAGE, type SecondDocker } from '../../e2e/harness/docker.js';
import { ServiceDirectory } from '../../node-agent/dns/directory.js';
import { iptablesHost } from '../../node-agent/vip/iptables.js';
import { VipLoop } from '../../node-agent/vip/loop.js';
import { fmt, roundTo, summarize, type Summary } from './stats.js';
import { until } from './until.js';

const run = promisify(execFile);
const NETNS = 'psvbench';
const VIP = '10.96.250.10';
const SERVICE_CIDR = '10.96.0.0/16';

export const VIP_DEFAULTS = {
  /** Connections in flight at once. */
  concurrency: 16,
  /** Each measurement stops after this long… */
  seconds: 5,
  /** …or this many requests, whichever comes first. */
  maxRequests: 100_000,
};

export interface LoadResult {
  requests: number;
  failed: number;
  perSecond: number;
  latencyMs: Summary;
}

export interface VipRound {
  round: number;
  order: 'vip-first' | 'direct-first';
  vip: LoadResult;
  direct: LoadResult;
  /** vip.perSecond / direct.perSecond */
  ratio: number;
}

/** `concurrency` loops of GET / on host:port, each a new connection, for `seconds` or `maxRequests`. */
async function load(host: string, port: number, opts: typeof VIP_DEFAULTS): Promise<LoadResult> {
  const latencies: number[] = [];
  let failed = 0;
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;
  const one = () =>
    new Promise<boolean>((resolve) => {
      const req = request({ host, port, path: '/', agent: false, timeout: 3_000 }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode === 200));
        res.once('error', () => resolve(false));
      });
      req.once('timeout', () => req.destroy(new Error('timeout')));
      req.once('error', () => resolve(false));
      req.end();
    });
  const worker = async () => {
    while (performance.now() < deadline && started < opts.maxRequests) {
      started++;
      const s = performance.now();
      if (await one()) latencies.push(performance.now() - s);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const ms = performance.now() - t0;
  return { requests: latencies.length, failed, perSecond: (latencies.length / ms) * 1000, latencyMs: summarize(latencies) };
}

export class VipBench {
  private engine?: SecondDocker;
  private loop?: VipLoop;
  private containerIp = '';
  private readonly routes: string[] = [];
  private readonly host = iptablesHost(`/var/run/netns/${NETNS}`);

  constructor(private readonly opts: typeof VIP_DEFAULTS = VIP_DEFAULTS) {}

  async start(log: (m: string) => void): Promise<void> {
    this.engine = await startSecondDocker(NETNS);
    const docker = this.engine.docker;
    const c = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'],
      ExposedPorts: { '8080/tcp': {} },
      // Published, so the engine's FORWARD rules let outside traffic reach it (as a persys publish does).
      HostConfig: { PortBindings: { '8080/tcp': [{ HostPort: '' }] } },
    });
    await c.start();
    const info = await c.inspect();
    this.containerIp = info.NetworkSettings.Networks['bridge']?.IPAddress ?? '';
    const hostPort = Number(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
    log(`vip: httpd at ${this.containerIp}:8080 (published on ${hostPort}) in network namespace ${NETNS}`);

    const directory = new ServiceDirectory();
    this.loop = new VipLoop({ lookup: directory, ready: () => directory.ready, node: 'bench', serviceCidr: SERVICE_CIDR, host: this.host });
    directory.onChange(() => this.loop?.changed());
    await this.loop.start();
    const objects: Resource[] = [
      { apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name: 'bench' }, status: { addresses: [{ type: 'InternalIP', address: this.engine.address }] } },
      { apiVersion: 'persys.dev/v1', kind: 'Service', metadata: { name: 'web', namespace: 'bench' }, spec: { clusterIp: VIP, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
      {
        apiVersion: 'persys.dev/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'web', namespace: 'bench' },
        endpoints: [{ containerName: 'web-1', nodeName: 'bench', nodeAddress: this.engine.address, containerIp: this.containerIp, ready: true, ports: [{ name: 'http', port: 8080, hostPort, protocol: 'TCP' }] }],
      },
    ];
    directory.setDesired(objects);
    await until('the VIP rules', 10_000, async () => this.loop!.condition, (c) => c.status !== 'Unknown');
    if (this.loop.condition.status !== 'True') throw new Error(this.loop.condition.message);
    // Only these two /32s, only to the namespace: nothing else on this machine changes.
    for (const dst of [VIP, this.containerIp]) {
      await run('ip', ['route', 'add', `${dst}/32`, 'via', this.engine.address]);
      this.routes.push(dst);
    }
    const warm = await load(VIP, 80, { ...this.opts, seconds: 1, maxRequests: 200 });
    if (warm.failed || !warm.requests) throw new Error(`requests through the VIP fail (${warm.failed} of ${warm.failed + warm.requests})`);
  }

  async round(n: number): Promise<VipRound> {
    const order = n % 2 ? 'vip-first' : 'direct-first';
    const vipRun = () => load(VIP, 80, this.opts);
    const directRun = () => load(this.containerIp, 8080, this.opts);
    let vip: LoadResult;
    let direct: LoadResult;
    if (order === 'vip-first') {
      vip = await vipRun();
      direct = await directRun();
    } else {
      direct = await directRun();
      vip = await vipRun();
    }
    return { round: n, order, vip, direct, ratio: roundTo(vip.perSecond / direct.perSecond, 3) };
  }

  async stop(): Promise<void> {
    for (const dst of this.routes.splice(0)) await run('ip', ['route', 'del', `${dst}/32`]).catch(() => undefined);
    await this.loop?.stop();
    await this.host.removeAll(SERVICE_CIDR).catch(() => undefined);
    await this.engine?.stop();
  }
}

export const describeLoad = (r: LoadResult) =>
  `${fmt(r.perSecond, 0)} req/s (p50 ${fmt(r.latencyMs.p50, 2)} ms, p99 ${fmt(r.latencyMs.p99, 2)} ms, ${r.failed} failed)`;
