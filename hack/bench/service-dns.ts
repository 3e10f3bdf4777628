// bench:service, DNS section: queries per second one agent's DNS server (node-agent/dns, its real
// DnsServer and ServiceDirectory) answers over UDP on loopback, asked by a client in its own process;
// in the same round, the same client against a trivial UDP echo server: Node's UDP ceiling here.
import { fork } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import type { Resource } from '../../lib/api/resource.js';
import type { EndpointSliceObject, NodeObject, ServiceObject } from '../../lib/api/typed.js';
import { ServiceDirectory } from '../../node-agent/dns/directory.js';
import { DnsServer } from '../../node-agent/dns/server.js';
import { RCODE, TYPE } from '../../node-agent/dns/wire.js';
import type { ClientRequest, ClientResult, QueryTemplate } from './service-dns-client.js';

const CLIENT = fileURLToPath(new URL('./service-dns-client.ts', import.meta.url));
const HOST = '127.0.0.1';
const SELF = 'node-0';

export interface DnsOptions {
  services: number;
  nodes: number;
  /** Queries per measurement. */
  count: number;
  /** A measurement stops sending after this long, whatever it has sent. */
  maxMs: number;
  /** Queries in flight at most. */
  window: number;
}

export const DNS_DEFAULTS: DnsOptions = { services: 1000, nodes: 10, count: 200_000, maxMs: 10_000, window: 64 };

export interface DnsRound {
  dns: ClientResult;
  echo: ClientResult;
  /** DNS answers per second over echo replies per second. */
  ratio: number;
  order: string;
}

const svcName = (i: number) => `svc-${String(i).padStart(4, '0')}`;
const nsOf = (i: number) => `bench-${i % 10}`;

/** Nodes, Services with a cluster IP and their slices of 3 ready endpoints each, spread over the nodes. */
export function directoryObjects(services: number, nodes: number): Resource[] {
  const out: Resource[] = [];
  for (let n = 0; n < nodes; n++) {
    const node: NodeObject = {
      apiVersion: 'persys.dev/v1',
      kind: 'Node',
      metadata: { name: `node-${n}` },
      status: { addresses: [{ type: 'InternalIP', address: `10.0.${n >> 8}.${(n & 0xff) + 1}` }] },
    };
    out.push(node as Resource);
  }
  for (let i = 0; i < services; i++) {
    const name = svcName(i);
    const namespace = nsOf(i);
    const svc: ServiceObject = {
      apiVersion: 'persys.dev/v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { selector: { app: name }, clusterIp: `10.96.${(i + 1) >> 8}.${(i + 1) & 0xff}`, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    };
    const endpoints = [0, 1, 2].map((r) => {
      const k = i * 3 + r;
      const nodeName = `node-${k % nodes}`;
      return {
        containerName: `${name}-${r}`,
        nodeName,
        nodeAddress: `10.0.${(k % nodes) >> 8}.${((k % nodes) & 0xff) + 1}`,
        containerIp: `172.17.${(k >> 8) & 0xff}.${(k & 0xff) + 1}`,
        ready: true,
        ports: [{ name: 'http', port: 8080, hostPort: 30000 + (k % 2000), protocol: 'TCP' }],
      };
    });
    const slice: EndpointSliceObject = { apiVersion: 'persys.dev/v1', kind: 'EndpointSlice', metadata: { name, namespace }, endpoints };
    out.push(svc as Resource, slice as Resource);
  }
  return out;
}

/** The mix asked: of every 20 queries, 14 A of a Service, 5 SRV of its http port, 1 an unknown name (NXDOMAIN). */
export function queryMix(services: number): QueryTemplate[] {
  const out: QueryTemplate[] = [];
  // 7 distinct Services per 20 queries keeps the names spread over the whole directory.
  for (let i = 0, s = 0; i < Math.max(20, services * 3); i++) {
    const slot = i % 20;
    if (slot < 14) {
      const k = s++ % services;
      out.push({ name: `${svcName(k)}.${nsOf(k)}.svc.persys.local`, type: TYPE.A, rcode: RCODE.NOERROR, wantsAnswer: true });
    } else if (slot < 19) {
      const k = (s * 7 + slot) % services;
      out.push({ name: `_http._tcp.${svcName(k)}.${nsOf(k)}.svc.persys.local`, type: TYPE.SRV, rcode: RCODE.NOERROR, wantsAnswer: true });
    } else {
      out.push({ name: `missing-${i}.${nsOf(i)}.svc.persys.local`, type: TYPE.A, rcode: RCODE.NXDOMAIN });
    }
  }
  return out;
}

/** Runs the client in a child process (the same node and loader as this one) against host:port. */
function runClientProcess(req: ClientRequest): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CLIENT, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let got: { result?: ClientResult; error?: string } | undefined;
    // The client stops on its own after maxMs + its timeout; this is the backstop for a hung one.
    const killer = setTimeout(() => child.kill('SIGKILL'), req.maxMs + req.timeoutMs + 30_000);
    child.once('message', (m) => (got = m as typeof got));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      if (got?.result) resolve(got.result);
      else reject(new Error(`DNS client exited (${code ?? signal}) without a result${got?.error ? `: ${got.error}` : ''}`));
    });
    child.send(req);
  });
}

/** A UDP server that sends every datagram straight back: the least a Node UDP server can do. */
async function startEcho(): Promise<{ port: number; stop(): Promise<void> }> {
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, HOST, () => r()));
  sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
  return { port: sock.address().port, stop: () => new Promise<void>((r) => sock.close(() => r())) };
}

/** The directory and server live for all rounds; each round measures echo and DNS, in alternating order. */
export class DnsBench {
  private server?: DnsServer;
  private echo?: { port: number; stop(): Promise<void> };
  private queries: QueryTemplate[] = [];

  constructor(private readonly opts: DnsOptions) {}

  async start(): Promise<void> {
    const directory = new ServiceDirectory();
    directory.setDesired(directoryObjects(this.opts.services, this.opts.nodes));
    this.server = new DnsServer({ host: HOST, port: 0, lookup: directory, node: SELF, upstreams: [], tcp: false });
    await this.server.start();
    this.echo = await startEcho();
    this.queries = queryMix(this.opts.services);
  }

  async round(n: number): Promise<DnsRound> {
    const base = { host: HOST, count: this.opts.count, maxMs: this.opts.maxMs, window: this.opts.window, timeoutMs: 1_000 };
    const measure = {
      dns: () => runClientProcess({ ...base, port: this.server!.address.port, queries: this.queries }),
      // The same names, any reply counts: the echo sends the query back.
      echo: () => runClientProcess({ ...base, port: this.echo!.port, queries: this.queries.map((q) => ({ name: q.name, type: q.type })) }),
    };
    const order = n % 2 === 1 ? (['echo', 'dns'] as const) : (['dns', 'echo'] as const);
    const got: Partial<Record<'dns' | 'echo', ClientResult>> = {};
    for (const which of order) got[which] = await measure[which]();
    return { dns: got.dns!, echo: got.echo!, ratio: got.dns!.perSecond / got.echo!.perSecond, order: order.join(',') };
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    await this.echo?.stop();
  }
}
