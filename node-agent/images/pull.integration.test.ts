// Image pulls end to end on this node: a NodeAgent on the real dockerd pulls from a real registry
// (distribution with htpasswd auth) with the credentials of its Secrets, reports ErrImagePull and
// ImagePullBackOff with the registry's words and no password, pulls :latest again under Always, never
// asks the registry under Never, shares one pull between concurrent requests, and pulls before a recreate.
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import Dockerode from 'dockerode';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { dockerConfigJson, DOCKER_CONFIG_JSON_KEY, DOCKER_CONFIG_JSON_TYPE } from '../../lib/registry/credentials.js';
import { ensureDocker, TEST_IMAGE } from '../../e2e/harness/docker.js';
import { buildSizedImage, startRegistry, type TestRegistry } from '../../e2e/harness/registry.js';
import { NodeAgent } from '../agent.js';
import { decodeJsonLines } from '../docker/events.js';
import { LABEL_NODE, LABEL_UID } from '../docker/labels.js';
import { DockerRuntime } from '../docker/runtime.js';
import { ImagePuller } from './puller.js';

const NODE = `pull-${randomUUID().slice(0, 8)}`;
const NS = 'pulltest';
const USER = 'alice';
const PASSWORD = 's3cret';
const WRONG_PASSWORD = 'not-the-Passw0rd';

let docker: Dockerode;
let runtime: DockerRuntime;
let registry: TestRegistry;
const agents: NodeAgent[] = [];
/** Image references this file makes the engine hold; removed at the end (the engine is shared). */
const images = new Set<string>();

function pullSecret(name: string, password: string): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Secret',
    metadata: { name, namespace: NS, uid: randomUUID() },
    type: DOCKER_CONFIG_JSON_TYPE,
    data: { [DOCKER_CONFIG_JSON_KEY]: Buffer.from(dockerConfigJson(registry.address, USER, password)).toString('base64') },
  } as Resource;
}

function containerResource(name: string, image: string, spec: Record<string, unknown> = {}): Resource {
  // Only what this file pulls: the shared test image must stay.
  if (image.startsWith(`${registry.address}/`)) images.add(image);
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace: NS, uid: randomUUID(), generation: 1 },
    spec: { image, command: ['sleep', '600'], imagePullSecrets: [{ name: 'regcred' }], ...spec },
  };
}

/** An agent whose pino output is kept, to search it for credentials. */
function newAgent(): { agent: NodeAgent; reports: Resource[]; logs: string[] } {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const agent = new NodeAgent({ node: NODE, runtime, resyncIntervalMs: 1_000, logger: pino({ level: 'debug' }, sink) });
  const reports: Resource[] = [];
  agent.attach((objs) => reports.push(...objs));
  agents.push(agent);
  agent.start();
  return { agent, reports, logs };
}

const statusesOf = (reports: Resource[], uid: string) => reports.filter((r) => r.metadata.uid === uid).map((r) => r.status);

