// Node lifecycle at the shipped defaults (no node-controller flags, the agents' own 10 s heartbeat): a
// lost host's replicas are replaced elsewhere, and a node that is alive but whose engine hangs is not.
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { DEFAULT_NODE_GRACE_PERIOD_MS } from '../../controllers/node/health.js';
import { eventually, TestCluster } from '../harness/cluster.js';
import { removeNamespaceContainers, startSecondDocker, type SecondDocker } from '../harness/docker.js';

const NS = 'nodedefaults';
const HEALTHY = 'nd-node-1';
const LOST = 'nd-node-2';

let cluster: TestCluster;
let one: SecondDocker;
let two: SecondDocker;

beforeAll(async () => {
  one = await startSecondDocker('pnd1');
  two = await startSecondDocker('pnd2');
  cluster = await TestCluster.start({
    agents: [
      { name: HEALTHY, dockerHost: `unix://${one.socket}`, heartbeatInterval: false },
      { name: LOST, dockerHost: `unix://${two.socket}`, heartbeatInterval: false },
    ],
  });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
}, 240_000);

afterAll(async () => {
  await two?.thaw();
  await cluster?.stop();
  await removeNamespaceContainers([one?.docker, two?.docker], NS);
  await one?.stop();
  await two?.stop();
}, 180_000);

const readyOf = (n: Resource) => (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready') as
  | { status: string; reason?: string; message?: string }
  | undefined;

const owned = async (set: string) => (await cluster.client.list('Container', { namespace: NS, labelSelector: `set=${set}` })).items;

async function runningUids(docker: Dockerode, set: string): Promise<string[]> {
  const list = await docker.listContainers({ filters: { label: [`dev.persys.namespace=${NS}`] } });
  return list.filter((c) => (c.Labels['dev.persys.name'] ?? '').startsWith(`${set}-`)).map((c) => c.Labels['dev.persys.uid'] ?? '');
}

/** Applies a set of 4 and waits until it runs on both nodes; returns the replicas on LOST. */
async function fourOnBothNodes(set: string): Promise<Resource[]> {
  await cluster.client.apply({
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name: set, namespace: NS },
    spec: {
      replicas: 4,
      selector: { matchLabels: { set } },
      template: { metadata: { labels: { set } }, spec: { image: 'persys/busybox:test', command: ['sh', '-c', 'exec sleep 3600'] } },
    },
  });
  const running = await eventually(`4 replicas of ${set} Running on both nodes`, () => owned(set), (cs) =>
    cs.length === 4 && cs.every((c) => c.status?.phase === 'Running') && new Set(cs.map((c) => c.spec.nodeName)).size === 2, 90_000);
  return running.filter((c) => c.spec.nodeName === LOST);
}

/** Samples LOST's Ready condition every 200 ms until stopped: every status other than True it saw. */
function watchReady(): { stop(): Promise<string[]> } {
  const seen: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const ready = readyOf(await cluster.client.get('Node', LOST).catch(() => ({}) as Resource));
      if (ready && ready.status !== 'True') seen.push(`${ready.status}: ${ready.message}`);
      await sleep(200);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return seen;
    },
  };
}

describe('node lifecycle at the shipped defaults', () => {
  it('an alive agent whose engine hangs longer than the lease grace keeps its node Ready and its replicas in place', async () => {
    const onLost = await fourOnBothNodes('nd-hung');
    const watch = watchReady();
    // dockerd and its containers stopped (SIGSTOP): every Docker call of the agent hangs, its heartbeats go on.
    await two.freeze();
    try {
      await sleep(DEFAULT_NODE_GRACE_PERIOD_MS + 10_000);
    } finally {
      await two.thaw();
    }
    expect(await watch.stop()).toEqual([]);
    const lease = await cluster.client.get('Lease', LOST, 'persys-node-lease');
    expect(Date.now() - Date.parse(lease.spec.renewTime)).toBeLessThan(DEFAULT_NODE_GRACE_PERIOD_MS);
    const after = await owned('nd-hung');
    expect(after.filter((c) => c.spec.nodeName === LOST).map((c) => c.metadata.uid).sort()).toEqual(onLost.map((c) => c.metadata.uid).sort());
    await cluster.client.delete('ContainerSet', 'nd-hung', NS);
    await eventually('nd-hung gone', () => owned('nd-hung'), (cs) => cs.length === 0, 90_000);
  }, 300_000);

  it('a lost host (its engine and agent killed) has its replicas replaced on the healthy node, and back, removes its stale copies', async () => {
    const onLost = await fourOnBothNodes('nd-lost');
    const lostUids = new Set(onLost.map((c) => c.metadata.uid!));
    const agent = cluster.agents.get(LOST)!;
    await Promise.all([agent.kill(), two.crash()]);

    const node = await eventually(`${LOST} Ready=Unknown`, () => cluster.client.get('Node', LOST), (n) => readyOf(n)?.status === 'Unknown', 90_000, 200);
    // Found through the broken stream, not by waiting out the lease.
    expect(readyOf(node)?.message).toBe('agent stream lost and not re-established');
    const replaced = await eventually(`the replicas of nd-lost replaced on ${HEALTHY}`, () => owned('nd-lost'), (cs) =>
      cs.length === 4 && cs.every((c) => c.status?.phase === 'Running' && c.spec.nodeName === HEALTHY && !lostUids.has(c.metadata.uid!)), 120_000);
    await eventually(`the replacements running in ${HEALTHY}'s engine`, () => runningUids(one.docker, 'nd-lost'), (uids) =>
      replaced.every((c) => uids.includes(c.metadata.uid!)), 60_000);

    await two.startEngine();
    agent.start();
    await cluster.waitNodeReady(LOST, 120_000);
    await eventually(`${LOST} to run none of the replaced copies`, () => runningUids(two.docker, 'nd-lost'), (uids) => uids.length === 0, 120_000);
    const api = await owned('nd-lost');
    expect(api.map((c) => c.metadata.uid).sort()).toEqual(replaced.map((c) => c.metadata.uid).sort());
    await cluster.client.delete('ContainerSet', 'nd-lost', NS);
    await eventually('nd-lost gone', () => owned('nd-lost'), (cs) => cs.length === 0, 90_000);
  }, 420_000);
});
