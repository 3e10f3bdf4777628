// The DNS server on 127.0.0.x with a fixed directory, asked by Node's own resolver (c-ares); names outside
// persys.local go to a fake upstream on 127.0.0.x, never to an outside address.
import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry, Counter } from 'prom-client';
import type { Resource } from '../../lib/api/resource.js';
import { ServiceDirectory } from './directory.js';
import { DnsServer } from './server.js';
import { decodeQuery, encodeResponse, TYPE } from './wire.js';
import { parseNameservers } from './resolv-conf.js';
import { connect } from 'node:net';

const HOST = '127.0.0.53';
const UPSTREAM = '127.0.0.54';

function directory(): ServiceDirectory {
  const d = new ServiceDirectory();
  const objects: Resource[] = [
    { apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name: 'n2' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }] } },
    { apiVersion: 'persys.dev/v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIp: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
    {
      apiVersion: 'persys.dev/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web', namespace: 'shop' },
      endpoints: [
        { containerName: 'web-a', nodeName: 'n1', containerIp: '172.17.0.5', ready: true, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
        { containerName: 'web-b', nodeName: 'n2', nodeAddress: '10.0.0.2', containerIp: '172.17.0.9', ready: true, ports: [{ name: 'http', port: 8080, hostPort: 32001, protocol: 'TCP' }] },
      ],
    },
  ];
  d.setDesired(objects);
  return d;
}

/** A fake upstream: example.test → 192.0.2.7; slow.test never answered. */
let upstream: Socket;
let upstreamPort: number;
const upstreamSeen: string[] = [];
let server: DnsServer;
let slowServer: DnsServer;
let resolver: Resolver;
const registry = new Registry();
const queries = new Counter({ name: 'persys_agent_dns_queries_total', help: 'x', labelNames: ['type', 'result'] as const, registers: [registry] });

beforeAll(async () => {
  upstream = createSocket('udp4');
  await new Promise<void>((r) => upstream.bind(0, UPSTREAM, () => r()));
  upstreamPort = upstream.address().port;
  upstream.on('message', (msg, rinfo) => {
    const q = decodeQuery(msg);
    const name = q.questions[0]!.name;
    upstreamSeen.push(name);
    if (name === 'slow.test') return;
    const answers = name === 'example.test' && q.questions[0]!.type === TYPE.A ? [{ name, type: TYPE.A, ttl: 60, address: '192.0.2.7' } as const] : [];
    upstream.send(encodeResponse(q, { rcode: answers.length ? 0 : 3, answers, additionals: [] }), rinfo.port, rinfo.address);
  });
  server = new DnsServer({ host: HOST, port: 0, lookup: directory(), node: 'n1', upstreams: [`${UPSTREAM}:${upstreamPort}`], forwardTimeoutMs: 500, queries });
  const { port } = await server.start();
  resolver = new Resolver({ timeout: 3_000, tries: 1 });
  resolver.setServers([`${HOST}:${port}`]);
});
afterAll(async () => {
  await server?.stop();
  await slowServer?.stop();
  upstream?.close();
});

describe('the agent DNS server over UDP', () => {
  it("answers a Service's A record with its cluster IP", async () => {
    expect(await resolver.resolve4('web.shop.svc.persys.local')).toEqual(['10.96.0.10']);
  });

  it('answers SRV with the endpoint on this node at its container address and port, the other at its node and host port', async () => {
    const srv = await resolver.resolveSrv('_http._tcp.web.shop.svc.persys.local');
    expect(srv.map((s) => `${s.name}:${s.port}`).sort()).toEqual(['web-a.web.shop.svc.persys.local:8080', 'web-b.web.shop.svc.persys.local:32001']);
    expect(await resolver.resolve4('web-b.web.shop.svc.persys.local')).toEqual(['10.0.0.2']);
  });

  it('answers a node name', async () => {
    expect(await resolver.resolve4('n2.node.persys.local')).toEqual(['10.0.0.2']);
  });

  it('answers NXDOMAIN for an unknown name in the zone, without asking the upstream', async () => {
    const before = upstreamSeen.length;
    await expect(resolver.resolve4('api.shop.svc.persys.local')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(upstreamSeen.length).toBe(before);
  });

  it('forwards other names to the upstream, its NXDOMAIN too', async () => {
    expect(await resolver.resolve4('example.test')).toEqual(['192.0.2.7']);
    await expect(resolver.resolve4('missing.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(upstreamSeen).toEqual(expect.arrayContaining(['example.test', 'missing.test']));
  });

  it('answers SERVFAIL when the upstream does not answer in time', async () => {
    await expect(resolver.resolve4('slow.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
  });

  it('answers over TCP too', async () => {
    const { encodeQuery, decodeResponse } = await import('./wire.js');
    const msg = encodeQuery(9, 'web.shop.svc.persys.local', TYPE.A);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const sock = connect(server.address.port, HOST, () => sock.write(Buffer.concat([len, msg])));
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          sock.end();
          resolve(buf.subarray(2));
        }
      });
      sock.on('error', reject);
    });
    expect(decodeResponse(answer).answers).toEqual([{ name: 'web.shop.svc.persys.local', type: TYPE.A, ttl: 5, address: '10.96.0.10' }]);
  });

  it('counts queries by type and result', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/persys_agent_dns_queries_total\{type="A",result="answered"\} [1-9]/);
    expect(text).toMatch(/persys_agent_dns_queries_total\{type="SRV",result="answered"\} 1/);
    expect(text).toMatch(/persys_agent_dns_queries_total\{type="A",result="nxdomain"\} [1-9]/);
    expect(text).toMatch(/persys_agent_dns_queries_total\{type="A",result="forwarded"\} [1-9]/);
    expect(text).toMatch(/persys_agent_dns_queries_total\{type="A",result="servfail"\} [1-9]/);
  });

  it('answers SERVFAIL for zone names until the directory has its first snapshot', async () => {
    slowServer = new DnsServer({ host: HOST, port: 0, lookup: new ServiceDirectory(), node: 'n1', upstreams: [], ready: () => false });
    const { port } = await slowServer.start();
    const r = new Resolver({ timeout: 2_000, tries: 1 });
    r.setServers([`${HOST}:${port}`]);
    await expect(r.resolve4('web.shop.svc.persys.local')).rejects.toMatchObject({ code: 'ESERVFAIL' });
  });
});

describe('parseNameservers', () => {
  it('reads nameserver lines in order, IPv6 bracketed, zone ids dropped', () => {
    expect(parseNameservers('# c\nsearch x\nnameserver 10.0.0.53\n  nameserver fe80::1%eth0\noptions ndots:5\n')).toEqual(['10.0.0.53:53', '[fe80::1]:53']);
  });
});
