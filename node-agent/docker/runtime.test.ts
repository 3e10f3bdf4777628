// DockerRuntime against the real dockerd (hack/docker.sh): containers from Container specs, logs, exec,
// health, events, the unmanaged-container guard, deadlines and the circuit breaker.
import { randomUUID } from 'node:crypto';
import { rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ensureDocker, HOST_SOCKET, TEST_IMAGE } from '../../e2e/harness/docker.js';
import { freePort } from '../../e2e/harness/etcd.js';
import { DockerTimeoutError, DockerUnavailableError } from '../../lib/docker/engine-guard.js';
import { ImageNotFoundError, UnmanagedContainerError } from './errors.js';
import type { DockerEvent } from './events.js';
import { LABEL_NAMESPACE, LABEL_UID } from './labels.js';
import type { LogChunk } from './logs.js';
import { DockerRuntime } from './runtime.js';
import { createOptions } from './spec.js';

const NODE = 'rt-node';
// Every object this file creates is in this namespace (containers) or has this prefix (volumes, plain containers).
const NS = `rt${randomUUID().slice(0, 8)}`;
const noSecrets = { node: NODE };

let docker: Dockerode;
let runtime: DockerRuntime;

function containerResource(name: string, spec: Record<string, unknown>): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace: NS, uid: randomUUID() },
    spec: { image: TEST_IMAGE, ...spec },
  };
}

