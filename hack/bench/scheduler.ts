// CPU per scheduling decision at N nodes × C Containers each: the scheduler as it runs (per-node sums
// kept under the informer's index stamps, only the node that changed summed again) against the same
// decision with every node's Containers summed afresh (no stamps), measured in the same run, alternating.
import { parseArgs } from 'node:util';
import type { Resource } from '../../lib/api/resource.js';
import { NodeUsageCache, scheduleContainer, type NodeContainers } from '../../controllers/docker/schedule.js';
import { fmt, summarize } from './stats.js';

const USAGE = `usage: node --import tsx hack/bench/scheduler.ts [--nodes N] [--per-node C] [--decisions D] [--rounds R]
  --nodes N       Ready nodes (default 1000)
  --per-node C    Containers already bound to each (default 30)
  --decisions D   decisions timed per round and mode; each binds its Container (default 300)
  --rounds R      rounds per mode, alternating (default 3)`;

function cluster(nodes: number, perNode: number) {
  const nodeObjs: Resource[] = Array.from({ length: nodes }, (_, i) => ({
    apiVersion: 'persys.dev/v1',
    kind: 'Node',
    metadata: { name: `node-${i}` },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '64', memory: '256Gi' } },
  }));
  const container = (name: string, owner: number, node?: string): Resource => ({
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace: 'bench', uid: `uid-${name}`, ownerReferences: [{ kind: 'ContainerSet', name: `set-${owner}`, uid: `set-${owner}` }] },
    spec: { image: 'persys/busybox:test', ...(node ? { nodeName: node } : {}), resources: { requests: { cpu: '10m', memory: '16Mi' } } },
    status: node ? { phase: 'Running' } : undefined,
  });
  const placed = new Map(nodeObjs.map((n, i) => [n.metadata.name!, Array.from({ length: perNode }, (_, j) => container(`c-${i}-${j}`, (i + j) % 50, n.metadata.name))]));
  return { nodeObjs, placed, container };
}

/** Milliseconds per decision over `decisions` decisions, each binding its Container where it was placed. */
function run(mode: 'stamped' | 'afresh', nodes: number, perNode: number, decisions: number): number {
  const { nodeObjs, placed, container } = cluster(nodes, perNode);
  const stamps = new Map<string, number>();
  let changes = 0;
  const informer: NodeContainers = {
    on: (n) => [...(placed.get(n) ?? [])],
    stamp: (n) => (mode === 'stamped' ? (stamps.get(n) ?? 0) : undefined),
  };
  const cache = new NodeUsageCache();
  const start = process.hrtime.bigint();
  for (let i = 0; i < decisions; i++) {
    const c = container(`new-${i}`, i % 50);
    const { node } = scheduleContainer(c, nodeObjs, informer, cache);
    if (!node) throw new Error(`no node for decision ${i}`);
    placed.get(node)!.push({ ...c, spec: { ...c.spec, nodeName: node } });
    stamps.set(node, ++changes);
  }
  return Number(process.hrtime.bigint() - start) / 1e6 / decisions;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '1000' },
      'per-node': { type: 'string', default: '30' },
      decisions: { type: 'string', default: '300' },
      rounds: { type: 'string', default: '3' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  const [nodes, perNode, decisions, rounds] = [values.nodes, values['per-node'], values.decisions, values.rounds].map(Number) as [number, number, number, number];
  if (![nodes, perNode, decisions, rounds].every((v) => Number.isInteger(v) && v > 0)) throw new Error(USAGE);
  run('stamped', nodes, perNode, Math.min(decisions, 20)); // warm-up of both paths
  run('afresh', nodes, perNode, Math.min(decisions, 20));
  const ms = { stamped: [] as number[], afresh: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? (['afresh', 'stamped'] as const) : (['stamped', 'afresh'] as const)) ms[mode].push(run(mode, nodes, perNode, decisions));
  }
  const s = summarize(ms.stamped);
  const a = summarize(ms.afresh);
  console.log(`scheduling decision at ${nodes} nodes × ${perNode} Containers, ${decisions} decisions × ${rounds} rounds per mode (ms per decision)`);
  console.log(`  stamped (as the scheduler runs) p50 ${fmt(s.p50, 2)} (${fmt(s.min, 2)}–${fmt(s.max, 2)})`);
  console.log(`  summed afresh                   p50 ${fmt(a.p50, 2)} (${fmt(a.min, 2)}–${fmt(a.max, 2)})   stamped/afresh ${fmt(s.p50 / a.p50, 2)}`);
}

main();
