// Real applications on a cluster of real processes: images pulled from a real registry with htpasswd
// auth (Debian's docker-registry on loopback) under each pull policy, registry credentials that never
// reach a log, and ConfigMaps and Secrets given to running containers as files and env.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import type { Resource } from '../../lib/api/resource.js';
import { ensureDocker, removeNamespaceContainers } from '../harness/docker.js';
import { eventually, TestCluster } from '../harness/cluster.js';
import { buildSizedImage, startRegistry, type TestRegistry } from '../harness/registry.js';

const NS = 'img';
const USER = 'alice';
const PASSWORD = 'pw-8f3c1e77';
const WRONG_PASSWORD = 'pw-wrong-51d0a9';
const REPO = 'private/busybox';

let cluster: TestCluster;
let docker: Dockerode;
let registry: TestRegistry;
const pulledRefs: string[] = [];

beforeAll(async () => {
  docker = await ensureDocker();
  registry = await startRegistry({ auth: { username: USER, password: PASSWORD } });
  // Debug logs: the check that no credential is ever logged must look at everything the processes say.
  cluster = await TestCluster.start({ agents: [{ name: 'node-img', dockerHost: 'unix:///var/run/docker.sock' }], logLevel: 'debug' });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
  const created = await cluster.persys([
    'create', 'secret', 'docker-registry', 'regcred', '-n', NS,
    `--docker-server=${registry.address}`, `--docker-username=${USER}`, `--docker-password=${PASSWORD}`,
  ]);
  expect(created.code, created.stderr).toBe(0);
  const bad = await cluster.persys([
    'create', 'secret', 'docker-registry', 'badcred', '-n', NS,
    `--docker-server=${registry.address}`, `--docker-username=${USER}`, `--docker-password=${WRONG_PASSWORD}`,
  ]);
  expect(bad.code, bad.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await removeNamespaceContainers([docker], NS);
  for (const ref of pulledRefs) await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
  await registry?.stop();
}, 120_000);

/** Pushes the test image (or `source`) as REPO:tag and remembers to remove what nodes pulled. */
async function push(tag: string, source?: string): Promise<string> {
  const ref = await registry.push(REPO, tag, source);
  pulledRefs.push(ref);
  return ref;
}

const container = (name: string, spec: Record<string, unknown>): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: NS },
  spec: { command: ['sh', '-c', 'exec sleep 3600'], ...spec },
});

const get = (name: string) => cluster.client.get('Container', name, NS);
const reasonIs = (...reasons: string[]) => (c: Resource) => reasons.includes(c.status?.reason);

async function waitRunning(name: string, timeoutMs = 90_000): Promise<Resource> {
  return eventually(`${name} to run`, () => get(name), (c) => c.status?.phase === 'Running' && !!c.status?.containerId, timeoutMs);
}

