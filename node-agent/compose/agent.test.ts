// The compose agent against the real Docker engine: up in depends_on order behind a healthcheck gate,
// service-name DNS, update, scale, healing, delete and status reports.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDocker } from '../../e2e/harness/docker.js';
import { waitFor } from '../../e2e/harness/wait.js';
import type { Resource } from '../../lib/api/resource.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { ComposeAgent, type StackContainer } from './agent.js';

const suffix = randomBytes(3).toString('hex');
const NODE = `ca-node-${suffix}`;
const NS = `ca-ns-${suffix}`;
const SHOP = `ca-shop-${suffix}`;
const SIDE = `ca-side-${suffix}`;
const OTHER = `ca-other-${suffix}`;
const BAD = `ca-bad-${suffix}`;

// db answers on 5432 only after 2 s; api records at start whether it could reach db by name.
const SHOP_COMPOSE = `
services:
  web:
    image: persys/busybox:test
    command: ["sh", "-c", "mkdir -p /www && echo web > /www/index.html && exec httpd -f -p 8080 -h /www"]
    depends_on:
      api: {condition: service_started}
  api:
    image: persys/busybox:test
    command: ["sh", "-c", "mkdir -p /www && echo api-\${VERSION:-v1} > /www/index.html && (wget -qO /www/db.txt http://db:5432/ || echo unreachable > /www/db.txt) && exec httpd -f -p 8080 -h /www"]
    depends_on:
      db: {condition: service_healthy}
  db:
    image: persys/busybox:test
    command: ["sh", "-c", "sleep 2 && mkdir -p /www && echo db-ok > /www/index.html && exec httpd -f -p 5432 -h /www"]
    environment:
      MODE: \${DB_MODE:-plain}
    healthcheck:
      test: ["CMD", "wget", "-qO", "/dev/null", "http://localhost:5432/"]
      interval: 300ms
      retries: 50
    volumes: [data:/data]
volumes:
  data: {}
`;

let seq = 0;
function stack(name: string, compose: string, spec: Record<string, unknown> = {}, uid = `uid-${name}`): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'ComposeStack',
    metadata: { namespace: NS, name, uid, generation: ++seq },
    spec: { compose, ...spec },
  };
}

let docker: Dockerode;
let agent: ComposeAgent;
const reports: Resource[] = [];
const statusOf = (name: string) => [...reports].reverse().find((r) => r.metadata.name === name)?.status;

async function exec(id: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const e = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = (await e.start({ hijack: true, stdin: false })) as Readable;
  let out = '';
  const sink = { write: (b: Buffer) => ((out += b.toString()), true) } as unknown as NodeJS.WritableStream;
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((r) => stream.on('end', r));
  return { code: (await e.inspect()).ExitCode ?? -1, out: out.trim() };
}

const byService = (cs: StackContainer[], service: string) => cs.filter((c) => c.service === service);
const idOf = async (name: string, service: string) => byService(await agent.containersOf(NS, name), service)[0]?.id;

async function removeProject(project: string): Promise<void> {
  const label = [`com.docker.compose.project=${project}`];
  const cs = await docker.listContainers({ all: true, filters: { label } });
  await Promise.all(cs.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  const ns = await docker.listNetworks({ filters: { label } });
  await Promise.all(ns.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
  const vs = (await docker.listVolumes({ filters: { label } })).Volumes ?? [];
  await Promise.all(vs.map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)));
}

beforeAll(async () => {
  docker = await ensureDocker();
  agent = new ComposeAgent({ node: NODE, docker, logger: silentLogger(), resyncIntervalMs: 1_000 });
  agent.attach((objs) => reports.push(...objs));
  agent.setDesired([stack(SHOP, SHOP_COMPOSE)]);
  agent.start();
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  if (docker) for (const p of [SHOP, SIDE, OTHER, BAD]) await removeProject(p);
});

