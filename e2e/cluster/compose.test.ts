// A ComposeStack on the host's real dockerd (issue 5, Tests): web → api → db by service name, a named
// volume, a healthcheck gate; update, scale, healing, delete, and Debian's docker-compose seeing it as its own.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { eventually, TestCluster, type CliRun } from '../harness/cluster.js';
import { ensureDocker, removeNamespaceContainers, TEST_IMAGE } from '../harness/docker.js';

const run = promisify(execFile);
const NS = 'compose-e2e';
const NODE = 'compose-node';
const STACK = 'e2eshop';
// The project defaults to the stack's name; unique on this shared engine so cleanup touches only ours.
const PROJECT = STACK;
const PROJECT_LABEL = `com.docker.compose.project=${PROJECT}`;
const VOLUME = `${PROJECT}_dbdata`;
const NETWORK = `${PROJECT}_default`;

/**
 * db keeps a first-start id in the named volume and turns healthy ~2 s after it starts serving. api
 * counts its starts and exits unless db is already healthy: one start proves the service_healthy gate.
 */
function composeFile(webGreeting: string, dbRevision = '1'): string {
  return `services:
  web:
    image: ${TEST_IMAGE}
    environment:
      GREETING: ${webGreeting}
    depends_on: [api]
    command: [sh, -c, "mkdir -p /www; until wget -qO /www/id http://api:8080/id; do sleep 1; done; echo $$GREETING > /www/greeting; exec httpd -f -p 80 -h /www"]
  api:
    image: ${TEST_IMAGE}
    depends_on:
      db:
        condition: service_healthy
    command: [sh, -c, "mkdir -p /www; echo start >> /www/starts; wget -qO /www/ready http://db:5432/ready || exit 1; wget -qO /www/id http://db:5432/id || exit 1; exec httpd -f -p 8080 -h /www"]
  db:
    image: ${TEST_IMAGE}
    environment:
      REVISION: "${dbRevision}"
    volumes: [dbdata:/data]
    command: [sh, -c, "test -f /data/id || cat /proc/sys/kernel/random/uuid > /data/id; mkdir -p /srv; cp /data/id /srv/id; echo db serving $$(cat /data/id) revision $$REVISION; (sleep 2; touch /srv/ready) & exec httpd -f -p 5432 -h /srv"]
    healthcheck:
      test: [CMD, test, -f, /srv/ready]
      interval: 1s
      timeout: 2s
      retries: 30
volumes:
  dbdata: {}
`;
}

function manifest(compose: string, scale?: Record<string, number>): string {
  const indented = compose.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
  const scaleYaml = scale ? `  scale: ${JSON.stringify(scale)}\n` : '';
  return `apiVersion: persys.dev/v1
kind: ComposeStack
metadata: {name: ${STACK}, namespace: ${NS}}
spec:
${scaleYaml}  compose: |
${indented}
`;
}

let cluster: TestCluster;
let docker: Dockerode;
let workDir: string;

beforeAll(async () => {
  docker = await ensureDocker();
  workDir = mkdtempSync(join(tmpdir(), 'persys-compose-e2e-'));
  await removeProject(); // an interrupted earlier run
  cluster = await TestCluster.start({
    // A node name of its own: agents remove their node's labelled orphans, and other files share this engine.
    agents: [{ name: NODE, dockerHost: 'unix:///var/run/docker.sock' }],
  });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await removeNamespaceContainers([docker], NS);
  await removeProject();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 120_000);

async function removeProject(): Promise<void> {
  if (!docker) return;
  const filters = { label: [PROJECT_LABEL] };
  const cs = await docker.listContainers({ all: true, filters });
  await Promise.all(cs.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
}

// The namespace flag goes right after the command: everything after exec's `--` is the command to run.
const persys = ([command, ...rest]: string[], input?: string): Promise<CliRun> => cluster.persys([command!, '-n', NS, ...rest], input);

function expectRun(r: CliRun, what: string): void {
  expect(r.code, `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\n${cluster.logs()}`).toBe(0);
}

/** `persys apply -f FILE`, the file written to disk as a user would. */
async function applyStack(yaml: string): Promise<void> {
  const file = join(workDir, 'stack.yaml');
  writeFileSync(file, yaml);
  expectRun(await persys(['apply', '-f', file]), 'persys apply');
}

interface ProjectContainer {
  id: string;
  name: string;
  service: string;
  number: string;
  state: string;
  health?: string;
}

async function projectContainers(): Promise<ProjectContainer[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [PROJECT_LABEL] } });
  return list
    .map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      service: c.Labels['com.docker.compose.service'] ?? '',
      number: c.Labels['com.docker.compose.container-number'] ?? '',
      state: c.State,
      health: /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1],
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const byName = (cs: ProjectContainer[]) => Object.fromEntries(cs.map((c) => [c.name, c.id]));

const getStack = () => cluster.client.get('ComposeStack', STACK, NS);

