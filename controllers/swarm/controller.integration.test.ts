// The swarm-membership and swarm-services controllers together against a real API server and a real
// Docker engine in its own network namespace, reached through the agent's SwarmEngine (the part of the
// agent the API server relays to): they form a swarm on the manager Node, record it, label the engine,
// run a SwarmService, prune it once deleted, and make the node leave when its role becomes none.
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { startSecondDocker, TEST_IMAGE, type SecondDocker } from '../../e2e/harness/docker.js';
import { waitFor } from '../../e2e/harness/wait.js';
import type { Resource } from '../../lib/api/resource.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { SwarmEngine } from '../../node-agent/swarm/engine.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { runControllers, type RunningControllers } from '../runtime/manager.js';
import { newSwarmMembershipController } from './membership/controller.js';
import { recordOfSecret } from './membership/join-tokens.js';
import { newSwarmServicesController } from './services/controller.js';
import type { SwarmCaller } from './swarm-caller.js';
import { EngineGuard } from '../../lib/docker/engine-guard.js';

const NODE = 'swa-a';
const NS = 'swa-shop';
// Away from the veth /30s (10.231/16) and second engines' bridges (10.233/16).
const ADDR_POOL = ['10.242.0.0/16'];
// A new task first tries the (unreachable) registry, which takes ~20 s here before the local image is used.
const CONVERGE_MS = 100_000;

