// On this machine's Docker engine: the agent as `persys agent` assembles it serves DNS on the default
// bridge gateway, and a busybox container it creates resolves a Service by its full name and by its short
// name through the search list (busybox nslookup: its wget cannot look names up). The agent's resolv.conf
// names only a fake upstream on 127.0.0.56 that answers NXDOMAIN to everything, so no query leaves the
// machine. (busybox nslookup applies the search list to dot-less names only, whatever ndots says, so
// `web.NAMESPACE` is left to the table tests: glibc programs search it first under ndots:5.)
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createJoinToken } from '../../apiserver/agents/tokens.js';
import type { ContainerObject, ServiceObject } from '../../lib/api/typed.js';
import { ensureDocker, TEST_IMAGE } from '../../e2e/harness/docker.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { waitFor } from '../../e2e/harness/wait.js';
import { caCertHash } from '../../lib/pki/index.js';
import { startNodeAgent, type RunningNodeAgent } from '../run.js';
import { decodeQuery, encodeResponse, RCODE } from './wire.js';

const run = promisify(execFile);
/** Ids of the containers of the test's compose stack (project `shop-${process.pid}`). */
const stackContainers = async () =>
  (await run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=shop-${process.pid}`])).stdout.split('\n').filter(Boolean);

const NODE = `dns-docker-${process.pid}`;
const NS = `dns${process.pid}`;
let api: TestApiServer;
let dataDir: string;
let running: RunningNodeAgent | undefined;
let upstream: Socket;
const forwarded: string[] = [];

beforeAll(async () => {
  await ensureDocker();
  api = await startTestApiServer(inject('etcdEndpoint'));
  dataDir = mkdtempSync(join(tmpdir(), 'persys-agent-dns-'));
  upstream = createSocket('udp4');
  await new Promise<void>((r) => upstream.bind(53, '127.0.0.56', () => r()));
  upstream.on('message', (msg, rinfo) => {
    const q = decodeQuery(msg);
    forwarded.push(q.questions[0]?.name ?? '');
    upstream.send(encodeResponse(q, { rcode: RCODE.NXDOMAIN, answers: [], additionals: [] }), rinfo.port, rinfo.address);
  });
  writeFileSync(join(dataDir, 'resolv.conf'), 'nameserver 127.0.0.56\n');
  const { token } = await createJoinToken(api.server.store, { ttlSeconds: 600, description: 'dns test' });
  running = await startNodeAgent({
    nodeName: NODE,
    servers: [api.config.server],
    joinServer: `127.0.0.1:${api.server.joinPort}`,
    token,
    caCertHash: caCertHash(readFileSync(api.pki.caCert, 'utf8')),
    dataDir,
    heartbeatIntervalMs: 500,
    dnsListen: 'bridge',
    resolvConf: join(dataDir, 'resolv.conf'),
  });
});
afterAll(async () => {
  await api?.client.delete('Container', 'client', NS).catch(() => undefined);
  await api?.client.delete('ComposeStack', 'shop', NS).catch(() => undefined);
  if (running) {
    await waitFor(async () => (await running!.agent.managedContainers()).every((c) => c.namespace !== NS) || undefined, 'client container removed', 20_000).catch(() => undefined);
    await running.stop();
  }
  upstream?.close();
  await api?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the agent DNS server on the bridge gateway', () => {
  it('lets a container it created resolve a Service by full and short name, and forwards other names', async () => {
    expect(running!.dns, 'the DNS server started on the bridge gateway port 53').toMatchObject({ port: 53 });
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
    await api.client.apply(`apiVersion: persys.dev/v1
kind: Service
metadata: {name: web, namespace: ${NS}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}]
`);
    const clusterIp = ((await api.client.get('Service', 'web', NS)) as ServiceObject).spec!.clusterIp!;
    await api.client.create({
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: 'client', namespace: NS },
      spec: { image: TEST_IMAGE, command: ['sleep', '600'], nodeName: NODE },
    });
    await waitFor(async () => ((await api.client.get('Container', 'client', NS)) as ContainerObject).status?.phase === 'Running' || undefined, 'client Running', 30_000);
    const id = (await running!.agent.managedContainers()).find((c) => c.namespace === NS && c.name === 'client')!.id;
    for (const name of [`web.${NS}.svc.persys.local`, 'web']) {
      let last = '';
      const out = await waitFor(async () => {
        const r = await running!.runtime.exec(id, ['nslookup', name], { timeoutMs: 10_000 });
        last = `${r.stdout}${r.stderr}`;
        return r.stdout.includes(clusterIp) ? r.stdout : undefined;
      }, `nslookup ${name}`, 15_000).catch((e: Error) => {
        throw new Error(`${e.message}; last output:\n${last}`);
      });
      expect(out).toContain(clusterIp);
    }
    const missing = await running!.runtime.exec(id, ['nslookup', `nope.${NS}.svc.persys.local`], { timeoutMs: 10_000 });
    expect(missing.stdout + missing.stderr).toMatch(/NXDOMAIN|can't find/);
    // Other names go to the host's resolvers (here the fake); persys.local names never do.
    const other = await running!.runtime.exec(id, ['nslookup', 'elsewhere.example'], { timeoutMs: 10_000 });
    expect(other.stdout + other.stderr).toMatch(/NXDOMAIN/);
    expect(forwarded).toContain('elsewhere.example');
    expect(forwarded.filter((n) => n.endsWith('persys.local'))).toEqual([]);
  });

  it("points a compose stack's containers at it too: Service names resolve, and so do the stack's own services", async () => {
    const clusterIp = ((await api.client.get('Service', 'web', NS)) as ServiceObject).spec!.clusterIp!;
    await api.client.apply(`apiVersion: persys.dev/v1
kind: ComposeStack
metadata: {name: shop, namespace: ${NS}}
spec:
  nodeName: ${NODE}
  projectName: shop-${process.pid}
  compose: |
    services:
      app: {image: ${TEST_IMAGE}, command: [sleep, "600"]}
      peer: {image: ${TEST_IMAGE}, command: [sleep, "600"]}
`);
    const [id] = await waitFor(async () => {
      const ids = await stackContainers();
      return ids.length === 2 ? ids : undefined;
    }, 'the stack containers', 60_000);
    const lookup = async (name: string) => {
      const r = await run('docker', ['exec', id!, 'nslookup', name]).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
      return `${r.stdout}${r.stderr}`;
    };
    let out = '';
    await waitFor(async () => ((out = await lookup(`web.${NS}.svc.persys.local`)).includes(clusterIp) ? out : undefined), 'the Service name from a stack container', 20_000).catch((e: Error) => {
      throw new Error(`${e.message}; last output:\n${out}`);
    });
    // Docker's embedded DNS on the project network still answers the stack's own names.
    expect(await lookup(`peer.`)).toMatch(/Name:\s+peer\s+Address: \d+\.\d+\.\d+\.\d+/);
  });
});
