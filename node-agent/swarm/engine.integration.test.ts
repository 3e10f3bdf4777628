// SwarmEngine against a real Docker engine in its own network namespace: membership (inspect, init,
// node update, leave) and SwarmServices (create, update, status, task errors, prune), with a service
// and a network persys did not create standing by to prove they are left alone.
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSecondDocker, TEST_IMAGE, type SecondDocker } from '../../e2e/harness/docker.js';
import type { SwarmRequest, SwarmResponse } from '../../lib/gen/persys/v1/agent.js';
import type { DeepPartial, SwarmService, SwarmServiceSpec, SwarmServiceStatus } from '../../lib/gen/persys/v1/workloads.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { SwarmEngine } from './engine.js';
import { EngineGuard } from '../../lib/docker/engine-guard.js';

const NODE = 'swe-node';
const NS = 'shop';
const TEST_TIMEOUT = 120_000;
// Each new task first tries the (unreachable) registry, which takes ~20 s here before the local image is used.
const CONVERGE = { timeout: 100_000, interval: 1_000 };
// Overlay subnets away from the veth /30s (10.231/16) and second engines' bridges (10.233/16).
const ADDR_POOL = '10.241.0.0/16';

const uids = { web: 'uid-web-1', broken: 'uid-broken-1', manual: 'uid-manual-1' };

function service(name: keyof typeof uids, spec: DeepPartial<SwarmServiceSpec>): DeepPartial<SwarmService> {
  return { apiVersion: 'persys.dev/v1', kind: 'SwarmService', metadata: { name, namespace: NS, uid: uids[name] }, spec };
}

