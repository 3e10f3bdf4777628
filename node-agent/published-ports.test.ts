// NodeAgent against the real dockerd: a port with publish and hostPort 0 is bound on a port Docker
// picks, the picked port appears in the Container's status.ports, and it accepts connections.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import Dockerode from 'dockerode';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Resource } from '../lib/api/resource.js';
import { ensureDocker, TEST_IMAGE } from '../e2e/harness/docker.js';
import { NodeAgent } from './agent.js';
import { LABEL_NODE } from './docker/labels.js';
import { DockerRuntime } from './docker/runtime.js';

const NODE = `ports-${randomUUID().slice(0, 8)}`;
let docker: Dockerode | undefined;
let runtime: DockerRuntime | undefined;
let agent: NodeAgent | undefined;

afterAll(async () => {
  await agent?.stop();
  runtime?.close();
  if (!docker) return;
  const mine = await docker.listContainers({ all: true, filters: { label: [`${LABEL_NODE}=${NODE}`] } });
  await Promise.all(mine.map((c) => docker!.getContainer(c.Id).remove({ force: true })));
});

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 2_000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

describe('published ports on the real engine', () => {
  it('publishes hostPort 0 with publish on a port Docker picks, reports it in status.ports, and it accepts TCP on 127.0.0.1', async () => {
    docker = await ensureDocker();
    runtime = new DockerRuntime({ docker, node: NODE });
    agent = new NodeAgent({ node: NODE, runtime, resyncIntervalMs: 1_000 });
    const reports: Resource[] = [];
    agent.attach((objs) => reports.push(...objs));
    agent.start();
    const web: Resource = {
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: 'web', namespace: 'portstest', uid: randomUUID(), generation: 1 },
      spec: {
        image: TEST_IMAGE,
        imagePullPolicy: 'IfNotPresent',
        command: ['httpd', '-f', '-p', '8080', '-h', '/'],
        ports: [{ name: 'http', containerPort: 8080, hostPort: 0, publish: true }],
      },
    };
    agent.setDesired([web]);
    const status = await vi.waitFor(
      async () => {
        await agent!.reconcileNow();
        const last = reports.filter((r) => r.metadata.uid === web.metadata.uid).at(-1);
        expect(last?.status).toMatchObject({ phase: 'Running', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] });
        return last!.status as { ports: { hostPort: number; hostIp: string }[] };
      },
      { timeout: 30_000, interval: 250 },
    );
    const [port] = status.ports;
    expect(port!.hostPort).toBeGreaterThan(0);
    expect(port!.hostPort).not.toBe(8080);
    expect(port!.hostIp).toBe('0.0.0.0');
    // The engine agrees, and the port answers (httpd may need a moment after the container starts).
    const id = (await docker.listContainers({ filters: { label: [`${LABEL_NODE}=${NODE}`] } }))[0]!.Id;
    const bound = (await docker.getContainer(id).inspect()).NetworkSettings.Ports['8080/tcp'] ?? [];
    expect(bound.map((b) => Number(b.HostPort))).toContain(port!.hostPort);
    await vi.waitFor(async () => expect(await tcpConnects(port!.hostPort)).toBe(true), { timeout: 10_000, interval: 200 });
    // The connection reaches the container's httpd, not only Docker's proxy: it answers HTTP (404 without index.html).
    const answer = await vi.waitFor(async () => (await fetch(`http://127.0.0.1:${port!.hostPort}/`)).status, { timeout: 10_000, interval: 200 });
    expect(answer).toBeGreaterThanOrEqual(200);
  });
});