describe('swarm controller on a real engine (needs root: a network namespace)', () => {
  let api: TestApiServer;
  let second: SecondDocker;
  let docker: Dockerode;
  let running: RunningControllers;
  // Everything the controller logs, at debug level: no join token may appear in it.
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }));

  const getNode = () => api.client.get('Node', NODE);
  const condition = (obj: Resource, type: string) => ((obj.status?.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[]).find((c) => c.type === type);
  const events = async () => (await api.client.list('Event', { namespace: 'default' })).items;

  beforeAll(async () => {
    api = await startTestApiServer(inject('etcdEndpoint'));
    second = await startSecondDocker('swa-eng1');
    docker = second.docker;
    const engine = new SwarmEngine({ docker, guard: new EngineGuard({ node: NODE }), logger: silentLogger(), pruneGraceMs: 0 });
    // What the API server does for the controller: carry the operation out on the named node's engine.
    const swarm: SwarmCaller = {
      call: (node, operation, options = {}) =>
        node === NODE
          ? engine.handle({ node, operation, registryAuth: options.registryAuth ?? '' }, AbortSignal.timeout(options.deadlineMs ?? 90_000))
          : Promise.reject(new Error(`node "${node}" is not connected to this API server`)),
    };
    const created = await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name: NODE, labels: { zone: 'a' } }, spec: { swarm: { role: 'manager' } } });
    await api.client.updateStatus({
      ...created,
      status: { conditions: [{ type: 'Ready', status: 'True', reason: 'AgentConnected' }], addresses: [{ type: 'InternalIP', address: second.address }] },
    });
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
    const registry = new Registry();
    // One informer per kind for both, as `persys controllers` has; they share nothing else.
    const informers = new InformerFactory({ client: api.client, logger, delay: (ms, signal) => sleep(Math.min(ms, 50), undefined, { signal }).catch(() => undefined) });
    const membership = newSwarmMembershipController({ client: api.client, logger, registry, swarm, informers, resyncMs: 1_000, defaultAddrPool: ADDR_POOL });
    const services = newSwarmServicesController({ client: api.client, logger, registry, swarm, informers, pruneEveryMs: 1_000 });
    running = await runControllers({
      controllers: [...membership.controllers, ...services.controllers],
      informers: [...membership.informers, ...services.informers],
      informerFactory: informers,
      registry,
      logger,
    });
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
    await docker?.swarmLeave({ force: true }).catch(() => undefined);
    await second?.stop();
    await api?.stop();
  }, 60_000);

  it('forms a swarm on the manager Node, records it and reports it, without a token in sight', async () => {
    const node = await waitFor(async () => {
      const n = await getNode();
      return n.status?.swarm?.state === 'ready' && condition(n, 'SwarmQuorum') ? n : undefined;
    }, 'status.swarm ready', 60_000);
    const info = (await docker.swarmInspect()) as { ID: string };
    expect(node.status.swarm).toMatchObject({ role: 'manager', availability: 'active', state: 'ready' });
    expect(condition(node, 'SwarmQuorum')).toMatchObject({ status: 'True', reason: 'QuorumHealthy', message: '1 of 1 managers reachable; a majority (1) is needed' });
    expect(condition(node, 'SwarmMember')).toMatchObject({ status: 'True', reason: 'Member' });
    expect(condition(node, 'Ready')).toMatchObject({ status: 'True', reason: 'AgentConnected' });

    const secret = await api.client.get('Secret', 'swarm-join-tokens', 'persys-system');
    expect(secret['type']).toBe('persys.dev/swarm-join-tokens');
    const record = recordOfSecret(secret)!;
    expect(record.clusterId).toBe(info.ID);
    expect(record.workerToken).toMatch(/^SWMTKN-/);

    const evs = await events();
    expect(evs.some((e) => e['reason'] === 'SwarmInitialized' && (e['involvedObject'] as { name: string }).name === NODE)).toBe(true);
    expect(JSON.stringify([node, evs])).not.toContain('SWMTKN');
  }, 90_000);

  it('records in status.swarm what the services controller reads: cluster id, reachability, leader, manager address', async () => {
    const info = (await docker.swarmInspect()) as { ID: string };
    const node = await waitFor(async () => {
      const n = await getNode();
      return n.status?.swarm?.clusterId ? n : undefined;
    }, 'status.swarm.clusterId');
    expect(node.status.swarm).toMatchObject({ clusterId: info.ID, managerReachability: 'reachable', leader: true });
    expect(node.status.swarm.managerAddr).toMatch(new RegExp(`^${second.address.replace(/\./g, '\\.')}:\\d+$`));
  }, 30_000);

  it('keeps the engine’s swarm labels equal to the Node labels plus dev.persys.node', async () => {
    const labelsOf = async () => {
      const [n] = await docker.listNodes();
      return (n as { Spec?: { Labels?: Record<string, string> } }).Spec?.Labels ?? {};
    };
    expect(await waitFor(async () => (await labelsOf())['dev.persys.node'] === NODE && labelsOf(), 'labels set')).toEqual({ zone: 'a', 'dev.persys.node': NODE, 'dev.persys.managed-labels': 'zone' });
    const n = await getNode();
    await api.client.update({ ...n, metadata: { ...n.metadata, labels: { zone: 'b', disk: 'ssd' } } });
    expect(await waitFor(async () => (await labelsOf())['zone'] === 'b' && labelsOf(), 'labels updated')).toEqual({ zone: 'b', disk: 'ssd', 'dev.persys.node': NODE, 'dev.persys.managed-labels': 'disk,zone' });
  }, 60_000);

  it('writes neither the Node nor the record while nothing changes', async () => {
    const before = await getNode();
    const secret = await api.client.get('Secret', 'swarm-join-tokens', 'persys-system');
    // Three membership rounds (resyncMs is 1 s).
    await sleep(3_500);
    expect((await getNode()).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect((await api.client.get('Secret', 'swarm-join-tokens', 'persys-system')).metadata.resourceVersion).toBe(secret.metadata.resourceVersion);
  }, 20_000);

  it('runs a SwarmService to its replica count and reports it Available', async () => {
    await api.client.create({
      apiVersion: 'persys.dev/v1',
      kind: 'SwarmService',
      metadata: { name: 'web', namespace: NS },
      spec: { image: TEST_IMAGE, command: ['sleep', '3600'], replicas: 1, constraints: ['node.labels.zone==b'] },
    });
    const svc = await waitFor(
      async () => {
        const s = await api.client.get('SwarmService', 'web', NS);
        return condition(s, 'Available')?.status === 'True' ? s : undefined;
      },
      'web Available',
      CONVERGE_MS,
      250,
    );
    expect(svc.status).toMatchObject({ desiredTasks: 1, runningTasks: 1, observedGeneration: 1 });
    expect(condition(svc, 'Available')!.message).toBe('1 of 1 tasks running');
    expect(condition(svc, 'Ready')).toMatchObject({ status: 'True' });
    const services = await docker.listServices();
    expect(services.map((s) => s.Spec?.Name)).toContain(`${NS}_web`);
  }, CONVERGE_MS + 10_000);

  it('removes the Docker service once its SwarmService is deleted', async () => {
    await api.client.delete('SwarmService', 'web', NS);
    await waitFor(async () => !(await docker.listServices()).some((s) => s.Spec?.Name === `${NS}_web`), 'Docker service removed', 30_000);
  }, 40_000);

  it('makes the last manager leave with force when its role becomes none', async () => {
    const n = await getNode();
    await api.client.update({ ...n, spec: { swarm: { role: 'none' } } });
    await waitFor(async () => ((await docker.info()) as { Swarm: { LocalNodeState: string } }).Swarm.LocalNodeState === 'inactive', 'engine out of the swarm', 30_000);
    const left = await waitFor(async () => {
      const node = await getNode();
      return node.status?.swarm?.state === 'inactive' && !condition(node, 'SwarmQuorum') ? node : undefined;
    }, 'status says inactive', 30_000);
    expect(condition(left, 'SwarmMember')).toBeUndefined();
    expect((await events()).some((e) => e['reason'] === 'SwarmLeft')).toBe(true);
  }, 70_000);

  it('never logs a join token', () => {
    expect(logLines.some((l) => l.includes('"msg":"swarm: form a new swarm'))).toBe(true);
    expect(logLines.filter((l) => l.includes('SWMTKN'))).toEqual([]);
  });
});