async function exec(name: string, script: string): Promise<string> {
  const r = await cluster.persys(['exec', `container/${name}`, '-n', NS, '--', 'sh', '-c', script]);
  if (r.code !== 0) throw new Error(`exec in ${name} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

describe('image pulls from a private registry', () => {
  it('runs a private image with the right pull secret and records its digest, after showing the pull', async () => {
    const ref = await push('v1', await sizedImage('sized-v1', 24 * 1024 * 1024));
    const seen: Resource[] = [];
    const ctl = new AbortController();
    const watching = (async () => {
      for await (const ev of cluster.client.watch('Container', { namespace: NS, signal: ctl.signal })) {
        if (ev.object?.metadata?.name === 'private-ok') seen.push(ev.object);
      }
    })().catch(() => undefined);
    await cluster.client.apply(container('private-ok', { image: ref, imagePullSecrets: [{ name: 'regcred' }] }));
    const running = await waitRunning('private-ok');
    ctl.abort();
    await watching;
    expect(running.status.imageId).toMatch(new RegExp(`^${registry.address}/${REPO}@sha256:[0-9a-f]{64}$`));
    const pulling = seen.filter((c) => c.status?.reason === 'Pulling');
    expect(pulling.length).toBeGreaterThan(0);
    expect(pulling[0]!.status.phase).toBe('Pending');
    expect(pulling[0]!.status.imagePull?.image).toBe(ref);
    const describe = await cluster.persys(['describe', 'container', 'private-ok', '-n', NS]);
    expect(describe.stdout).toContain(running.status.imageId);
  });

  it('reports ErrImagePull with the registry\'s "unauthorized" for a wrong password, then ImagePullBackOff, and logs no password', async () => {
    const ref = await push('v-bad');
    await cluster.client.apply(container('private-bad', { image: ref, imagePullSecrets: [{ name: 'badcred' }] }));
    const failed = await eventually('ErrImagePull', () => get('private-bad'), reasonIs('ErrImagePull'));
    expect(failed.status.phase).toBe('Pending');
    expect(failed.status.message).toMatch(/unauthorized/i);
    const backoff = await eventually('ImagePullBackOff', () => get('private-bad'), reasonIs('ImagePullBackOff'));
    expect(backoff.status.message).toMatch(/unauthorized/i);
    expect(await dockerCopies('private-bad')).toBe(0);

    const events = await cluster.persys(['get', 'events', '-n', NS, '-o', 'json']);
    const described = await cluster.persys(['describe', 'container', 'private-bad', '-n', NS]);
    for (const text of [cluster.allOutput(), events.stdout, described.stdout, JSON.stringify(backoff)]) {
      expect(text).not.toContain(WRONG_PASSWORD);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(Buffer.from(`${USER}:${WRONG_PASSWORD}`).toString('base64'));
    }
  });

  it('says so when the tag does not exist', async () => {
    await cluster.client.apply(container('no-tag', { image: `${registry.address}/${REPO}:no-such-tag`, imagePullSecrets: [{ name: 'regcred' }] }));
    const failed = await eventually('ErrImagePull', () => get('no-tag'), reasonIs('ErrImagePull', 'ImagePullBackOff'));
    expect(failed.status.message).toMatch(/manifest unknown|not found/i);
    expect(failed.status.message).toContain('no-such-tag');
  });

  it('pulls :latest again under Always (the default for :latest) when it was pushed again', async () => {
    const ref = await push('latest', await sizedImage('latest-a', 1024));
    await cluster.client.apply(container('latest-a', { image: ref, imagePullSecrets: [{ name: 'regcred' }] }));
    const first = await waitRunning('latest-a');
    await push('latest', await sizedImage('latest-b', 2048));
    await cluster.client.apply(container('latest-b', { image: ref, imagePullSecrets: [{ name: 'regcred' }] }));
    const second = await waitRunning('latest-b');
    expect(second.status.imageId).not.toBe(first.status.imageId);
    expect(registry.manifestPulls(REPO, 'latest')).toBeGreaterThanOrEqual(2);
  });

  it('refuses a missing image under Never without asking the registry', async () => {
    const before = registry.requests().length;
    await cluster.client.apply(
      container('never', { image: `${registry.address}/${REPO}:never-pushed`, imagePullPolicy: 'Never' }),
    );
    const failed = await eventually('ErrImageNeverPull', () => get('never'), reasonIs('ErrImageNeverPull'));
    expect(failed.status.message).toContain('Never');
    expect(registry.requests().slice(before).filter((r) => r.path.includes('never-pushed'))).toEqual([]);
  });

  it('pulls a changed image before it replaces the running container', async () => {
    const v1 = await push('roll-1');
    await cluster.client.apply(container('roll', { image: v1, imagePullSecrets: [{ name: 'regcred' }] }));
    const running = await waitRunning('roll');
    const v2 = `${registry.address}/${REPO}:roll-2`;
    // The new tag is not pushed yet: the pull fails, and the old container must keep running meanwhile.
    await cluster.client.apply(container('roll', { image: v2, imagePullSecrets: [{ name: 'regcred' }] }));
    await eventually('the new image to fail to pull', () => get('roll'), reasonIs('ErrImagePull', 'ImagePullBackOff'));
    const old = await docker.getContainer(running.status.containerId).inspect();
    expect(old.State.Running).toBe(true);
    await push('roll-2', await sizedImage('roll-2', 4096));
    const replaced = await eventually(
      'the container to run the new image',
      () => get('roll'),
      (c) => c.status?.phase === 'Running' && c.status.containerId !== running.status.containerId && (c.status.imageId ?? '').includes(REPO),
      120_000,
    );
    expect(replaced.status.containerId).not.toBe(running.status.containerId);
  }, 180_000);
});

describe('config files and env from ConfigMaps and Secrets', () => {
  it('mounts a ConfigMap as files that follow its changes without a restart, and reads env from it', async () => {
    await cluster.client.apply({
      apiVersion: 'persys.dev/v1',
      kind: 'ConfigMap',
      metadata: { name: 'app-config', namespace: NS },
      data: { 'app.conf': 'color=blue\n', GREETING: 'hello' },
    });
    await cluster.client.apply({
      apiVersion: 'persys.dev/v1',
      kind: 'Secret',
      metadata: { name: 'app-secret', namespace: NS },
      type: 'Opaque',
      stringData: { 'tls.key': 'KEY-DATA' },
    });
    await cluster.client.apply(
      container('config-reader', {
        image: 'persys/busybox:test',
        envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'APP_' }],
        env: [{ name: 'ONE', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'GREETING' } } }],
        volumes: [
          { mountPath: '/etc/app', configMap: { name: 'app-config' } },
          { mountPath: '/etc/tls', secret: { secretName: 'app-secret', defaultMode: 0o400 } },
        ],
      }),
    );
    const running = await waitRunning('config-reader');
    expect(await exec('config-reader', 'cat /etc/app/app.conf')).toBe('color=blue\n');
    expect(await exec('config-reader', 'echo "$APP_GREETING $ONE"')).toBe('hello hello\n');
    expect(await exec('config-reader', 'cat /etc/tls/tls.key; stat -L -c " %a" /etc/tls/tls.key')).toBe('KEY-DATA 400\n');
    expect(await exec('config-reader', 'touch /etc/app/x 2>/dev/null && echo writable || echo read-only')).toBe('read-only\n');

    const cm = await cluster.client.get('ConfigMap', 'app-config', NS);
    await cluster.client.update({ ...cm, data: { 'app.conf': 'color=green\n', GREETING: 'hello' } });
    await eventually('the new file content in the running container', () => exec('config-reader', 'cat /etc/app/app.conf'), (t) => t === 'color=green\n', 90_000);
    const after = await get('config-reader');
    expect(after.status.containerId).toBe(running.status.containerId);
    expect(after.status.restartCount ?? 0).toBe(0);
  });
});

describe('ComposeStacks', () => {
  it('pulls a private image with the stack\'s pull secret and mounts its configs, secrets and env_file', async () => {
    const ref = await push('stack-1');
    await cluster.client.apply({
      apiVersion: 'persys.dev/v1',
      kind: 'ConfigMap',
      metadata: { name: 'stack-config', namespace: NS },
      data: { 'app.conf': 'mode=one\n' },
    });
    await cluster.client.apply({
      apiVersion: 'persys.dev/v1',
      kind: 'Secret',
      metadata: { name: 'stack-secret', namespace: NS },
      type: 'Opaque',
      stringData: { password: 'stack-pw' },
    });
    const compose = `services:
  web:
    image: ${ref}
    pull_policy: always
    command: [sh, -c, "exec sleep 3600"]
    env_file: ./web.env
    configs:
      - source: app
        target: /etc/app.conf
    secrets: [db_password]
configs:
  app: {external: true, name: stack-config}
secrets:
  db_password: {external: true, name: stack-secret}
`;
    const reasons: string[] = [];
    const ctl = new AbortController();
    const watching = (async () => {
      for await (const ev of cluster.client.watch('ComposeStack', { namespace: NS, signal: ctl.signal })) {
        for (const svc of ev.object?.status?.services ?? []) reasons.push(svc.reason);
      }
    })().catch(() => undefined);
    await cluster.client.apply({
      apiVersion: 'persys.dev/v1',
      kind: 'ComposeStack',
      metadata: { name: 'shop', namespace: NS },
      spec: { compose, imagePullSecrets: [{ name: 'regcred' }], files: { 'web.env': 'GREETING=from-env-file\n' } },
    });
    await eventually(
      'the stack to run',
      () => cluster.client.get('ComposeStack', 'shop', NS),
      (s) => s.status?.phase === 'Running',
      120_000,
    );
    ctl.abort();
    await watching;
    expect(reasons.some((r) => r.startsWith(`Pulling image "${ref}"`))).toBe(true);
    const inStack = async (script: string) => {
      const r = await cluster.persys(['exec', 'composestack/shop', '-n', NS, '--service', 'web', '--', 'sh', '-c', script]);
      if (r.code !== 0) throw new Error(`exec exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    };
    expect(await inStack('cat /etc/app.conf')).toBe('mode=one\n');
    expect(await inStack('cat /run/secrets/db_password; echo')).toBe('stack-pw\n');
    expect(await inStack('echo $GREETING')).toBe('from-env-file\n');
    expect(registry.manifestPulls(REPO, 'stack-1')).toBeGreaterThanOrEqual(1);

    const cm = await cluster.client.get('ConfigMap', 'stack-config', NS);
    await cluster.client.update({ ...cm, data: { 'app.conf': 'mode=two\n' } });
    await eventually('the new config in the running service', () => inStack('cat /etc/app.conf'), (t) => t === 'mode=two\n', 60_000);
    await cluster.client.delete('ComposeStack', 'shop', NS);
  }, 180_000);
});

async function dockerCopies(name: string): Promise<number> {
  const list = await docker.listContainers({ all: true, filters: { label: [`dev.persys.name=${name}`, `dev.persys.namespace=${NS}`] } });
  return list.length;
}

/** A local image of the test image plus `bytes` of random data, named for this test file. */
async function sizedImage(name: string, bytes: number): Promise<string> {
  const ref = `persys-e2e-images/${name}:local`;
  await buildSizedImage(ref, bytes);
  pulledRefs.push(ref);
  return ref;
}
