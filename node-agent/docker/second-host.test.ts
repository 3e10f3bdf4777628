// The runtime against a second Docker "host" (a dockerd in its own network namespace): what the
// agent does on one node stays on that node's engine.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureDocker, startSecondDocker, TEST_IMAGE, type SecondDocker } from '../../e2e/harness/docker.js';
import { DockerRuntime } from './runtime.js';
import { createOptions } from './spec.js';

const NS = `rt2${randomUUID().slice(0, 8)}`;

describe('DockerRuntime on a second Docker host (needs root: a network namespace)', () => {
  let second: SecondDocker;
  let remote: DockerRuntime;
  let local: DockerRuntime;

  beforeAll(async () => {
    local = new DockerRuntime({ docker: await ensureDocker(), node: 'node-a' });
    second = await startSecondDocker(NS);
    remote = new DockerRuntime({ docker: second.docker, node: 'node-b' });
  }, 120_000);

  afterAll(async () => {
    remote?.close();
    local?.close();
    await second?.stop();
  }, 120_000);

  it('creates and runs a container on the second engine through its socket, reachable at its address', async () => {
    expect(await remote.imageExists(TEST_IMAGE)).toBe(true);
    const uid = randomUUID();
    const c = {
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: 'web', namespace: NS, uid },
      spec: { image: TEST_IMAGE, command: ['httpd', '-f', '-p', '80', '-h', '/www'], ports: [{ containerPort: 80, hostPort: 8080 }] },
    };
    const id = await remote.create(createOptions(c, { node: 'node-b' }));
    await remote.start(id);

    const body = await vi.waitFor(async () => (await fetch(`http://${second.address}:8080/`)).text(), { timeout: 10_000, interval: 100 });
    expect(body).toContain('persys test page');
    expect((await remote.listManaged()).map((m) => m.uid)).toEqual([uid]);
    expect((await local.listManaged()).map((m) => m.uid)).not.toContain(uid);
  });
});