const withLogs = async <T>(p: Promise<T>): Promise<T> => {
  try {
    return await p;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${cluster.logs()}`);
  }
};

/** The stack's status says every service has `want[service]` running at the current generation. */
function converged(s: Resource, want: Record<string, number>): boolean {
  const services: { name: string; desired: number; running: number }[] = s.status?.services ?? [];
  return (
    s.status?.phase === 'Running' &&
    Number(s.status?.observedGeneration) === Number(s.metadata.generation) &&
    services.length === Object.keys(want).length &&
    services.every((x) => want[x.name] === x.desired && x.running === x.desired)
  );
}

/** Waits for the status and for Docker to agree: exactly the wanted containers of each service, all running. */
async function waitConverged(want: Record<string, number>, what: string): Promise<ProjectContainer[]> {
  await withLogs(eventually(`status of ${STACK} to show ${what}`, getStack, (s) => converged(s, want), 120_000, 500));
  const expected = Object.entries(want).flatMap(([svc, n]) => Array.from({ length: n }, (_, i) => `${PROJECT}-${svc}-${i + 1}`)).sort();
  return withLogs(
    eventually(
      `Docker to run exactly ${expected.join(', ')}`,
      projectContainers,
      (cs) => JSON.stringify(cs.map((c) => c.name)) === JSON.stringify(expected) && cs.every((c) => c.state === 'running'),
      60_000,
      500,
    ),
  );
}

/** Runs a command in a service's first container through Docker itself. */
const exec = async (service: string, command: string[]): Promise<string> =>
  (await run('docker', ['exec', `${PROJECT}-${service}-1`, ...command], { timeout: 30_000 })).stdout;

const volumeId = async (): Promise<string> => (await exec('db', ['cat', '/data/id'])).trim();

let firstDbId = '';
let upIds: Record<string, string> = {};

describe('ComposeStack on a real Docker engine', () => {
  it('brings web → api → db up in dependency order, each reaching the next by service name', async () => {
    await applyStack(manifest(composeFile('hello')));
    const cs = await waitConverged({ web: 1, api: 1, db: 1 }, 'web, api and db running');
    upIds = byName(cs);
    expect(cs.find((c) => c.service === 'db')!.health).toBe('healthy');

    const stack = await getStack();
    expect(stack.spec.nodeName).toBe(NODE);
    expect(stack.status.services.map((s: { name: string; healthy: number }) => [s.name, s.healthy]).sort()).toEqual([['api', 1], ['db', 1], ['web', 1]]);

    // api fetched db's id over the project network, and web fetched it again from api.
    firstDbId = await volumeId();
    expect(firstDbId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await exec('api', ['cat', '/www/id'])).trim()).toBe(firstDbId);
    await withLogs(eventually('web to have fetched the id from api', () => exec('web', ['cat', '/www/id']), (o) => o.trim() === firstDbId, 60_000, 1_000));
    expect((await exec('web', ['wget', '-qO-', 'http://api:8080/id'])).trim()).toBe(firstDbId);
    // api exits when db is not yet healthy; had it not been held back, it would have started more than once.
    expect((await exec('api', ['cat', '/www/starts'])).trim().split('\n')).toEqual(['start']);

    const net = await docker.getNetwork(NETWORK).inspect();
    expect(net.Labels?.['com.docker.compose.project']).toBe(PROJECT);
    expect(net.Labels?.['com.docker.compose.network']).toBe('default');
    const vol = await docker.getVolume(VOLUME).inspect();
    expect(vol.Labels['com.docker.compose.volume']).toBe('dbdata');
  }, 240_000);

  it("is listed by Debian's docker-compose ps as the project's own containers", async () => {
    const file = join(workDir, 'docker-compose.yml');
    writeFileSync(file, composeFile('hello'));
    const { stdout } = await run('docker-compose', ['-p', PROJECT, '-f', file, 'ps'], { timeout: 60_000 });
    const rows = stdout.split('\n').filter((l) => l.startsWith(`${PROJECT}-`));
    expect(rows.map((l) => l.split(/\s+/)[0]).sort()).toEqual([`${PROJECT}-api-1`, `${PROJECT}-db-1`, `${PROJECT}-web-1`]);
    for (const row of rows) expect(row).toMatch(/\bUp\b/);
    expect(rows.find((l) => l.startsWith(`${PROJECT}-db-1`))).toMatch(/Up \(healthy\)/);

    const services = await run('docker-compose', ['-p', PROJECT, '-f', file, 'ps', '--services', '--filter', 'status=running'], { timeout: 60_000 });
    expect(services.stdout.trim().split('\n').sort()).toEqual(['api', 'db', 'web']);
  }, 120_000);

  it("recreates only web when web's environment changes, and db's volume keeps its content", async () => {
    await applyStack(manifest(composeFile('bonjour')));
    await withLogs(
      eventually('web to be recreated', projectContainers, (cs) => cs.some((c) => c.name === `${PROJECT}-web-1` && c.id !== upIds[`${PROJECT}-web-1`]), 90_000, 500),
    );
    const cs = await waitConverged({ web: 1, api: 1, db: 1 }, 'web recreated');
    const ids = byName(cs);
    expect(ids[`${PROJECT}-api-1`]).toBe(upIds[`${PROJECT}-api-1`]);
    expect(ids[`${PROJECT}-db-1`]).toBe(upIds[`${PROJECT}-db-1`]);
    expect(ids[`${PROJECT}-web-1`]).not.toBe(upIds[`${PROJECT}-web-1`]);
    await withLogs(eventually("new web's greeting", () => exec('web', ['cat', '/www/greeting']), (o) => o.trim() === 'bonjour', 60_000, 1_000));
    expect(await volumeId()).toBe(firstDbId);
    upIds = ids;
  }, 180_000);

  it('keeps the named volume across a recreate of db itself', async () => {
    await applyStack(manifest(composeFile('bonjour', '2')));
    await withLogs(
      eventually('db to be recreated', projectContainers, (cs) => cs.some((c) => c.name === `${PROJECT}-db-1` && c.id !== upIds[`${PROJECT}-db-1`]), 90_000, 500),
    );
    const ids = byName(await waitConverged({ web: 1, api: 1, db: 1 }, 'db recreated'));
    expect(ids[`${PROJECT}-db-1`]).not.toBe(upIds[`${PROJECT}-db-1`]);
    expect(ids[`${PROJECT}-web-1`]).toBe(upIds[`${PROJECT}-web-1`]);
    // The new db found the id the first one wrote, rather than writing its own.
    expect(await volumeId()).toBe(firstDbId);
    upIds = ids;
  }, 180_000);

  it('scales web to 3 through spec.scale as numbered replicas, leaving the others alone', async () => {
    await applyStack(manifest(composeFile('bonjour', '2'), { web: 3 }));
    const cs = await waitConverged({ web: 3, api: 1, db: 1 }, 'web scaled to 3');
    const ids = byName(cs);
    expect(cs.filter((c) => c.service === 'web').map((c) => [c.name, c.number])).toEqual([
      [`${PROJECT}-web-1`, '1'],
      [`${PROJECT}-web-2`, '2'],
      [`${PROJECT}-web-3`, '3'],
    ]);
    for (const n of ['web-1', 'api-1', 'db-1']) expect(ids[`${PROJECT}-${n}`]).toBe(upIds[`${PROJECT}-${n}`]);
    upIds = ids;
  }, 180_000);

  it('brings back a container removed by hand', async () => {
    const victim = `${PROJECT}-web-2`;
    await docker.getContainer(upIds[victim]!).remove({ force: true });
    const cs = await withLogs(
      eventually(`${victim} to come back`, projectContainers, (l) => l.some((c) => c.name === victim && c.state === 'running' && c.id !== upIds[victim]), 90_000, 500),
    );
    expect(cs.filter((c) => c.service === 'web')).toHaveLength(3);
    await waitConverged({ web: 3, api: 1, db: 1 }, `${victim} healed`);
  }, 180_000);

  it("runs a command in a service's container through persys exec --service", async () => {
    const r = await persys(['exec', `composestack/${STACK}`, '--service', 'api', '--', 'cat', '/www/id']);
    expectRun(r, 'exec --service api');
    expect(r.stdout.trim()).toBe(firstDbId);
  }, 60_000);

  it('shows READY 3/3 in get composestacks and each service in wide output', async () => {
    const got = await persys(['get', 'composestacks']);
    expectRun(got, 'get composestacks');
    const [header, row] = got.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+READY\s+STATUS\s+NODE\s+AGE$/);
    expect(row!.split(/\s{2,}/).slice(0, 4)).toEqual([STACK, '3/3', 'Running', NODE]);

    const wide = await persys(['get', 'composestacks', '-o', 'wide']);
    expectRun(wide, 'get composestacks -o wide');
    expect(wide.stdout).toMatch(/web 3\/3/);
    expect(wide.stdout).toMatch(/api 1\/1/);
    expect(wide.stdout).toMatch(/db 1\/1/);
  }, 60_000);

  it("prints db's logs prefixed db-1 with --service db", async () => {
    const r = await persys(['logs', `composestack/${STACK}`, '--service', 'db']);
    expectRun(r, 'logs --service db');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^db-1\s*\| /);
    expect(lines).toContain(`db-1 | db serving ${firstDbId} revision 2`);
  }, 60_000);

  it('takes the containers and the network down on delete and keeps the volume', async () => {
    const del = await persys(['delete', 'composestack', STACK]);
    expectRun(del, 'delete composestack');
    await withLogs(eventually('the project containers to be gone', projectContainers, (cs) => cs.length === 0, 90_000, 500));
    await withLogs(
      eventually('the project network to be gone', () => docker.listNetworks({ filters: { label: [PROJECT_LABEL] } }), (ns) => ns.length === 0, 60_000, 500),
    );
    await withLogs(
      eventually('the ComposeStack to be gone from the API', () => cluster.client.list('ComposeStack', { namespace: NS }), (l) => l.items.length === 0, 60_000, 500),
    );
    const vol = await docker.getVolume(VOLUME).inspect();
    expect(vol.Labels['com.docker.compose.project']).toBe(PROJECT);
  }, 180_000);
});
