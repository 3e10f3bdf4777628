// NodeAgent against the real dockerd, fed desired state in-process and reporting to an array:
// containers converge, orphans go, unlabelled containers stay, and a crashed agent's half-done work
// ends as exactly one running container per uid.
import { randomUUID } from 'node:crypto';
import { rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Resource } from '../lib/api/resource.js';
import { ensureDocker, HOST_SOCKET, TEST_IMAGE } from '../e2e/harness/docker.js';
import { NodeAgent } from './agent.js';
import { LABEL_NODE, LABEL_UID } from './docker/labels.js';
import { DockerRuntime } from './docker/runtime.js';
import { createOptions } from './docker/spec.js';

const NODE = `agent-${randomUUID().slice(0, 8)}`;
const NS = 'agenttest';
let docker: Dockerode;
let runtime: DockerRuntime;
const agents: NodeAgent[] = [];

function containerResource(name: string, spec: Record<string, unknown> = {}): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace: NS, uid: randomUUID(), generation: 1 },
    // The test image is built on the node, in no registry: under Always (the default for :latest) it would be pulled.
    spec: { image: TEST_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '600'], ...spec },
  };
}

function newAgent(resyncIntervalMs = 1_000): { agent: NodeAgent; reports: Resource[] } {
  const agent = new NodeAgent({ node: NODE, runtime, resyncIntervalMs });
  const reports: Resource[] = [];
  agent.attach((objs) => reports.push(...objs));
  agents.push(agent);
  return { agent, reports };
}

const mine = async () =>
  docker.listContainers({ all: true, filters: { label: [`${LABEL_NODE}=${NODE}`] } });