async function containersOf(uid: string) {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL_UID}=${uid}`] } });
}

async function waitRunning(agent: NodeAgent, reports: Resource[], c: Resource) {
  await vi.waitFor(
    async () => {
      await agent.reconcileNow();
      expect(statusesOf(reports, c.metadata.uid!).at(-1)).toMatchObject({ phase: 'Running' });
    },
    { timeout: 60_000, interval: 250 },
  );
  return statusesOf(reports, c.metadata.uid!).at(-1)!;
}

/**
 * Manifest requests by tag that succeeded: one per pull. The engine GETs the manifest, or only HEADs it
 * when it holds that content already (the harness's manifestPulls counts GETs alone).
 */
function manifestFetches(repository: string, tag: string): number {
  return registry
    .requests()
    .filter((r) => (r.method === 'GET' || r.method === 'HEAD') && r.status === 200 && r.path === `/v2/${repository}/manifests/${tag}`).length;
}

async function repoDigest(ref: string): Promise<string> {
  const repo = ref.slice(0, ref.lastIndexOf(':'));
  const info = await docker.getImage(ref).inspect();
  return info.RepoDigests.find((d) => d.startsWith(`${repo}@`))!;
}

beforeAll(async () => {
  docker = await ensureDocker();
  runtime = new DockerRuntime({ docker, node: NODE });
  registry = await startRegistry({ auth: { username: USER, password: PASSWORD } });
}, 180_000);

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});

afterAll(async () => {
  runtime?.close();
  if (docker) {
    const mine = await docker.listContainers({ all: true, filters: { label: [`${LABEL_NODE}=${NODE}`] } });
    await Promise.all(mine.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    for (const ref of images) if (ref !== TEST_IMAGE) await docker.getImage(ref).remove().catch(() => undefined);
    // Digest references left on images whose tag moved on (the test image itself stays: only untagged).
    if (registry) {
      for (const img of await docker.listImages()) {
        for (const d of img.RepoDigests ?? []) {
          if (d.startsWith(`${registry.address}/`)) await docker.getImage(d).remove().catch(() => undefined);
        }
      }
    }
  }
  await registry?.stop();
});

describe('image pulls from a real registry', () => {
  it('pulls a private image with the right Secret, reports Pulling, and runs it with status.imageId the repo digest', async () => {
    const ref = await registry.push('private/busybox', 'v1');
    const { agent, reports } = newAgent();
    const c = containerResource('right', ref);
    agent.setDesired([pullSecret('regcred', PASSWORD), c]);
    const running = await waitRunning(agent, reports, c);
    expect(statusesOf(reports, c.metadata.uid!).some((s) => s.reason === 'Pulling' && s.message === `pulling image "${ref}"`)).toBe(true);
    expect(running.imageId).toBe(await repoDigest(ref));
    expect(running.imageId).toMatch(new RegExp(`^${registry.address}/private/busybox@sha256:[0-9a-f]{64}$`));
    expect((await containersOf(c.metadata.uid!)).map((x) => x.State)).toEqual(['running']);
  });

  it('with a wrong password: ErrImagePull saying unauthorized, then ImagePullBackOff, and the password in no status and no log line', async () => {
    const ref = await registry.push('private/busybox', 'wrongpw');
    const { agent, reports, logs } = newAgent();
    const c = containerResource('wrong', ref);
    agent.setDesired([pullSecret('regcred', WRONG_PASSWORD), c]);
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        const all = statusesOf(reports, c.metadata.uid!);
        const err = all.findIndex((s) => s.reason === 'ErrImagePull');
        expect(err).toBeGreaterThanOrEqual(0);
        expect(all[err].phase).toBe('Pending');
        expect(all[err].message).toContain('unauthorized');
        const backOff = all.findIndex((s, i) => i > err && s.reason === 'ImagePullBackOff');
        expect(backOff).toBeGreaterThan(err);
        expect(all[backOff].message).toMatch(new RegExp(`^Back-off pulling image "${ref}": .*unauthorized`));
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(await containersOf(c.metadata.uid!)).toEqual([]);
    const secretForms = [WRONG_PASSWORD, Buffer.from(`${USER}:${WRONG_PASSWORD}`).toString('base64')];
    const everything = JSON.stringify(reports) + logs.join('');
    expect(logs.some((l) => l.includes('image pull failed'))).toBe(true);
    for (const s of secretForms) expect(everything).not.toContain(s);
  });

  it('pulls anonymously when the pull secret is missing, with a warning naming only the Secret', async () => {
    const ref = await registry.push('private/busybox', 'nosecret');
    const { agent, reports, logs } = newAgent();
    const c = containerResource('nosecret', ref, { imagePullSecrets: [{ name: 'absent' }] });
    agent.setDesired([pullSecret('regcred', PASSWORD), c]);
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        // The registry wants credentials: anonymous is refused.
        expect(statusesOf(reports, c.metadata.uid!).find((s) => s.reason === 'ErrImagePull')?.message).toMatch(/no basic auth credentials|unauthorized/);
      },
      { timeout: 30_000, interval: 250 },
    );
    const warning = logs.find((l) => l.includes('image pull secret not found'));
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, secret: `${NS}/absent` });
  });

  it('a pull that hangs holds no worker: with one worker, another Container is created and runs meanwhile', async () => {
    // A "registry" that accepts connections and never answers.
    const sockets: Socket[] = [];
    const silent = createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const agent = new NodeAgent({ node: NODE, runtime, concurrency: 1, resyncIntervalMs: 1_000 });
    const reports: Resource[] = [];
    agent.attach((objs) => reports.push(...objs));
    agents.push(agent);
    agent.start();
    try {
      const hanging = containerResource('hanging', `127.0.0.1:${port}/stuck/app:1`);
      const local = containerResource('local', TEST_IMAGE, { imagePullPolicy: 'IfNotPresent' });
      agent.setDesired([hanging]);
      await vi.waitFor(() => expect(statusesOf(reports, hanging.metadata.uid!).at(-1)).toMatchObject({ reason: 'Pulling' }), {
        timeout: 20_000,
        interval: 100,
      });
      agent.setDesired([hanging, local]);
      await waitRunning(agent, reports, local);
      expect(statusesOf(reports, hanging.metadata.uid!).at(-1)).toMatchObject({ phase: 'Pending', reason: 'Pulling' });
      expect(agent.puller.inFlight()).toBe(1);
    } finally {
      await agent.stop();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('says so when the tag does not exist (manifest unknown)', async () => {
    const { agent, reports } = newAgent();
    const ref = `${registry.address}/private/busybox:nope`;
    const c = containerResource('notag', ref);
    agent.setDesired([pullSecret('regcred', PASSWORD), c]);
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        const s = statusesOf(reports, c.metadata.uid!).find((x) => x.reason === 'ErrImagePull');
        expect(s?.message).toMatch(/manifest unknown|not found/);
        expect(s?.message).toContain(ref);
      },
      { timeout: 30_000, interval: 250 },
    );
  });

  it('pulls :latest again under Always when it was pushed again, and the new container runs the new digest', async () => {
    const ref = await registry.push('private/app', 'latest');
    const { agent, reports } = newAgent();
    const first = containerResource('latest-1', ref);
    agent.setDesired([pullSecret('regcred', PASSWORD), first]);
    const one = await waitRunning(agent, reports, first);
    expect(manifestFetches('private/app', 'latest')).toBe(1);

    const sized = `persys-pulltest/sized-${NODE}:1`;
    images.add(sized);
    await buildSizedImage(sized, 200_000);
    await registry.push('private/app', 'latest', sized);
    // Gone from the engine, so that the pull moves its layer.
    await docker.getImage(sized).remove();
    const second = containerResource('latest-2', ref);
    agent.setDesired([pullSecret('regcred', PASSWORD), first, second]);
    const two = await waitRunning(agent, reports, second);
    expect(manifestFetches('private/app', 'latest')).toBe(2);
    expect(two.imageId).toBe(await repoDigest(ref));
    expect(two.imageId).not.toBe(one.imageId);
  });

  it('under Never, a missing image is ErrImageNeverPull and the registry hears nothing of it', async () => {
    const { agent, reports } = newAgent();
    const ref = `${registry.address}/private/never:v1`;
    const c = containerResource('never', ref, { imagePullPolicy: 'Never' });
    agent.setDesired([pullSecret('regcred', PASSWORD), c]);
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        expect(statusesOf(reports, c.metadata.uid!).at(-1)).toMatchObject({
          phase: 'Pending',
          reason: 'ErrImageNeverPull',
          message: `Container image "${ref}" is not present with pull policy of Never`,
        });
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(registry.requests().filter((r) => r.path.includes('private/never'))).toEqual([]);
  });

  it('shares one registry pull among 10 concurrent ensure calls for one reference', async () => {
    const ref = await registry.push('private/shared', 'v1');
    images.add(ref);
    const puller = new ImagePuller({ runtime });
    const auth = { serveraddress: registry.address, username: USER, password: PASSWORD };
    const infos = await Promise.all(
      Array.from({ length: 10 }, () => puller.ensure(ref, { policy: 'IfNotPresent', credentials: [auth] })),
    );
    expect(new Set(infos.map((i) => i.id)).size).toBe(1);
    expect(manifestFetches('private/shared', 'v1')).toBe(1);
  });

  it("counts the registry's refusals as no engine failure, but a pull from an unreachable engine opens the breaker", async () => {
    const strict = new DockerRuntime({ docker, node: NODE, breaker: { volumeThreshold: 2, errorThresholdPercentage: 50 } });
    const dead = new DockerRuntime({
      docker: new Dockerode({ socketPath: `/tmp/persys-pulltest-${NODE}.sock` }),
      node: NODE,
      breaker: { volumeThreshold: 2, errorThresholdPercentage: 50 },
    });
    try {
      const auth = { serveraddress: registry.address, username: USER, password: WRONG_PASSWORD };
      for (let i = 0; i < 4; i++) {
        await expect(strict.pullImage(`${registry.address}/private/busybox:v1`, { auth })).rejects.toThrow(/unauthorized/);
        await expect(strict.pullImage(`${registry.address}/private/none:v${i}`, { auth: { ...auth, password: PASSWORD } })).rejects.toThrow(
          /manifest unknown|not found/,
        );
      }
      expect(strict.breakerState()).toBe('closed');
      for (let i = 0; i < 3; i++) await dead.pullImage(`${registry.address}/private/busybox:v1`).catch(() => undefined);
      expect(dead.breakerState()).toBe('open');
    } finally {
      strict.close();
      dead.close();
    }
  });

  it('a recreate for a new tag pulls first: the old container runs on through a failed pull and until the new image is there', async () => {
    const v1 = await registry.push('private/rollout', 'v1');
    const v2 = await registry.push('private/rollout', 'v2');
    const since = Math.floor(Date.now() / 1000) - 1;
    const { agent, reports } = newAgent();
    const c = containerResource('rollout', v1);
    const secret = pullSecret('regcred', PASSWORD);
    agent.setDesired([secret, c]);
    await waitRunning(agent, reports, c);
    const [old] = await containersOf(c.metadata.uid!);

    // A tag that does not exist: the pull fails and the old container is left running.
    const broken = containerResource('rollout', `${registry.address}/private/rollout:missing`);
    agent.applyChange('UPSERT', { ...broken, metadata: c.metadata, spec: { ...c.spec, image: broken.spec.image } });
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        expect(statusesOf(reports, c.metadata.uid!).at(-1)).toMatchObject({ phase: 'Running', reason: 'ErrImagePull', containerId: old!.Id });
      },
      { timeout: 30_000, interval: 250 },
    );
    expect((await containersOf(c.metadata.uid!)).map((x) => [x.Id, x.State])).toEqual([[old!.Id, 'running']]);

    images.add(v2);
    agent.applyChange('UPSERT', { ...c, spec: { ...c.spec, image: v2 } });
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        const list = await containersOf(c.metadata.uid!);
        expect(list.map((x) => [x.Image, x.State])).toEqual([[v2, 'running']]);
      },
      { timeout: 60_000, interval: 250 },
    );

    // The engine's own record: v2 was pulled before the old container was killed.
    const until = Math.floor(Date.now() / 1000) + 1;
    const stream = await docker.getEvents({ since, until, filters: { type: ['image', 'container'] } });
    const events: { Type: string; Action: string; Actor: { ID: string } }[] = [];
    for await (const e of decodeJsonLines<{ Type: string; Action: string; Actor: { ID: string } }>(stream as AsyncIterable<Buffer>)) events.push(e);
    const pulled = events.findIndex((e) => e.Type === 'image' && e.Action === 'pull' && e.Actor.ID === v2);
    const stopped = events.findIndex((e) => e.Type === 'container' && e.Actor.ID === old!.Id && ['kill', 'die', 'destroy'].includes(e.Action));
    expect(pulled).toBeGreaterThanOrEqual(0);
    expect(stopped).toBeGreaterThan(pulled);
  });
});