describe('SwarmEngine on a real engine (needs root: a network namespace)', () => {
  let second: SecondDocker;
  let docker: Dockerode;
  let engine: SwarmEngine;

  const call = (operation: SwarmRequest['operation']): Promise<SwarmResponse> =>
    engine.handle({ node: NODE, operation, registryAuth: '' }, AbortSignal.timeout(60_000));
  const apply = async (svc: DeepPartial<SwarmService>): Promise<SwarmServiceStatus> => {
    const { service: status } = await call({ $case: 'applyService', value: svc as SwarmService });
    if (!status) throw new Error('applyService answered without a service status');
    return status;
  };
  const dockerService = async (name: string) => (await docker.listServices({ filters: { name: [name] } })).find((s) => s.Spec?.Name === name);

  const webSpec: DeepPartial<SwarmServiceSpec> = {
    image: TEST_IMAGE,
    command: ['sleep', '3600'],
    env: [{ name: 'COLOUR', value: 'blue' }],
    replicas: 2,
    labels: { team: 'shop' },
    networks: ['backend', 'shared'],
    // Replace every task at once: one at a time would wait ~20 s per task for the registry.
    updateConfig: { parallelism: 0, monitorSeconds: 1 },
  };

  beforeAll(async () => {
    second = await startSecondDocker('swe-eng1');
    docker = second.docker;
    engine = new SwarmEngine({ docker, guard: new EngineGuard({ node: NODE }), logger: silentLogger(), pruneGraceMs: 0 });
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await docker?.swarmLeave({ force: true }).catch(() => undefined);
    await second?.stop();
  }, TEST_TIMEOUT);

  it('reports an engine outside any swarm as inactive, without members or tokens', async () => {
    const { state } = await call({ $case: 'inspect', value: {} });
    expect(state).toMatchObject({ localNodeState: 'inactive', nodeId: '', controlAvailable: false, members: [] });
    expect(state?.joinTokens).toBeUndefined();
  });

  it('refuses manager operations on a node that is not a swarm manager', async () => {
    await expect(apply(service('web', webSpec))).rejects.toThrow(`node ${NODE} is not a swarm manager`);
    await expect(call({ $case: 'pruneServices', value: { keepUids: [] } })).rejects.toThrow(`node ${NODE} is not a swarm manager`);
  });

  it('init makes the engine the leading manager, listing itself and answering the join tokens', async () => {
    const { state } = await call({ $case: 'init', value: { advertiseAddr: second.address, defaultAddrPool: [ADDR_POOL] } });
    expect(state).toMatchObject({ localNodeState: 'active', controlAvailable: true, nodeAddr: second.address, remoteManagers: [`${second.address}:2377`] });
    expect(state?.clusterId).not.toBe('');
    expect(state?.members).toHaveLength(1);
    expect(state?.members[0]).toMatchObject({ id: state?.nodeId, role: 'manager', availability: 'active', addr: second.address, leader: true, managerReachability: 'reachable' });
    expect(state?.joinTokens?.worker).toMatch(/^SWMTKN-/);
    expect(state?.joinTokens?.manager).toMatch(/^SWMTKN-/);
    expect(state?.joinTokens?.manager).not.toBe(state?.joinTokens?.worker);
  }, TEST_TIMEOUT);

  it('refuses init and join on an engine already in a swarm, saying to leave first', async () => {
    await expect(call({ $case: 'init', value: { advertiseAddr: second.address, defaultAddrPool: [] } })).rejects.toThrow(/already part of a swarm \(node ID \w+.*\); leave it first/);
    await expect(call({ $case: 'join', value: { remoteAddrs: ['10.9.9.9:2377'], joinToken: 'SWMTKN-x', advertiseAddr: '' } })).rejects.toThrow(/leave it first/);
  });

  it('sets a member\'s labels and availability, replacing its labels, and sends nothing when they already match', async () => {
    const nodeId = (await call({ $case: 'inspect', value: {} })).state!.nodeId;
    await call({ $case: 'updateNode', value: { nodeId, role: '', availability: 'pause', labels: { zone: 'a', old: 'x' } } });
    const { state } = await call({ $case: 'updateNode', value: { nodeId, role: 'manager', availability: 'active', labels: { zone: 'b', 'dev.persys.node': NODE } } });
    expect(state?.members[0]).toMatchObject({ role: 'manager', availability: 'active', labels: { zone: 'b', 'dev.persys.node': NODE } });
    const version = ((await docker.getNode(nodeId).inspect()) as { Version: { Index: number } }).Version.Index;
    await call({ $case: 'updateNode', value: { nodeId, role: 'manager', availability: 'active', labels: { 'dev.persys.node': NODE, zone: 'b' } } });
    expect(((await docker.getNode(nodeId).inspect()) as { Version: { Index: number } }).Version.Index).toBe(version);
  });

  it('treats removing a node the swarm does not know as done, and names an unknown node it cannot update', async () => {
    const { state } = await call({ $case: 'removeNode', value: { nodeId: 'nosuchnode0000000000000000', force: true } });
    expect(state?.members).toHaveLength(1);
    await expect(call({ $case: 'updateNode', value: { nodeId: 'nosuchnode0000000000000000', role: '', availability: 'drain', labels: {} } })).rejects.toThrow(
      /inspect swarm node nosuchnode0000000000000000 on node swe-node failed: .*not found/,
    );
  });

  it('creates a 2-replica service on its own and a hand-made network, and reports both tasks running', async () => {
    // A network persys did not create: used as it is, never labelled or pruned.
    await docker.createNetwork({ Name: `${NS}_shared`, Driver: 'overlay', Attachable: true });
    const status = await vi.waitFor(async () => {
      const s = await apply(service('web', webSpec));
      expect(s).toMatchObject({ desiredTasks: 2, runningTasks: 2, taskErrors: [] });
      return s;
    }, CONVERGE);
    const svc = await dockerService(`${NS}_web`);
    expect(svc?.ID).toBe(status.serviceId);
    expect(svc?.Spec?.Labels).toMatchObject({ team: 'shop', 'dev.persys.kind': 'SwarmService', 'dev.persys.owner-uid': uids.web });
    const backend = (await docker.listNetworks({ filters: { name: [`${NS}_backend`] } })).find((n) => n.Name === `${NS}_backend`);
    expect(backend).toMatchObject({ Driver: 'overlay', Labels: { 'dev.persys.kind': 'SwarmNetwork', 'dev.persys.namespace': NS } });
    // Task containers carry the user's labels and none of persys's: agents delete dev.persys.uid containers they don't own.
    const containers = await docker.listContainers({ filters: { label: [`com.docker.swarm.service.id=${status.serviceId}`] } });
    expect(containers).toHaveLength(2);
    for (const c of containers) {
      expect(c.Labels['team']).toBe('shop');
      expect(Object.keys(c.Labels).filter((k) => k.startsWith('dev.persys.'))).toEqual([]);
    }
  }, TEST_TIMEOUT);

  it('leaves an unchanged service alone, and restores replicas someone scaled by hand', async () => {
    const before = await dockerService(`${NS}_web`);
    await apply(service('web', webSpec));
    expect((await dockerService(`${NS}_web`))?.Version?.Index).toBe(before?.Version?.Index);

    const spec = { ...before!.Spec!, Mode: { Replicated: { Replicas: 1 } } };
    await docker.getService(before!.ID).update({ _query: { version: before!.Version!.Index }, _body: spec });
    await apply(service('web', webSpec));
    expect((await dockerService(`${NS}_web`))?.Spec?.Mode).toEqual({ Replicated: { Replicas: 2 } });
  }, TEST_TIMEOUT);

  const scaled = { ...webSpec, replicas: 3 };

  it('scales to 3 replicas', async () => {
    await vi.waitFor(async () => expect(await apply(service('web', scaled))).toMatchObject({ desiredTasks: 3, runningTasks: 3 }), CONVERGE);
  }, TEST_TIMEOUT);

  // Scaling alone starts no rolling update, so "completed" can only come from the env change.
  it('rolls out an env change to every replica', async () => {
    const changed = { ...scaled, env: [{ name: 'COLOUR', value: 'green' }] };
    await vi.waitFor(async () => expect(await apply(service('web', changed))).toMatchObject({ runningTasks: 3, updateState: 'completed' }), CONVERGE);
    const svc = await dockerService(`${NS}_web`);
    expect((svc?.Spec?.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec?.Env).toEqual(['COLOUR=green']);
    const containers = await docker.listContainers({ filters: { label: [`com.docker.swarm.service.id=${svc!.ID}`] } });
    const envs = await Promise.all(containers.map(async (c) => (await docker.getContainer(c.Id).inspect()).Config.Env));
    expect(envs).toHaveLength(3);
    for (const env of envs) expect(env).toContain('COLOUR=green');
  }, TEST_TIMEOUT);

  it('reports why the tasks of a service with a missing image do not run', async () => {
    const broken = service('broken', { image: 'persys/missing:1', command: ['sleep', '3600'], replicas: 1 });
    const status = await vi.waitFor(async () => {
      const s = await apply(broken);
      expect(s.taskErrors.join('\n')).toContain('persys/missing:1');
      return s;
    }, CONVERGE);
    expect(status.runningTasks).toBe(0);
    expect(status.taskErrors).toContain(`node ${NODE}: No such image: persys/missing:1`);

    // The same object deleted and re-created (new uid): it takes the service over instead of failing or duplicating it.
    const recreated = { ...broken, metadata: { ...broken.metadata, uid: 'uid-broken-2' } };
    expect((await apply(recreated)).serviceId).toBe(status.serviceId);
    expect((await dockerService(`${NS}_broken`))?.Spec?.Labels?.['dev.persys.owner-uid']).toBe('uid-broken-2');
  }, TEST_TIMEOUT);

  it('refuses to take over a Docker service of the same name that persys did not create', async () => {
    await docker.createService({ Name: `${NS}_manual`, TaskTemplate: { ContainerSpec: { Image: TEST_IMAGE, Command: ['sleep', '3600'] } }, Mode: { Replicated: { Replicas: 0 } } });
    const refused = await apply(service('manual', { image: TEST_IMAGE, replicas: 1 }));
    expect(refused.serviceId).toBe('');
    expect(refused.conditions).toEqual([
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'ServiceNameTaken',
        message: `a Docker service named ${NS}_manual exists and was not created by persys; persys leaves it alone — delete it or rename the SwarmService`,
      }),
    ]);
    expect((await dockerService(`${NS}_manual`))?.Spec?.Labels ?? {}).toEqual({});
  });

  it('prunes only persys services whose SwarmService is gone, then their unused networks', async () => {
    const first = await call({ $case: 'pruneServices', value: { keepUids: [uids.web] } });
    expect(first.removedServices).toEqual([`${NS}/broken`]);
    expect(await dockerService(`${NS}_broken`)).toBeUndefined();
    expect(await dockerService(`${NS}_web`)).toBeDefined();

    const second_ = await call({ $case: 'pruneServices', value: { keepUids: [] } });
    expect(second_.removedServices).toEqual([`${NS}/web`]);
    expect(await dockerService(`${NS}_web`)).toBeUndefined();
    expect(await dockerService(`${NS}_manual`)).toBeDefined();
    // The removed service's tasks hold its network for a moment; a later prune removes it.
    const names = async () => (await docker.listNetworks()).map((n) => n.Name);
    await vi.waitFor(async () => {
      await call({ $case: 'pruneServices', value: { keepUids: [] } });
      expect(await names()).not.toContain(`${NS}_backend`);
    }, CONVERGE);
    expect(await names()).toContain(`${NS}_shared`);
  }, TEST_TIMEOUT);

  it('leaves the swarm, and leaving again succeeds', async () => {
    const { state } = await call({ $case: 'leave', value: { force: true } });
    expect(state).toMatchObject({ localNodeState: 'inactive', controlAvailable: false, members: [] });
    const again = await call({ $case: 'leave', value: { force: true } });
    expect(again.state?.localNodeState).toBe('inactive');
  }, TEST_TIMEOUT);
});

