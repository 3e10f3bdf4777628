// Idle etcd writes (issue 13, "quiet when idle"): a one-node cluster with N running Containers and
// nothing changing, counted as etcd revisions over a window and reported per hour, with the busiest keys.
import { parseArgs } from 'node:util';
import { TestCluster } from '../../e2e/harness/cluster.js';
import { sleepingContainerSet } from '../../e2e/harness/workloads.js';
import { ensureDocker, HOST_SOCKET, removeNamespaceContainers } from '../../e2e/harness/docker.js';
import { countEtcdWrites, topWriters } from '../../e2e/harness/etcd-writes.js';
import { until } from './until.js';

const NAMESPACE = 'idle';
const USAGE = `usage: node --import tsx hack/bench/idle-writes.ts [--containers N] [--window SECONDS] [--settle SECONDS]
  --containers N   running Containers of one ContainerSet (default 100)
  --window S       how long the idle cluster is watched (default 120)
  --settle S       wait after everything is Running before counting (default 20)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { containers: { type: 'string', default: '100' }, window: { type: 'string', default: '120' }, settle: { type: 'string', default: '20' }, help: { type: 'boolean' } },
  });
  if (values.help) return void console.log(USAGE);
  const n = Number(values.containers);
  const windowS = Number(values.window);
  const settleS = Number(values.settle);
  if (![n, windowS, settleS].every((v) => Number.isInteger(v) && v >= 0) || windowS === 0) throw new Error(USAGE);
  const docker = await ensureDocker();
  const cluster = await TestCluster.start({ agents: [{ name: 'idle-n1', dockerHost: `unix://${HOST_SOCKET}` }] });
  try {
    await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    await cluster.client.create(sleepingContainerSet('idle', NAMESPACE, n, { cpu: '1m', memory: '1Mi' }));
    await until(`${n} Containers Running`, 600_000, async () => (await cluster.client.list('Container', { namespace: NAMESPACE })).items, (items) => items.filter((c) => c.status?.phase === 'Running').length >= n, 1_000);
    console.error(`${n} Containers Running; settling ${settleS} s, then counting for ${windowS} s`);
    await new Promise((r) => setTimeout(r, settleS * 1000));
    const c = await countEtcdWrites(cluster.etcd.endpoint, windowS * 1000);
    const perHour = (x: number) => Math.round((x * 3_600_000) / c.windowMs);
    const controlPlane = c.revisions - c.nodeLeaseWrites;
    console.log(`idle writes over ${(c.windowMs / 1000).toFixed(0)} s with 1 node and ${n} running Containers (agent heartbeat 1 s, the e2e harness's)`);
    console.log(`  all revisions        ${c.revisions} (${perHour(c.revisions)}/hour)`);
    console.log(`  node Lease renewals  ${c.nodeLeaseWrites} (${perHour(c.nodeLeaseWrites)}/hour; one per heartbeat)`);
    console.log(`  control plane        ${controlPlane} (${perHour(controlPlane)}/hour; budget 1,000/hour)`);
    console.log(`  busiest keys:\n    ${topWriters(c).join('\n    ')}`);
  } finally {
    await cluster.client.delete('Namespace', NAMESPACE).catch(() => undefined);
    await cluster.stop();
    await removeNamespaceContainers([docker], NAMESPACE);
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exitCode = 1;
});
