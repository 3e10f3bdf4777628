// ConfigMaps and Secrets reaching real containers through NodeAgent and the real dockerd: files in a
// read-only mount that follow an update without a restart, file modes, envFrom, and a missing ConfigMap.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Resource } from '../lib/api/resource.js';
import { ensureDocker, TEST_IMAGE } from '../e2e/harness/docker.js';
import { NodeAgent } from './agent.js';
import { LABEL_NODE, LABEL_UID } from './docker/labels.js';
import { DockerRuntime } from './docker/runtime.js';

const NODE = `cfg-${randomUUID().slice(0, 8)}`;
const NS = 'cfgtest';
let docker: Dockerode;
let runtime: DockerRuntime;
let volumesDir: string;
const agents: NodeAgent[] = [];
const WAIT = { timeout: 30_000, interval: 200 };

const b64 = (s: string) => Buffer.from(s).toString('base64');
const meta = (name: string) => ({ name, namespace: NS, uid: randomUUID(), generation: 1 });

function configMap(name: string, data: Record<string, string>, binaryData?: Record<string, string>): Resource {
  return { apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: meta(name), data, ...(binaryData ? { binaryData } : {}) };
}

function secret(name: string, data: Record<string, string>): Resource {
  return { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: meta(name), type: 'Opaque', data };
}

function containerResource(name: string, spec: Record<string, unknown>): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: meta(name),
    spec: { image: TEST_IMAGE, command: ['sleep', '600'], ...spec },
  };
}

function newAgent(): { agent: NodeAgent; reports: Resource[] } {
  const agent = new NodeAgent({ node: NODE, runtime, resyncIntervalMs: 1_000, volumesDir });
  const reports: Resource[] = [];
  agent.attach((objs) => reports.push(...objs));
  agents.push(agent);
  return { agent, reports };
}

const containersOf = (uid: string) => docker.listContainers({ all: true, filters: { label: [`${LABEL_UID}=${uid}`] } });
const lastStatus = (reports: Resource[], uid: string) => reports.filter((r) => r.metadata.uid === uid).at(-1)?.status;

async function runningId(agent: NodeAgent, uid: string): Promise<string> {
  let id = '';
  await vi.waitFor(async () => {
    await agent.reconcileNow();
    const list = await containersOf(uid);
    expect(list.map((c) => c.State)).toEqual(['running']);
    id = list[0]!.Id;
  }, WAIT);
  return id;
}

async function sh(id: string, script: string) {
  return runtime.exec(id, ['sh', '-c', script]);
}

beforeAll(async () => {
  docker = await ensureDocker();
  runtime = new DockerRuntime({ docker, node: NODE });
  volumesDir = mkdtempSync(join(tmpdir(), 'persys-agent-volumes-'));
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});

