// The swarm-services controller alone against a real API server, with no membership controller and no
// shared memory: the test writes Node status as the membership controller would, and the controller
// sends each SwarmService to the manager that status names (a fake SwarmCaller stands in for the API
// server's relay to the node's agent and records where each call went).
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApiServer, type TestApiServer } from '../../../e2e/harness/apiserver.js';
import { waitFor } from '../../../e2e/harness/wait.js';
import type { Resource } from '../../../lib/api/resource.js';
import type { SwarmResponse } from '../../../lib/gen/persys/v1/agent.js';
import { silentLogger } from '../../../lib/observability/logger.js';
import { runControllers, type RunningControllers } from '../../runtime/manager.js';
import type { SwarmCaller } from '../swarm-caller.js';
import { newSwarmServicesController } from './controller.js';

const M1 = 'svc-only-m1';
const M2 = 'svc-only-m2';
const NS = 'default';
const CLUSTER = 'cluster-from-status';

interface Call {
  node: string;
  op: string;
  service?: string;
  replicas?: number;
  keepUids?: string[];
}

describe('swarm-services controller alone: the managers come from Node status', () => {
  let api: TestApiServer;
  let running: RunningControllers;
  const calls: Call[] = [];
  /** Nodes whose "agent" answers; a call to any other fails as the relay would. */
  const connected = new Set([M1, M2]);

  const swarm: SwarmCaller = {
    async call(node, operation): Promise<SwarmResponse> {
      if (!connected.has(node)) throw new Error(`node "${node}" is not connected to this API server`);
      if (operation.$case === 'applyService') {
        const svc = operation.value;
        const replicas = svc.spec?.replicas ?? 1;
        calls.push({ node, op: 'applyService', service: `${svc.metadata?.namespace}/${svc.metadata?.name}`, replicas });
        return {
          removedServices: [],
          service: { serviceId: `docker-${svc.metadata?.name}`, desiredTasks: replicas, runningTasks: replicas, updateState: '', updateMessage: '', taskErrors: [], observedGeneration: 0, conditions: [] },
        };
      }
      if (operation.$case === 'pruneServices') {
        calls.push({ node, op: 'pruneServices', keepUids: [...operation.value.keepUids] });
        return { removedServices: [] };
      }
      throw new Error(`unexpected operation ${operation.$case}`);
    },
  };

  /** Writes a Node's status as a membership round would: Ready from the node controller, status.swarm and SwarmMember. */
  async function writeNodeStatus(
    name: string,
    swarmStatus: Record<string, unknown>,
    { member = { status: 'True', reason: 'Member', message: `member of swarm ${CLUSTER}` }, ready = true } = {},
  ): Promise<void> {
    const node = await api.client.get('Node', name);
    await api.client.updateStatus({
      ...node,
      status: {
        ...node.status,
        swarm: swarmStatus,
        conditions: [
          ready ? { type: 'Ready', status: 'True', reason: 'AgentConnected' } : { type: 'Ready', status: 'False', reason: 'AgentDisconnected' },
          { type: 'SwarmMember', ...member },
        ],
      },
    });
  }
  const manager = (nodeId: string, o: { leader?: boolean; reachability?: string } = {}) => ({
    nodeId,
    role: 'manager',
    availability: 'active',
    state: 'ready',
    clusterId: CLUSTER,
    managerReachability: o.reachability ?? 'reachable',
    leader: o.leader ?? false,
    managerAddr: `10.9.0.${nodeId.length}:2377`,
  });
  const worker = (nodeId: string) => ({ nodeId, role: 'worker', availability: 'active', state: 'ready', clusterId: CLUSTER });

  const condition = (obj: Resource, type: string) => ((obj.status?.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[]).find((c) => c.type === type);
  const getService = () => api.client.get('SwarmService', 'web', NS);

  beforeAll(async () => {
    api = await startTestApiServer(inject('etcdEndpoint'));
    for (const name of [M1, M2]) {
      const created = await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name }, spec: { swarm: { role: 'manager' } } });
      // Ready, but no membership round has said anything of the swarm yet.
      await api.client.updateStatus({ ...created, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'AgentConnected' }] } });
    }
    const registry = new Registry();
    const logger = silentLogger();
    const set = newSwarmServicesController({
      client: api.client,
      logger,
      registry,
      swarm,
      pruneEveryMs: 500,
      informerDelay: (ms, signal) => sleep(Math.min(ms, 50), undefined, { signal }).catch(() => undefined),
    });
    running = await runControllers({ ...set, registry, logger });
  });

  afterAll(async () => {
    await running?.stop();
    await api?.stop();
  });

  it('reports no reachable manager while no Node status names one, and calls no node', async () => {
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'SwarmService', metadata: { name: 'web', namespace: NS }, spec: { image: 'persys/busybox:test', replicas: 2 } });
    const svc = await waitFor(async () => {
      const s = await getService();
      return condition(s, 'Ready')?.reason === 'SwarmUnavailable' ? s : undefined;
    }, 'web reported unavailable');
    expect(condition(svc, 'Ready')!.message).toContain('no reachable swarm manager');
    expect(calls).toEqual([]);
  });

  it('applies the service on the manager that Node status names, once it names one', async () => {
    await writeNodeStatus(M2, worker('id-m2'));
    await writeNodeStatus(M1, manager('id-m1', { leader: true }));
    const svc = await waitFor(async () => {
      const s = await getService();
      return condition(s, 'Available')?.status === 'True' ? s : undefined;
    }, 'web Available', 20_000);
    expect(svc.status).toMatchObject({ serviceId: 'docker-web', desiredTasks: 2, runningTasks: 2, observedGeneration: 1 });
    const applies = calls.filter((c) => c.op === 'applyService');
    expect(applies.length).toBeGreaterThan(0);
    expect(applies.every((c) => c.node === M1 && c.service === `${NS}/web`)).toBe(true);
    // Pruning goes to the manager too, keeping the service that still exists.
    await waitFor(async () => calls.some((c) => c.op === 'pruneServices' && c.node === M1 && c.keepUids?.includes(svc.metadata.uid!)), 'a prune on M1');
  });

  it('follows Node status to another manager when the first is no longer reachable', async () => {
    await writeNodeStatus(M1, manager('id-m1', { reachability: 'unreachable' }));
    await writeNodeStatus(M2, manager('id-m2', { leader: true }));
    const before = calls.length;
    const svc = await getService();
    await api.client.update({ ...svc, spec: { ...svc.spec, replicas: 3 } });
    await waitFor(async () => (await getService()).status?.runningTasks === 3, 'web at 3 replicas', 20_000);
    const applies = calls.slice(before).filter((c) => c.op === 'applyService' && c.replicas === 3);
    expect(applies.map((c) => c.node)).toEqual([M2]);
  });

  it('sends nothing to a manager persys does not manage, nor to one whose Node is not Ready', async () => {
    await writeNodeStatus(M2, manager('id-m2', { leader: true }), { member: { status: 'True', reason: 'NotManaged', message: 'left as it is' } });
    await writeNodeStatus(M1, manager('id-m1'), { ready: false });
    const before = calls.length;
    const svc = await getService();
    await api.client.update({ ...svc, spec: { ...svc.spec, replicas: 4 } });
    const failed = await waitFor(async () => {
      const s = await getService();
      return condition(s, 'Ready')?.reason === 'SwarmUnavailable' ? s : undefined;
    }, 'web unavailable again', 20_000);
    expect(condition(failed, 'Ready')!.message).toContain('no reachable swarm manager');
    expect(failed.status?.observedGeneration).toBe(2);
    expect(calls.slice(before).filter((c) => c.op === 'applyService')).toEqual([]);
  });

  it('removes the Docker service of a deleted SwarmService through the manager', async () => {
    await writeNodeStatus(M2, manager('id-m2', { leader: true }));
    await waitFor(async () => (await getService()).status?.runningTasks === 4, 'web at 4 replicas', 20_000);
    const { uid } = (await getService()).metadata;
    const before = calls.length;
    await api.client.delete('SwarmService', 'web', NS);
    await waitFor(async () => calls.slice(before).some((c) => c.op === 'pruneServices' && c.node === M2 && !c.keepUids?.includes(uid!)), 'a prune without web on M2');
  });
});