async function run(name: string, spec: Record<string, unknown>): Promise<string> {
  const id = await runtime.create(createOptions(containerResource(name, spec), noSecrets));
  await runtime.start(id);
  return id;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<LogChunk[]> {
  const out: LogChunk[] = [];
  for await (const c of stream) out.push(c as LogChunk);
  return out;
}

const joined = (chunks: LogChunk[], stream: LogChunk['stream']) =>
  chunks.filter((c) => c.stream === stream).map((c) => c.data.toString()).join('');

beforeAll(async () => {
  docker = await ensureDocker();
  runtime = new DockerRuntime({ docker, node: NODE });
});

afterAll(async () => {
  runtime?.close();
  if (!docker) return;
  const mine = await docker.listContainers({ all: true, filters: { label: [`${LABEL_NAMESPACE}=${NS}`] } });
  const plain = await docker.listContainers({ all: true, filters: { name: [`${NS}-plain`] } });
  await Promise.all([...mine, ...plain].map((c) => docker.getContainer(c.Id).remove({ force: true })));
  const { Volumes } = await docker.listVolumes({ filters: { name: [NS] } });
  await Promise.all((Volumes ?? []).map((v) => docker.getVolume(v.Name).remove()));
});

describe('DockerRuntime on the real engine', () => {
  it('runs a Container spec: httpd on a published port answers on 127.0.0.1', async () => {
    const port = await freePort();
    const c = containerResource('web', {
      command: ['httpd', '-f', '-p', '80', '-h', '/www'],
      ports: [{ containerPort: 80, hostPort: port, protocol: 'TCP', hostIp: '127.0.0.1' }],
    });
    const id = await runtime.create(createOptions(c, noSecrets));
    await runtime.start(id);
    await runtime.start(id); // already started: not an error

    const body = await vi.waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        return res.text();
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(body).toContain('persys test page');

    const managed = (await runtime.listManaged()).find((m) => m.id === id);
    expect(managed).toMatchObject({
      uid: c.metadata.uid,
      kind: 'Container',
      namespace: NS,
      name: 'web',
      containerName: `persys-${NS}-web-${c.metadata.uid!.slice(0, 8)}`,
      state: 'running',
      image: TEST_IMAGE,
    });
    expect(managed?.specHash).toMatch(/^[0-9a-f]{64}$/);
    // Its address on the default bridge: what a Service's endpoint reports as containerIp.
    expect(managed?.ipAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(managed?.startedAt).toBeDefined();
    expect(managed?.finishedAt).toBeUndefined();
  });

  it('reports the exit code and finish time of a container that ran to completion', async () => {
    const id = await run('exits', { command: ['sh', '-c', 'exit 7'] });
    await vi.waitFor(async () => expect((await runtime.inspect(id)).State.Status).toBe('exited'), { timeout: 10_000 });
    const managed = (await runtime.listManaged()).find((m) => m.id === id);
    expect(managed).toMatchObject({ state: 'exited', exitCode: 7 });
    expect(managed?.finishedAt).toBeDefined();
  });

  it('returns demuxed stdout and stderr, from a finished log and a followed one', async () => {
    const id = await run('logs', {
      command: ['sh', '-c', 'echo out-1; echo err-1 >&2; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo out-2; sleep 600'],
    });
    await vi.waitFor(async () => expect(joined(await readAll(await runtime.logs(id)), 'stderr')).toBe('err-1\n'), {
      timeout: 10_000,
    });
    const finished = await readAll(await runtime.logs(id));
    expect(joined(finished, 'stdout')).toBe('out-1\n');
    expect(joined(await readAll(await runtime.logs(id, { tail: 1 })), 'stdout') + joined(finished, 'stderr')).toContain('err-1');

    const abort = new AbortController();
    const live = await runtime.logs(id, { follow: true, signal: abort.signal });
    const seen: LogChunk[] = [];
    const reading = (async () => {
      for await (const c of live) {
        seen.push(c as LogChunk);
        if (joined(seen, 'stdout').includes('out-2')) abort.abort();
      }
    })();
    await runtime.exec(id, ['touch', '/tmp/go']);
    await reading; // ends once aborted, without an error
    expect(joined(seen, 'stdout')).toBe('out-1\nout-2\n');
    expect(joined(seen, 'stderr')).toBe('err-1\n');
  });

  it('execs a command and returns its exit code, stdout and stderr', async () => {
    const id = await run('exec', { command: ['sleep', '600'] });
    const result = await runtime.exec(id, ['sh', '-c', 'echo hello; echo oops >&2; exit 3']);
    expect(result).toEqual({ exitCode: 3, stdout: 'hello\n', stderr: 'oops\n' });
    expect((await runtime.exec(id, ['id', '-un'])).stdout).toBe('root\n');
  });

  it('never lists or touches a container without the persys uid label', async () => {
    const plain = await docker.createContainer({ name: `${NS}-plain`, Image: TEST_IMAGE, Cmd: ['sleep', '600'] });
    await plain.start();
    expect((await runtime.listManaged()).map((m) => m.id)).not.toContain(plain.id);
    await expect(runtime.stop(plain.id, 1)).rejects.toBeInstanceOf(UnmanagedContainerError);
    await expect(runtime.remove(plain.id)).rejects.toBeInstanceOf(UnmanagedContainerError);
    await expect(runtime.exec(plain.id, ['true'])).rejects.toBeInstanceOf(UnmanagedContainerError);
    expect((await plain.inspect()).State.Running).toBe(true);
    await expect(runtime.create({ name: `${NS}-plain2`, Image: TEST_IMAGE })).rejects.toThrow(/without a dev.persys.uid label/);
  });

  it('stops and removes its own containers; removing one already gone is not an error', async () => {
    const id = await run('stopme', { command: ['sleep', '600'] });
    await runtime.stop(id, 1);
    expect((await runtime.inspect(id)).State.Running).toBe(false);
    await runtime.stop(id, 1); // already stopped: not an error
    await runtime.remove(id);
    expect((await runtime.listManaged()).map((m) => m.id)).not.toContain(id);
    await runtime.remove(id);
  });

  it.each([
    ['httpGet', { httpGet: { path: '/index.html', port: 80 } }],
    ['tcpSocket', { tcpSocket: { port: 80 } }],
    ['exec', { exec: { command: ['test', '-f', '/www/index.html'] } }],
  ])('turns healthy with a passing %s healthcheck', async (_kind, probe) => {
    const id = await run(`health-${_kind.toLowerCase()}`, {
      command: ['httpd', '-f', '-p', '80', '-h', '/www'],
      healthcheck: { ...probe, intervalSeconds: 1, timeoutSeconds: 5, retries: 3 },
    });
    await vi.waitFor(async () => expect((await runtime.listManaged()).find((m) => m.id === id)?.health).toBe('healthy'), {
      timeout: 20_000,
      interval: 250,
    });
  });

  it('turns unhealthy when the healthcheck fails', async () => {
    const id = await run('unhealthy', {
      command: ['sleep', '600'],
      healthcheck: { httpGet: { port: 80 }, intervalSeconds: 1, timeoutSeconds: 2, retries: 1 },
    });
    await vi.waitFor(async () => expect((await runtime.listManaged()).find((m) => m.id === id)?.health).toBe('unhealthy'), {
      timeout: 20_000,
      interval: 250,
    });
  });

  it('fails with ImageNotFoundError naming the image and node when the image is absent', async () => {
    const opts = createOptions(containerResource('noimage', { image: 'persys/busybox:nope' }), noSecrets);
    const err = await runtime.create(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFoundError);
    expect((err as Error).message).toBe(
      `Container image "persys/busybox:nope" is not present on node ${NODE}`,
    );
    expect(await runtime.imageExists('persys/busybox:nope')).toBe(false);
    expect(await runtime.imageExists(TEST_IMAGE)).toBe(true);
  });

  it('creates a labelled named volume once and mounts it', async () => {
    const name = `${NS}-data`;
    await runtime.ensureVolume(name, { [LABEL_NAMESPACE]: NS });
    await runtime.ensureVolume(name, { [LABEL_NAMESPACE]: NS });
    expect((await docker.getVolume(name).inspect()).Labels).toEqual({ [LABEL_NAMESPACE]: NS });
    const id = await run('vol', { command: ['sleep', '600'], volumes: [{ mountPath: '/data', volumeName: name }] });
    await runtime.exec(id, ['sh', '-c', 'echo kept > /data/f']);
    expect((await runtime.exec(id, ['cat', '/data/f'])).stdout).toBe('kept\n');
  });

  it('streams parsed engine events for persys containers until aborted', async () => {
    const abort = new AbortController();
    const events: DockerEvent[] = [];
    const since = new Date(Date.now() - 1000);
    const c = containerResource('events', { command: ['sleep', '600'] });
    const reading = (async () => {
      for await (const e of runtime.events({ since, signal: abort.signal })) {
        events.push(e);
        if (e.Action === 'start' && e.Actor.Attributes[LABEL_UID] === c.metadata.uid) abort.abort();
      }
    })();
    const id = await runtime.create(createOptions(c, noSecrets));
    await runtime.start(id);
    await reading;
    expect(events.map((e) => e.Action)).toEqual(expect.arrayContaining(['create', 'start']));
    expect(events.every((e) => e.Type === 'container' && e.Actor.Attributes[LABEL_UID])).toBe(true);
  });

  it('reports the engine version, CPUs and memory for Node status', async () => {
    const [version, info] = await Promise.all([runtime.version(), runtime.info()]);
    expect(version.Version).toMatch(/^\d+\.\d+/);
    expect(info.NCPU).toBeGreaterThan(0);
    expect(info.MemTotal).toBeGreaterThan(0);
  });

  it('does not count NotFound answers against the engine', async () => {
    const r = new DockerRuntime({ docker, node: NODE, breaker: { volumeThreshold: 2 } });
    try {
      for (let i = 0; i < 5; i++) await expect(r.inspect(`${NS}-missing`)).rejects.toMatchObject({ statusCode: 404 });
      expect(r.breakerState()).toBe('closed');
    } finally {
      r.close();
    }
  });
});

describe('DockerRuntime on an unreachable or hung engine', () => {
  it('opens the breaker when the engine is unreachable, fails fast, and closes once it is back', async () => {
    const socketPath = join(tmpdir(), `persys-rt-${NS}.sock`);
    const Dockerode = (await import('dockerode')).default;
    const r = new DockerRuntime({
      docker: new Dockerode({ socketPath }),
      node: NODE,
      breaker: { volumeThreshold: 3, resetTimeoutMs: 200 },
    });
    const transitions: string[] = [];
    r.on('open', () => transitions.push('open'));
    r.on('close', () => transitions.push('close'));
    try {
      for (let i = 0; i < 3; i++) await expect(r.version()).rejects.toMatchObject({ code: 'ENOENT' });
      expect(r.breakerState()).toBe('open');
      await expect(r.version()).rejects.toBeInstanceOf(DockerUnavailableError);

      symlinkSync(HOST_SOCKET, socketPath); // the engine comes back
      await vi.waitFor(() => expect(r.breakerState()).toBe('halfOpen'), { timeout: 5_000, interval: 50 });
      expect((await r.version()).Version).toBeTruthy();
      expect(r.breakerState()).toBe('closed');
      expect(transitions).toEqual(['open', 'close']);
    } finally {
      r.close();
      rmSync(socketPath, { force: true });
    }
  });

  it('aborts a call to a hung engine at its deadline and closes the connection', async () => {
    const socketPath = join(tmpdir(), `persys-hung-${NS}.sock`);
    const sockets: Socket[] = [];
    let closedByClient = 0;
    // Reads the request, never answers.
    const server: Server = createServer((s) => {
      sockets.push(s);
      s.resume();
      s.once('close', () => closedByClient++);
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const Dockerode = (await import('dockerode')).default;
    const r = new DockerRuntime({ docker: new Dockerode({ socketPath }), node: NODE, callTimeoutMs: 300 });
    try {
      const err = await r.info().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DockerTimeoutError);
      expect((err as Error).message).toBe('docker info did not finish within 300 ms');
      await vi.waitFor(() => expect(closedByClient).toBe(1), { timeout: 5_000 });
      expect(sockets).toHaveLength(1);
    } finally {
      r.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(socketPath, { force: true });
    }
  });
});