describe('ComposeAgent on a real Docker engine', () => {
  it('starts api only once db is healthy, and reports Pending with the reason, then Running', async () => {
    await waitFor(() => statusOf(SHOP)?.phase === 'Running', 'shop Running', 45_000);
    const pending = reports.find((r) => r.metadata.name === SHOP && r.status.phase === 'Pending');
    expect(pending?.status.services.find((s: { name: string }) => s.name === 'api').reason).toBe('waiting for db to be healthy');
    expect(statusOf(SHOP)).toMatchObject({
      nodeName: NODE,
      services: [
        { name: 'web', desired: 1, running: 1, healthy: 1, reason: '' },
        { name: 'api', desired: 1, running: 1, healthy: 1, reason: '' },
        { name: 'db', desired: 1, running: 1, healthy: 1, reason: '' },
      ],
      conditions: [{ type: 'Ready', status: 'True' }],
    });
    expect(reports.at(-1)!.metadata).toEqual({ namespace: NS, name: SHOP, uid: `uid-${SHOP}` });
    // api reached db by name when it started: db was already serving.
    const web = (await idOf(SHOP, 'web'))!;
    expect(await exec(web, ['wget', '-qO-', 'http://api:8080/db.txt'])).toEqual({ code: 0, out: 'db-ok' });
  });

  it('names and labels containers, network and volume as Docker Compose does', async () => {
    const db = await docker.getContainer((await idOf(SHOP, 'db'))!).inspect();
    expect(db.Name).toBe(`/${SHOP}-db-1`);
    expect(db.Config.Labels).toMatchObject({
      'com.docker.compose.project': SHOP,
      'com.docker.compose.service': 'db',
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.project.config_files': `persys:${NS}/${SHOP}`,
      'dev.persys.node': NODE,
      'dev.persys.kind': 'ComposeStack',
    });
    expect(db.Config.Labels).not.toHaveProperty('dev.persys.uid');
    const net = await docker.getNetwork(`${SHOP}_default`).inspect();
    expect(net.Labels).toMatchObject({ 'com.docker.compose.network': 'default', 'com.docker.compose.project': SHOP });
    const vol = await docker.getVolume(`${SHOP}_data`).inspect();
    expect(vol.Labels).toMatchObject({ 'com.docker.compose.volume': 'data', 'com.docker.compose.project': SHOP });
  });

  it('reports nothing new while nothing changes', async () => {
    await agent.reconcileNow();
    const before = reports.length;
    await agent.reconcileNow();
    await agent.reconcileNow();
    expect(reports.length).toBe(before);
  });

  it('recreates only the updated service, and web still reaches the new api by name', async () => {
    const before = Object.fromEntries(await Promise.all(['web', 'api', 'db'].map(async (s) => [s, await idOf(SHOP, s)])));
    agent.applyChange('UPSERT', stack(SHOP, SHOP_COMPOSE, { env: { VERSION: 'v2' } }));
    const newApi = await waitFor(async () => {
      const id = await idOf(SHOP, 'api');
      return id && id !== before.api ? id : undefined;
    }, 'api recreated', 30_000);
    expect(newApi).not.toBe(before.api);
    expect(await idOf(SHOP, 'web')).toBe(before.web);
    expect(await idOf(SHOP, 'db')).toBe(before.db);
    const web = before.web!;
    await waitFor(async () => (await exec(web, ['wget', '-qO-', 'http://api:8080/'])).out === 'api-v2', 'web reaches api-v2', 20_000);
  });

  it('keeps the named volume across a recreate of the service that mounts it', async () => {
    const oldDb = (await idOf(SHOP, 'db'))!;
    expect((await exec(oldDb, ['sh', '-c', 'echo persisted > /data/mark'])).code).toBe(0);
    agent.applyChange('UPSERT', stack(SHOP, SHOP_COMPOSE, { env: { VERSION: 'v2', DB_MODE: 'tuned' } }));
    // Created is not yet started: wait for the new container to run before exec'ing into it.
    const newDb = await waitFor(async () => {
      const id = await idOf(SHOP, 'db');
      return id && id !== oldDb && (await docker.getContainer(id).inspect()).State.Running ? id : undefined;
    }, 'db recreated and running', 30_000);
    expect(await exec(newDb, ['cat', '/data/mark'])).toEqual({ code: 0, out: 'persisted' });
    await waitFor(() => statusOf(SHOP)?.phase === 'Running', 'shop Running again', 30_000);
  });

  it('scales a service up and down by container number', async () => {
    const env = { VERSION: 'v2', DB_MODE: 'tuned' };
    agent.applyChange('UPSERT', stack(SHOP, SHOP_COMPOSE, { env, scale: { web: 3 } }));
    await waitFor(async () => byService(await agent.containersOf(NS, SHOP), 'web').length === 3, 'three web replicas', 30_000);
    expect(byService(await agent.containersOf(NS, SHOP), 'web').map((c) => c.number)).toEqual([1, 2, 3]);
    const [web1] = byService(await agent.containersOf(NS, SHOP), 'web');
    agent.applyChange('UPSERT', stack(SHOP, SHOP_COMPOSE, { env, scale: { web: 1 } }));
    await waitFor(async () => byService(await agent.containersOf(NS, SHOP), 'web').length === 1, 'one web replica', 30_000);
    expect(byService(await agent.containersOf(NS, SHOP), 'web')).toEqual([web1]);
  });

  it('brings back a container removed by hand', async () => {
    const api = (await idOf(SHOP, 'api'))!;
    await docker.getContainer(api).remove({ force: true });
    const back = await waitFor(async () => {
      const id = await idOf(SHOP, 'api');
      return id && id !== api && (await docker.getContainer(id).inspect()).State.Running ? id : undefined;
    }, 'api back and running', 30_000);
    expect(back).not.toBe(api);
  });

  it('reports a missing image and an invalid compose file without crash-looping', async () => {
    const side = stack(SIDE, `
services:
  ok:
    image: persys/busybox:test
    command: ["sleep", "3600"]
    volumes: [v:/v]
  broken:
    image: persys/none:missing
    pull_policy: never
volumes:
  v: {}
`, { removeVolumesOnDelete: true });
    const bad = stack(BAD, 'services:\n  web:\n    build: .\n');
    agent.applyChange('UPSERT', side);
    agent.applyChange('UPSERT', bad);
    await waitFor(() => statusOf(SIDE)?.phase === 'Degraded' && statusOf(SIDE).services[0].running === 1, 'side Degraded', 30_000);
    expect(statusOf(SIDE).services[1]).toEqual({
      name: 'broken',
      desired: 1,
      running: 0,
      healthy: 0,
      reason: 'ErrImageNeverPull: Container image "persys/none:missing" is not present with pull policy of Never',
    });
    expect(byService(await agent.containersOf(NS, SIDE), 'broken')).toEqual([]);
    await waitFor(() => statusOf(BAD)?.phase === 'Failed', 'bad Failed', 10_000);
    expect(statusOf(BAD).conditions[0]).toMatchObject({ type: 'Ready', status: 'False' });
    expect(statusOf(BAD).conditions[0].message).toMatch(/build/);
  });

  it('on DELETE removes containers and network, and volumes only when the stack asks', async () => {
    agent.applyChange('DELETE', stack(SIDE, '', { removeVolumesOnDelete: true }));
    await waitFor(async () => (await docker.listVolumes({ filters: { name: [`${SIDE}_v`] } })).Volumes?.length === 0, 'side volume removed', 30_000);
    expect(await agent.containersOf(NS, SIDE)).toEqual([]);
    expect(await docker.listNetworks({ filters: { name: [`${SIDE}_default`] } })).toEqual([]);
  });

  it("after a restart, takes down stacks no longer desired but keeps their volumes and other nodes' stacks", async () => {
    const other = new ComposeAgent({ node: `${NODE}-b`, docker, logger: silentLogger() });
    other.setDesired([stack(OTHER, 'services:\n  s:\n    image: persys/busybox:test\n    command: ["sleep", "3600"]\n')]);
    await other.reconcileNow();
    expect(await other.containersOf(NS, OTHER)).toHaveLength(1);

    await agent.stop();
    agent = new ComposeAgent({ node: NODE, docker, logger: silentLogger() });
    agent.setDesired([]);
    await agent.reconcileNow();
    expect(await agent.containersOf(NS, SHOP)).toEqual([]);
    expect(await docker.listNetworks({ filters: { name: [`${SHOP}_default`] } })).toEqual([]);
    expect((await docker.getVolume(`${SHOP}_data`).inspect()).Name).toBe(`${SHOP}_data`);
    const survivor = (await other.containersOf(NS, OTHER))[0]!;
    expect((await docker.getContainer(survivor.id).inspect()).State.Running).toBe(true);
  });
});
