// Quiet when idle (issue 13): a one-node cluster of real processes with running Containers and nothing
// changing writes to etcd at most the control-plane budget (1,000 an hour) plus one node Lease renewal per
// heartbeat. Counted as etcd revisions over a window, not timed. Seven controller Leases renewed every 2 s
// (the old election) wrote ~150 in this window, against a bound of 25.
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, TestCluster } from '../harness/cluster.js';
import { ensureDocker, HOST_SOCKET, removeNamespaceContainers } from '../harness/docker.js';
import { countEtcdWrites, topWriters } from '../harness/etcd-writes.js';
import { sleepingContainerSet } from '../harness/workloads.js';

const NS = 'idlewrites';
const CONTAINERS = 10;
const WINDOW_MS = 45_000;
/** The budget for the control plane (API server and controllers) with nothing changing. */
const CONTROL_PLANE_WRITES_PER_HOUR = 1_000;
/** The harness's agents heartbeat every second. */
const HEARTBEAT_MS = 1_000;

let cluster: TestCluster;
let docker: Dockerode;

beforeAll(async () => {
  docker = await ensureDocker();
  cluster = await TestCluster.start({ agents: [{ name: 'idle-1', dockerHost: `unix://${HOST_SOCKET}` }] });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
}, 120_000);

afterAll(async () => {
  await cluster?.client.delete('Namespace', NS).catch(() => undefined);
  await cluster?.stop();
  await removeNamespaceContainers([docker], NS);
}, 120_000);

describe('an idle cluster', () => {
  it('writes at most the control-plane budget plus one node Lease renewal per heartbeat', async () => {
    await cluster.client.create(sleepingContainerSet('idle', NS, CONTAINERS));
    await eventually(
      `${CONTAINERS} Containers Running`,
      async () => (await cluster.client.list('Container', { namespace: NS })).items,
      (items) => items.filter((c) => c.status?.phase === 'Running').length === CONTAINERS,
      120_000,
    );
    const set = await eventually(
      'the ContainerSet to report every replica ready',
      () => cluster.client.get('ContainerSet', 'idle', NS),
      (s) => s.status?.readyReplicas === CONTAINERS,
      60_000,
    );
    expect(set.status.readyReplicas).toBe(CONTAINERS);

    const count = await countEtcdWrites(cluster.etcd.endpoint, WINDOW_MS);
    const controlPlane = count.revisions - count.nodeLeaseWrites;
    const budget = Math.ceil((CONTROL_PLANE_WRITES_PER_HOUR * count.windowMs) / 3_600_000);
    // Slack for a write that belongs to the cluster settling (a late status or Event), not to idling.
    const why = `${controlPlane} control-plane writes in ${count.windowMs} ms (budget ${budget}):\n${topWriters(count).join('\n')}`;
    expect(controlPlane, why).toBeLessThanOrEqual(budget + 12);
    expect(count.nodeLeaseWrites, why).toBeLessThanOrEqual(Math.ceil(count.windowMs / HEARTBEAT_MS) + 2);
  }, 300_000);
});
