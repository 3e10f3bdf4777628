// Service names end to end: a real API server and endpoints controller, two hollow nodes (real agents
// over an in-memory engine) and, on the first, the agent DNS server on 127.0.0.x over the directory its
// stream feeds. Node's resolver asks it for a Service's A and SRV records and sees them follow a replica
// turning not ready and the Service's deletion. Node addresses are TEST-NET ones: they only appear in
// answers, no packet is sent to them.
import { randomBytes } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ContainerObject, EndpointSliceObject, ServiceObject } from '../../lib/api/typed.js';
import { captureIo } from '../../lib/cli/io.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { main } from '../../cmd/commands.js';
import { ServiceDirectory } from '../../node-agent/dns/directory.js';
import { DnsServer } from '../../node-agent/dns/server.js';
import { startHollowNode, type HollowNode } from '../../node-agent/hollow/node.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/wait.js';
import { joinAsNode } from './test-agent.js';

const NS = 'default';
const NAME = `web${randomBytes(2).toString('hex')}`;
const FQDN = `${NAME}.${NS}.svc.persys.local`;
const SRV = `_http._tcp.${FQDN}`;
const prefix = `dns${randomBytes(2).toString('hex')}`;
const N1 = `${prefix}-1`;
const N2 = `${prefix}-2`;
const ADDRESS: Record<string, string> = { [N1]: '192.0.2.1', [N2]: '192.0.2.2' };

let api: TestApiServer;
let dir: string;
const nodes: HollowNode[] = [];
let dns: DnsServer;
let resolver: Resolver;
const stop = new AbortController();
const exits: Promise<number>[] = [];

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  dir = mkdtempSync(join(tmpdir(), 'persys-dns-'));
  const caPem = readFileSync(api.pki.caCert, 'utf8');
  const directory = new ServiceDirectory();
  for (const name of [N1, N2]) {
    const credentials = await joinAsNode(api, caPem, name);
    nodes.push(
      startHollowNode({
        name,
        servers: [api.config.server],
        credentials,
        dataDir: join(dir, name),
        startDelayMs: 20,
        heartbeatIntervalMs: 2_000,
        logger: silentLogger(),
        nodeIp: ADDRESS[name],
        serviceDirectory: name === N1 ? directory : undefined,
      }),
    );
  }
  dns = new DnsServer({ host: '127.0.0.55', port: 0, lookup: directory, node: N1, upstreams: [], ready: () => directory.ready });
  const { port } = await dns.start();
  resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([`127.0.0.55:${port}`]);
  const connection = ['--server', api.config.server, '--ca-cert', api.config.caCert, '--client-cert', api.config.clientCert, '--client-key', api.config.clientKey];
  exits.push(main(['controllers', ...connection, '--leader-elect=false', '--metrics-listen', '127.0.0.1:0', '--log-level', 'silent'], captureIo('', stop.signal)));
});
afterAll(async () => {
  stop.abort();
  await Promise.all(exits);
  await dns?.stop();
  await Promise.all(nodes.map((n) => n.stop()));
  await api?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const srv = async () => (await resolver.resolveSrv(SRV).catch(() => [])).map((r) => `${r.name}:${r.port}`).sort();
const slice = async () => (await api.client.get('EndpointSlice', NAME, NS).catch(() => undefined)) as EndpointSliceObject | undefined;

/** What N1's containers should be told: container IP and port on N1, node address and host port elsewhere. */
function expectedSrv(s: EndpointSliceObject): string[] {
  return (s.endpoints ?? [])
    .filter((e) => e.ready)
    .map((e) => {
      const port = e.ports![0]!;
      return `${e.containerName}.${FQDN}:${e.nodeName === N1 ? port.port : port.hostPort}`;
    })
    .sort();
}

describe("an agent's DNS server over its stream", () => {
  it("answers a Service's A and SRV records and follows a replica turning not ready and the Service's deletion", async () => {
    await api.client.apply(`apiVersion: persys.dev/v1
kind: ContainerSet
metadata: {name: ${NAME}, namespace: ${NS}}
spec:
  replicas: 3
  template:
    metadata: {labels: {app: ${NAME}}}
    spec:
      image: persys/busybox:test
      ports: [{name: http, containerPort: 80, hostPort: 0, publish: true}]
`);
    await api.client.apply(`apiVersion: persys.dev/v1
kind: Service
metadata: {name: ${NAME}, namespace: ${NS}}
spec:
  selector: {app: ${NAME}}
  ports: [{name: http, port: 80, targetPort: http}]
`);
    const svc = (await api.client.get('Service', NAME, NS)) as ServiceObject;
    expect(await waitFor(async () => (await resolver.resolve4(FQDN).catch(() => undefined))?.[0], 'the A record', 20_000)).toBe(svc.spec!.clusterIp);
    expect(await resolver.resolve4(`${N2}.node.persys.local`)).toEqual(['192.0.2.2']);

    const full = await waitFor(async () => {
      const s = await slice();
      return s && (s.endpoints ?? []).filter((e) => e.ready && e.ports?.[0]?.hostPort).length === 3 ? s : undefined;
    }, 'three ready, published endpoints', 40_000);
    const want = expectedSrv(full);
    expect(want).toHaveLength(3);
    await waitFor(async () => JSON.stringify(await srv()) === JSON.stringify(want) || undefined, `SRV ${want.join(', ')}`, 10_000);
    for (const e of full.endpoints!) {
      expect(await resolver.resolve4(`${e.containerName}.${FQDN}`)).toEqual([e.nodeName === N1 ? e.containerIp : ADDRESS[e.nodeName!]]);
    }

    // A failing healthcheck, as the agent would report it: the replica's Ready condition turns False.
    const victim = full.endpoints![0]!.containerName!;
    const ct = (await api.client.get('Container', victim, NS)) as ContainerObject;
    const conditions = (ct.status?.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'False', reason: 'Unhealthy' } : c));
    const t0 = performance.now();
    await api.client.updateStatus({ ...ct, status: { ...ct.status, conditions } });
    const left = want.filter((w) => !w.startsWith(`${victim}.`));
    await waitFor(async () => JSON.stringify(await srv()) === JSON.stringify(left) || undefined, 'the not-ready replica gone from SRV', 20_000, 5);
    console.log(`SRV without a replica turned not ready: ${(performance.now() - t0).toFixed(0)} ms from its status write to the agent's answer`);

    await api.client.delete('Service', NAME, NS);
    await waitFor(async () => (await resolver.resolve4(FQDN).catch((e: { code?: string }) => e.code)) === 'ENOTFOUND' || undefined, 'NXDOMAIN after the delete', 20_000, 5);
    expect(await srv()).toEqual([]);
  });
});
