// The reduced scale test CI runs (issue 13): real etcd, API server and controllers, 100 hollow nodes in this
// process, 3,000 Containers through ContainerSets of mixed sizes. Everything ends Running, nothing is lost or
// doubled, no node turns NotReady; deleting the sets removes every Container. No timing is asserted.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../lib/client/client.js';
import type { Resource } from '../../lib/api/resource.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { startHollowFleet, type HollowFleet } from '../../node-agent/hollow/fleet.js';
import { eventually, TestCluster } from '../harness/cluster.js';

const NODES = 100;
const PREFIX = 'scale-';
const NAMESPACES = ['scale-a', 'scale-b', 'scale-c'];
/** clusterloader2's density mix: a few big sets, more middling and small ones; 3,000 replicas in all. */
const SETS: { namespace: string; name: string; replicas: number }[] = [
  [500, 500, 300, 300, 300, 300, 200, 200, 100, 100, 50, 50, 50, 50],
].flat().map((replicas, i) => ({ namespace: NAMESPACES[i % NAMESPACES.length]!, name: `density-${i}`, replicas }));
const TOTAL = SETS.reduce((n, s) => n + s.replicas, 0);
/** A page of a list: a single answer of 3,000 objects would pass the 4 MiB gRPC message limit. */
const PAGE = 500;

let cluster: TestCluster;
let fleet: HollowFleet;

/** Every object of `kind` (in `namespace`, or all), page by page. */
async function listAll(client: ApiClient, kind: string, namespace?: string): Promise<Resource[]> {
  const out: Resource[] = [];
  let cont = '';
  do {
    const page = await client.list(kind, { namespace, limit: PAGE, continue: cont });
    out.push(...page.items);
    cont = page.continue;
  } while (cont);
  return out;
}

async function scaleContainers(): Promise<Resource[]> {
  return (await Promise.all(NAMESPACES.map((ns) => listAll(cluster.client, 'Container', ns)))).flat();
}

const isReady = (n: Resource) => (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');

beforeAll(async () => {
  cluster = await TestCluster.start({ agents: [] });
  fleet = await startHollowFleet({
    count: NODES,
    servers: [`127.0.0.1:${cluster.apiPort}`],
    joinServer: `127.0.0.1:${cluster.joinPort}`,
    token: cluster.token,
    caCertHash: cluster.caCertHash,
    namePrefix: PREFIX,
    dataDir: join(cluster.dir, 'hollow'),
    logger: silentLogger(),
  });
  await fleet.allConnected();
  await eventually(
    `${NODES} hollow nodes Ready`,
    async () => (await listAll(cluster.client, 'Node')).filter((n) => n.metadata.name?.startsWith(PREFIX) && isReady(n)).length,
    (ready) => ready === NODES,
    60_000,
    500,
  );
  for (const name of NAMESPACES) await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name } });
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  await cluster?.stop();
}, 120_000);

describe(`${TOTAL} Containers on ${NODES} hollow nodes`, () => {
  it('runs every replica of every ContainerSet exactly once, each bound to a hollow node, with no node NotReady', async () => {
    for (const s of SETS) {
      await cluster.client.create({
        apiVersion: 'persys.dev/v1',
        kind: 'ContainerSet',
        metadata: { name: s.name, namespace: s.namespace },
        spec: {
          replicas: s.replicas,
          selector: { matchLabels: { app: s.name } },
          template: { metadata: { labels: { app: s.name } }, spec: { image: 'persys/busybox:test', command: ['sleep', '3600'] } },
        },
      });
    }
    let last: Resource[] = [];
    try {
      await eventually(
        `${TOTAL} Containers Running`,
        async () => (last = await scaleContainers()).filter((c) => c.status?.phase === 'Running').length,
        (running) => running === TOTAL,
        240_000,
        2_000,
      );
    } catch (e) {
      const phases: Record<string, number> = {};
      for (const c of last) phases[c.status?.phase ?? 'none'] = (phases[c.status?.phase ?? 'none'] ?? 0) + 1;
      throw new Error(`${(e as Error).message}\n${last.length} Containers by phase: ${JSON.stringify(phases)}\n${cluster.logs()}`);
    }
    const containers = await scaleContainers();
    expect(containers.length).toBe(TOTAL);

    // Exactly the desired count per set: nothing lost, nothing doubled.
    const bySet = new Map<string, Resource[]>();
    for (const c of containers) {
      const owner = c.metadata.ownerReferences?.find((r) => r.kind === 'ContainerSet' && r.controller);
      const key = `${c.metadata.namespace}/${owner?.name ?? '(none)'}`;
      bySet.set(key, [...(bySet.get(key) ?? []), c]);
    }
    expect(Object.fromEntries([...bySet].map(([k, cs]) => [k, cs.length]))).toEqual(
      Object.fromEntries(SETS.map((s) => [`${s.namespace}/${s.name}`, s.replicas])),
    );
    expect(new Set(containers.map((c) => `${c.metadata.namespace}/${c.metadata.name}`)).size).toBe(TOTAL);

    // Each is bound to a hollow node, whose engine runs exactly the Containers bound to it.
    const nodeNames = new Set(fleet.nodes.map((n) => n.name));
    expect(containers.filter((c) => !nodeNames.has(c.spec?.nodeName))).toEqual([]);
    for (const node of fleet.nodes) {
      const running = (await node.runtime.listManaged()).filter((m) => m.state === 'running').map((m) => m.uid).sort();
      const bound = containers.filter((c) => c.spec.nodeName === node.name).map((c) => c.metadata.uid!).sort();
      expect(running, `engine of ${node.name}`).toEqual(bound);
    }

    const nodes = (await listAll(cluster.client, 'Node')).filter((n) => n.metadata.name?.startsWith(PREFIX));
    expect(nodes.length).toBe(NODES);
    expect(nodes.filter((n) => !isReady(n)).map((n) => n.metadata.name)).toEqual([]);
  }, 300_000);

  it('removes every Container once the ContainerSets are deleted', async () => {
    for (const s of SETS) await cluster.client.delete('ContainerSet', s.name, s.namespace);
    await eventually(`every scale Container gone`, async () => (await scaleContainers()).length, (n) => n === 0, 180_000, 2_000);
    await eventually(
      'every hollow engine empty',
      async () => fleet.nodes.reduce((n, node) => n + node.runtime.counts().total, 0),
      (n) => n === 0,
      60_000,
      1_000,
    );
    const nodes = (await listAll(cluster.client, 'Node')).filter((n) => n.metadata.name?.startsWith(PREFIX));
    expect(nodes.filter((n) => !isReady(n)).map((n) => n.metadata.name)).toEqual([]);
  }, 240_000);
});