afterAll(async () => {
  runtime?.close();
  if (docker) {
    const mine = await docker.listContainers({ all: true, filters: { label: [`${LABEL_NODE}=${NODE}`] } });
    await Promise.all(mine.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  }
  if (volumesDir) rmSync(volumesDir, { recursive: true, force: true });
});

describe('ConfigMaps and Secrets in real containers', () => {
  it('mounts ConfigMap and Secret files read-only with their modes, sets envFrom, and follows a ConfigMap change without a restart', async () => {
    const { agent, reports } = newAgent();
    agent.start();
    const app = configMap('app', { 'app.conf': 'greeting=hello\n' }, { 'logo.bin': Buffer.from([0, 0xff, 0x80, 0x0a]).toString('base64') });
    const db = secret('db', { password: b64('s3cret'), user: b64('admin') });
    const settings = configMap('settings', { LOG_LEVEL: 'debug', MODE: 'prod', 'not a var': 'x' });
    const web = containerResource('web', {
      volumes: [
        { mountPath: '/etc/app', configMap: { name: 'app' } },
        { mountPath: '/run/secrets/db', secret: { secretName: 'db', defaultMode: 0o400 }, readOnly: false },
        { mountPath: '/etc/pinned.conf', configMap: { name: 'app' }, subPath: 'app.conf' },
      ],
      envFrom: [{ prefix: 'APP_', configMapRef: { name: 'settings' } }, { secretRef: { name: 'db' } }],
      env: [{ name: 'APP_MODE', value: 'explicit' }],
    });
    agent.setDesired([app, db, settings, web]);
    const id = await runningId(agent, web.metadata.uid!);

    expect(await sh(id, 'cat /etc/app/app.conf')).toMatchObject({ exitCode: 0, stdout: 'greeting=hello\n' });
    expect((await sh(id, 'od -An -tx1 /etc/app/logo.bin')).stdout.trim()).toBe('00 ff 80 0a');
    expect(await sh(id, 'cat /run/secrets/db/password')).toMatchObject({ exitCode: 0, stdout: 's3cret' });
    expect((await sh(id, 'stat -L -c %a /run/secrets/db/password')).stdout.trim()).toBe('400');
    expect((await sh(id, 'stat -L -c %a /etc/app/app.conf')).stdout.trim()).toBe('644');
    // Read-only, even where the spec said readOnly: false.
    expect((await sh(id, 'echo x > /etc/app/new')).exitCode).not.toBe(0);
    expect((await sh(id, 'echo x > /run/secrets/db/new')).exitCode).not.toBe(0);

    const env = (await runtime.exec(id, ['env'])).stdout.split('\n');
    expect(env).toEqual(expect.arrayContaining(['APP_LOG_LEVEL=debug', 'APP_MODE=explicit', 'password=s3cret', 'user=admin']));
    expect(env.some((l) => l.includes('not a var'))).toBe(false);

    const startedAt = (await docker.getContainer(id).inspect()).State.StartedAt;
    agent.applyChange('UPSERT', { ...app, data: { 'app.conf': 'greeting=changed\n' } });
    await vi.waitFor(async () => {
      expect((await sh(id, 'cat /etc/app/app.conf')).stdout).toBe('greeting=changed\n');
    }, WAIT);
    await agent.reconcileNow();
    const after = await docker.getContainer(id).inspect();
    expect(after.State).toMatchObject({ Running: true, StartedAt: startedAt });
    expect(after.RestartCount).toBe(0);
    expect((await containersOf(web.metadata.uid!)).map((c) => c.Id)).toEqual([id]);
    expect(lastStatus(reports, web.metadata.uid!)).toMatchObject({ phase: 'Running', containerId: id, restartCount: 0 });
    // A subPath mount is a snapshot taken at create: it does not follow (as in Kubernetes).
    expect((await sh(id, 'cat /etc/pinned.conf')).stdout).toBe('greeting=hello\n');

    // Deleted: the container goes, and so do its files on the node.
    const uidDir = join(volumesDir, web.metadata.uid!);
    expect(existsSync(uidDir)).toBe(true);
    agent.applyChange('DELETE', web);
    await vi.waitFor(async () => {
      await agent.reconcileNow();
      expect(await containersOf(web.metadata.uid!)).toEqual([]);
      expect(existsSync(uidDir)).toBe(false);
    }, WAIT);
  });

  it('reports a missing ConfigMap as CreateContainerConfigError, creates nothing, and runs once the ConfigMap arrives', async () => {
    const { agent, reports } = newAgent();
    agent.start();
    const c = containerResource('needs-config', { volumes: [{ mountPath: '/etc/app', configMap: { name: 'later' } }] });
    agent.setDesired([c]);
    await vi.waitFor(async () => {
      await agent.reconcileNow();
      expect(lastStatus(reports, c.metadata.uid!)).toMatchObject({ phase: 'Pending', reason: 'CreateContainerConfigError' });
    }, WAIT);
    expect(lastStatus(reports, c.metadata.uid!)!.message).toBe(`volume /etc/app: ConfigMap ${NS}/later not found`);
    expect(await containersOf(c.metadata.uid!)).toEqual([]);

    agent.applyChange('UPSERT', configMap('later', { 'app.conf': 'arrived' }));
    const id = await runningId(agent, c.metadata.uid!);
    expect((await sh(id, 'cat /etc/app/app.conf')).stdout).toBe('arrived');
  });

  it('reports a missing envFrom Secret as CreateContainerConfigError naming it', async () => {
    const { agent, reports } = newAgent();
    agent.start();
    const c = containerResource('needs-secret', { envFrom: [{ secretRef: { name: 'absent' } }] });
    agent.setDesired([c]);
    await vi.waitFor(async () => {
      await agent.reconcileNow();
      expect(lastStatus(reports, c.metadata.uid!)).toMatchObject({
        phase: 'Pending',
        reason: 'CreateContainerConfigError',
        message: `envFrom[0]: Secret ${NS}/absent not found`,
      });
    }, WAIT);
    expect(await containersOf(c.metadata.uid!)).toEqual([]);
  });

  it('removes the volume files of uids that are not desired once the desired state is known', async () => {
    const stale = join(volumesDir, randomUUID());
    mkdirSync(join(stale, '0-configmap-old'), { recursive: true });
    const { agent } = newAgent();
    agent.start();
    await agent.reconcileNow();
    expect(existsSync(stale)).toBe(true); // no desired state yet: nothing is judged
    const keep = containerResource('kept', { volumes: [{ mountPath: '/etc/app', configMap: { name: 'kept' } }] });
    agent.setDesired([configMap('kept', { a: '1' }), keep]);
    await runningId(agent, keep.metadata.uid!);
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(volumesDir)).toContain(keep.metadata.uid);
  });
});