async function containersOf(uid: string) {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL_UID}=${uid}`] } });
}

beforeAll(async () => {
  docker = await ensureDocker();
  runtime = new DockerRuntime({ docker, node: NODE });
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});

afterAll(async () => {
  runtime?.close();
  if (!docker) return;
  const plain = await docker.listContainers({ all: true, filters: { name: [`${NODE}-plain`] } });
  await Promise.all([...(await mine()), ...plain].map((c) => docker.getContainer(c.Id).remove({ force: true })));
});

describe('NodeAgent on the real engine', () => {
  it('runs a desired container, reports it Running once, and removes it when it is no longer desired', async () => {
    const { agent, reports } = newAgent();
    agent.start();
    const web = containerResource('web');
    agent.setDesired([web]);
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        const list = await containersOf(web.metadata.uid!);
        expect(list.map((c) => c.State)).toEqual(['running']);
        expect(reports.at(-1)).toMatchObject({ kind: 'Container', metadata: { uid: web.metadata.uid, name: 'web', namespace: NS }, status: { phase: 'Running' } });
      },
      { timeout: 20_000, interval: 200 },
    );
    const running = reports.filter((r) => r.status.phase === 'Running');
    expect(running[0]!.status).toMatchObject({ containerId: (await containersOf(web.metadata.uid!))[0]!.Id, restartCount: 0, observedGeneration: 1 });
    expect(running[0]!.status.conditions[0]).toMatchObject({ type: 'Ready', status: 'True' });
    // A locally built image has no repo digest: its image id stands in.
    expect(running[0]!.status.imageId).toBe((await docker.getImage(TEST_IMAGE).inspect()).Id);

    // Unchanged status is not sent again on the same sink; a new sink gets everything again.
    const count = reports.length;
    await agent.reconcileNow();
    await agent.reconcileNow();
    expect(reports.length).toBe(count);
    const again: Resource[] = [];
    agent.attach((objs) => again.push(...objs));
    await agent.reconcileNow();
    expect(again.map((r) => r.metadata.uid)).toEqual([web.metadata.uid]);

    agent.applyChange('DELETE', web);
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        expect(await containersOf(web.metadata.uid!)).toEqual([]);
      },
      { timeout: 20_000, interval: 200 },
    );
  });

  it('removes a labelled orphan of this node but never an unlabelled container, and nothing before the first desired state', async () => {
    const orphan = containerResource('orphan');
    const orphanId = await runtime.create(createOptions(orphan, { node: NODE }));
    const plain = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '600'], name: `${NODE}-plain` });
    await plain.start();

    const { agent } = newAgent();
    agent.start();
    await agent.reconcileNow();
    expect((await containersOf(orphan.metadata.uid!)).map((c) => c.Id)).toEqual([orphanId]);

    agent.setDesired([]);
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        expect(await containersOf(orphan.metadata.uid!)).toEqual([]);
      },
      { timeout: 20_000, interval: 200 },
    );
    expect((await plain.inspect()).State.Running).toBe(true);
  });

  it('after a crash between create and start, with a duplicate left behind, a new agent converges to one running container', async () => {
    const job = containerResource('crashed');
    // What the first agent left: its container created but not started, and a stray second one of the same uid.
    const opts = createOptions(job, { node: NODE });
    await runtime.create(opts);
    await runtime.create({ ...opts, name: `${opts.name}-dup` });
    expect(await containersOf(job.metadata.uid!)).toHaveLength(2);

    const { agent } = newAgent();
    agent.start();
    agent.setDesired([job]);
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        const list = await containersOf(job.metadata.uid!);
        expect(list.map((c) => c.State)).toEqual(['running']);
      },
      { timeout: 20_000, interval: 200 },
    );
    const list = await containersOf(job.metadata.uid!);
    expect(list).toHaveLength(1);

    // Stopping the agent leaves the container running.
    await agent.stop();
    expect((await containersOf(job.metadata.uid!)).map((c) => c.State)).toEqual(['running']);
  });

  it('reports a missing image under pull policy Never as Pending with ErrImageNeverPull and creates nothing', async () => {
    const { agent, reports } = newAgent();
    agent.start();
    const c = containerResource('noimage', { image: 'persys/does-not-exist:1', imagePullPolicy: 'Never' });
    agent.setDesired([c]);
    await vi.waitFor(
      async () => {
        await agent.reconcileNow();
        expect(reports.at(-1)?.status).toMatchObject({
          phase: 'Pending',
          reason: 'ErrImageNeverPull',
          message: 'Container image "persys/does-not-exist:1" is not present with pull policy of Never',
        });
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(await containersOf(c.metadata.uid!)).toEqual([]);
  });

  it('recreates the container when its spec changes, keeping one per uid', async () => {
    const { agent } = newAgent();
    agent.start();
    const c = containerResource('changing');
    agent.setDesired([c]);
    await vi.waitFor(async () => {
      await agent.reconcileNow();
      expect((await containersOf(c.metadata.uid!)).map((x) => x.State)).toEqual(['running']);
    }, { timeout: 20_000, interval: 200 });
    const before = (await containersOf(c.metadata.uid!))[0]!.Id;
    agent.applyChange('UPSERT', { ...c, spec: { ...c.spec, command: ['sleep', '601'] } });
    await vi.waitFor(async () => {
      await agent.reconcileNow();
      const list = await containersOf(c.metadata.uid!);
      expect(list.map((x) => x.State)).toEqual(['running']);
      expect(list[0]!.Id).not.toBe(before);
      expect(list[0]!.Command).toContain('601');
    }, { timeout: 20_000, interval: 200 });
  });

  it('reports Running straight after create+start and a container\'s exit from its event, with no resync in between', async () => {
    const { agent, reports } = newAgent(3_600_000);
    agent.start();
    const web = containerResource('no-resync');
    const job = containerResource('exits', { command: ['sh', '-c', 'exit 3'], restartPolicy: 'Never' });
    agent.setDesired([web, job]);
    // No reconcileNow: only the first list (at start), the workers and the engine events may act.
    await vi.waitFor(() => {
      const last = (uid: string) => reports.filter((r) => r.metadata.uid === uid).at(-1)?.status;
      expect(last(web.metadata.uid!)).toMatchObject({ phase: 'Running' });
      expect(last(job.metadata.uid!)).toMatchObject({ phase: 'Failed', exitCode: 3 });
    }, { timeout: 20_000, interval: 100 });
    expect((await containersOf(web.metadata.uid!)).map((c) => c.State)).toEqual(['running']);
  });

  it('re-lists without inspecting containers whose state did not change', async () => {
    const { agent } = newAgent(3_600_000);
    agent.start();
    const cs = [containerResource('quiet-1'), containerResource('quiet-2')];
    agent.setDesired(cs);
    await vi.waitFor(async () => {
      await agent.reconcileNow();
      for (const c of cs) expect((await containersOf(c.metadata.uid!)).map((x) => x.State)).toEqual(['running']);
    }, { timeout: 20_000, interval: 200 });
    await agent.reconcileNow();
    const inspect = vi.spyOn(runtime, 'inspectManaged');
    const inspectAll = vi.spyOn(runtime, 'listManaged');
    try {
      await agent.reconcileNow();
      await agent.reconcileNow();
      expect(inspect).not.toHaveBeenCalled();
      expect(inspectAll).not.toHaveBeenCalled();
      // A change the agent did not make is seen by the next list and inspected.
      const id = (await containersOf(cs[0]!.metadata.uid!))[0]!.Id;
      await docker.getContainer(id).kill();
      await vi.waitFor(async () => {
        await agent.reconcileNow();
        expect(inspect).toHaveBeenCalledWith(id);
      }, { timeout: 10_000, interval: 100 });
    } finally {
      inspect.mockRestore();
      inspectAll.mockRestore();
    }
  });

  it('reports Docker unhealthy while the engine is unreachable, then reconciles as soon as it is back', async () => {
    const socketPath = join(tmpdir(), `persys-agent-${NODE}.sock`);
    rmSync(socketPath, { force: true });
    const down = new DockerRuntime({
      docker: new Dockerode({ socketPath }),
      node: NODE,
      breaker: { volumeThreshold: 2, resetTimeoutMs: 300 },
    });
    const agent = new NodeAgent({ node: NODE, runtime: down, resyncIntervalMs: 100 });
    agents.push(agent);
    try {
      expect(agent.dockerHealth().healthy).toBe(true);
      agent.start();
      const c = containerResource('after-outage');
      agent.setDesired([c]);
      await agent.reconcileNow();
      expect(agent.dockerHealth()).toMatchObject({ healthy: false });
      expect(agent.dockerHealth().message).toContain(socketPath);
      await vi.waitFor(() => expect(down.breakerState()).toBe('open'), { timeout: 5_000, interval: 50 });
      expect(agent.dockerHealth().message).toMatch(/circuit open/);

      symlinkSync(HOST_SOCKET, socketPath); // the engine comes back
      await vi.waitFor(
        async () => {
          expect(agent.dockerHealth()).toEqual({ healthy: true, message: '' });
          expect((await containersOf(c.metadata.uid!)).map((x) => x.State)).toEqual(['running']);
        },
        { timeout: 20_000, interval: 100 },
      );
    } finally {
      await agent.stop();
      down.close();
      rmSync(socketPath, { force: true });
    }
  });
});
