// The agent's DNS server: answers persys.local from the directory in memory and relays every other query,
// as raw bytes, to the host's resolvers (one socket per relayed query; no answer in time is SERVFAIL).
// UDP, and TCP on the same address (length-prefixed messages, RFC 1035 4.2.2) for truncated answers.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { silentLogger } from '../../lib/observability/logger.js';
import type { ServiceLookup } from './directory.js';
import { resolve } from './names.js';
import { decodeQuery, encodeResponse, errorResponse, idOf, isStandardQuery, RCODE, TYPE, UDP_MAX, DnsFormatError } from './wire.js';

export interface DnsServerOptions {
  /** IPv4 address to bind (the Docker bridge gateway, or 127.x in tests). */
  host: string;
  /** @default 53; 0 picks a free port (tests) */
  port?: number;
  lookup: ServiceLookup;
  /** This node's name: endpoints on it are answered with container addresses. */
  node: string;
  /** host:port of the resolvers other names go to, tried in order; none: such queries get SERVFAIL. */
  upstreams: string[];
  /** A relayed query without an answer in this time is answered SERVFAIL. @default 2_000 */
  forwardTimeoutMs?: number;
  /** False until the directory holds its first snapshot: persys.local names get SERVFAIL, not a cached NXDOMAIN. @default always true */
  ready?: () => boolean;
  /** Serve TCP too. @default true */
  tcp?: boolean;
  /** persys_agent_dns_queries_total */
  queries?: Counter<'type' | 'result'>;
  logger?: Logger;
}

const TYPE_NAMES: Record<number, string> = { [TYPE.A]: 'A', [TYPE.AAAA]: 'AAAA', [TYPE.SRV]: 'SRV', [TYPE.ANY]: 'ANY', 12: 'PTR', 5: 'CNAME', 16: 'TXT', 15: 'MX', 6: 'SOA', 2: 'NS' };
const typeName = (t: number | undefined) => (t === undefined ? 'none' : (TYPE_NAMES[t] ?? 'other'));

function splitUpstream(s: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(s);
  if (!m || (s.split(':').length > 2 && !s.startsWith('['))) return { host: s, port: 53 };
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 53 };
}

export class DnsServer {
  private udp?: Socket;
  private tcp?: Server;
  private readonly tcpClients = new Set<TcpSocket>();
  private readonly inflight = new Set<Socket>();
  private readonly log: Logger;
  private boundPort = 0;

  constructor(private readonly opts: DnsServerOptions) {
    this.log = opts.logger ?? silentLogger();
  }

  get address(): { host: string; port: number } {
    return { host: this.opts.host, port: this.boundPort };
  }

  async start(): Promise<{ host: string; port: number }> {
    const udp = createSocket('udp4');
    this.udp = udp;
    await new Promise<void>((res, rej) => {
      udp.once('error', rej);
      udp.bind(this.opts.port ?? 53, this.opts.host, () => {
        udp.off('error', rej);
        res();
      });
    });
    this.boundPort = udp.address().port;
    udp.on('error', (err) => this.log.warn({ err }, 'DNS UDP socket error'));
    udp.on('message', (msg, rinfo) => {
      this.handle(msg, UDP_MAX).then(
        (out) => out && udp.send(out, rinfo.port, rinfo.address),
        (err: unknown) => this.log.warn({ err }, 'cannot answer a DNS query'),
      );
    });
    if (this.opts.tcp ?? true) {
      const tcp = createServer((sock) => this.serveTcp(sock));
      this.tcp = tcp;
      await new Promise<void>((res, rej) => {
        tcp.once('error', rej);
        tcp.listen(this.boundPort, this.opts.host, () => {
          tcp.off('error', rej);
          res();
        });
      });
      tcp.on('error', (err) => this.log.warn({ err }, 'DNS TCP server error'));
    }
    this.log.info({ host: this.opts.host, port: this.boundPort, upstreams: this.opts.upstreams }, 'DNS server listening');
    return this.address;
  }

  async stop(): Promise<void> {
    for (const s of this.inflight) s.close();
    this.inflight.clear();
    for (const c of this.tcpClients) c.destroy();
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    await Promise.all([
      udp && new Promise<void>((r) => udp.close(() => r())),
      tcp && new Promise<void>((r) => tcp.close(() => r())),
    ]);
  }

  private serveTcp(sock: TcpSocket): void {
    this.tcpClients.add(sock);
    let buf = Buffer.alloc(0);
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.tcpClients.delete(sock));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        this.handle(msg, 65_535).then(
          (out) => {
            if (!out || sock.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length);
            sock.write(Buffer.concat([len, out]));
          },
          (err: unknown) => this.log.warn({ err }, 'cannot answer a DNS query'),
        );
      }
    });
  }

  /** The answer to one message, or undefined to stay silent (a response, not a query). */
  async handle(msg: Buffer, maxBytes: number): Promise<Buffer | undefined> {
    const count = (type: string, result: string) => this.opts.queries?.inc({ type, result });
    let query;
    try {
      query = decodeQuery(msg);
    } catch (err) {
      if (!(err instanceof DnsFormatError)) throw err;
      count('none', 'formerr');
      return errorResponse(msg, RCODE.FORMERR);
    }
    if (query.flags & 0x8000) return undefined;
    const q = query.questions[0];
    if (!isStandardQuery(query) || query.questions.length !== 1 || !q) {
      count(typeName(q?.type), 'notimp');
      return errorResponse(msg, query.questions.length !== 1 && isStandardQuery(query) ? RCODE.FORMERR : RCODE.NOTIMP);
    }
    const res = resolve(q, this.opts.lookup, this.opts.node);
    if (res.kind === 'answer' && this.opts.ready && !this.opts.ready()) {
      count(typeName(q.type), 'servfail');
      return encodeResponse(query, { rcode: RCODE.SERVFAIL, answers: [], additionals: [] });
    }
    if (res.kind === 'answer') {
      count(typeName(q.type), res.result);
      return encodeResponse(query, res.answer, Math.max(maxBytes, Math.min(query.ednsUdpSize ?? 0, 4096)));
    }
    const answer = await this.forward(msg);
    count(typeName(q.type), answer ? 'forwarded' : 'servfail');
    return answer ?? encodeResponse(query, { rcode: RCODE.SERVFAIL, answers: [], additionals: [] });
  }

  /** Relays the raw query to the upstreams in turn, each with its share of the timeout. */
  private async forward(msg: Buffer): Promise<Buffer | undefined> {
    const upstreams = this.opts.upstreams;
    if (!upstreams.length) return undefined;
    const per = Math.max(100, Math.floor((this.opts.forwardTimeoutMs ?? 2_000) / upstreams.length));
    for (const u of upstreams) {
      const answer = await this.ask(splitUpstream(u), msg, per);
      if (answer) return answer;
    }
    return undefined;
  }

  private ask(to: { host: string; port: number }, msg: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
    return new Promise((res) => {
      const sock = createSocket(to.host.includes(':') ? 'udp6' : 'udp4');
      this.inflight.add(sock);
      const done = (answer: Buffer | undefined) => {
        clearTimeout(timer);
        if (this.inflight.delete(sock)) sock.close();
        res(answer);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      sock.on('error', (err) => {
        this.log.debug({ err, upstream: to }, 'DNS upstream error');
        done(undefined);
      });
      sock.on('message', (answer) => {
        if (idOf(answer) === idOf(msg)) done(answer);
      });
      sock.send(msg, to.port, to.host);
    });
  }
}
