// ContainerUsageSampler against the real dockerd: a container whose healthcheck takes ~0.2 s reports that
// as its response time, read from the engine's Health.Log; one without a healthcheck reports 0.
import { randomUUID } from 'node:crypto';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Resource } from '../lib/api/resource.js';
import type { ContainerUsage } from '../lib/gen/persys/v1/agent.js';
import { ensureDocker, removeNamespaceContainers, TEST_IMAGE } from '../e2e/harness/docker.js';
import { DockerRuntime, type ManagedContainer } from './docker/runtime.js';
import { createOptions } from './docker/spec.js';
import { ContainerUsageSampler } from './usage.js';

const NODE = 'usage-node';
// Every container this file creates carries this namespace label, so afterAll removes exactly those.
const NS = `usage${randomUUID().slice(0, 8)}`;

let docker: Dockerode;
let runtime: DockerRuntime;

async function run(name: string, spec: Record<string, unknown>): Promise<ManagedContainer> {
  const c: Resource = {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace: NS, uid: randomUUID() },
    spec: { image: TEST_IMAGE, command: ['sleep', '600'], ...spec },
  };
  const id = await runtime.create(createOptions(c, { node: NODE }));
  await runtime.start(id);
  const managed = await runtime.inspectManaged(id);
  if (!managed) throw new Error(`container ${name} vanished after start`);
  return managed;
}

beforeAll(async () => {
  docker = await ensureDocker();
  runtime = new DockerRuntime({ docker, node: NODE });
});

afterAll(async () => {
  runtime?.close();
  await removeNamespaceContainers([docker], NS);
});

describe('ContainerUsageSampler on the real engine', () => {
  it('reports a ~200 ms healthcheck as at least 150 ms, and 0 for a container without a healthcheck', async () => {
    const [slow, plain] = await Promise.all([
      run('slow-probe', { healthcheck: { exec: { command: ['sleep', '0.2'] }, intervalSeconds: 1, timeoutSeconds: 5, retries: 3 } }),
      run('no-probe', {}),
    ]);
    expect(slow.health).toBeDefined();
    // maxAgeMs 0: every call samples afresh, as a heartbeat would once the sample is old enough.
    const sampler = new ContainerUsageSampler(runtime, { maxAgeMs: 0 });
    let usage: ContainerUsage[] = [];
    await vi.waitFor(
      async () => {
        usage = await sampler.sample([slow, plain]);
        expect(usage.find((u) => u.uid === slow.uid)?.healthResponseTimeMs).toBeGreaterThan(0);
      },
      { timeout: 20_000, interval: 500 },
    );
    expect(usage.find((u) => u.uid === slow.uid)?.healthResponseTimeMs).toBeGreaterThanOrEqual(150);
    expect(usage.find((u) => u.uid === plain.uid)?.healthResponseTimeMs).toBe(0);
  });
});
