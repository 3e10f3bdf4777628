// Idle RSS of the `persys agent` process (issue 13, "a lean agent"): one node with N running Containers;
// each round starts the agent afresh over the running containers (product default heartbeat, 10 s), lets
// it settle, then reads its VmRSS. Repeating --entry compares builds of the CLI (e.g. a compiled bundle).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TestCluster } from '../../e2e/harness/cluster.js';
import { sleepingContainerSet } from '../../e2e/harness/workloads.js';
import { ensureDocker, HOST_SOCKET, removeNamespaceContainers } from '../../e2e/harness/docker.js';
import { summarize } from './stats.js';
import { until } from './until.js';

const NAMESPACE = 'rss';
const NODE = 'rss-1';
const USAGE = `usage: node --import tsx hack/bench/agent-rss.ts [--containers N] [--rounds R] [--settle SECONDS] [--entry FILE]...
  --containers N   running Containers on the node (default 50)
  --rounds R       agent starts measured per entry (default 3)
  --settle S       idle time after a start before reading RSS (default 30)
  --entry FILE     the CLI the agent runs from (default bin/persys.js, the build; bin/persys-dev.js runs the
                   sources through tsx); repeat it
                   to compare builds, measured in alternating order each round`;

const kb = (pid: number, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const mb = (k: number) => Math.round(k / 1024);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      containers: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '3' },
      settle: { type: 'string', default: '30' },
      entry: { type: 'string', multiple: true },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  const [n, rounds, settleS] = [values.containers, values.rounds, values.settle].map(Number) as [number, number, number];
  if (![n, rounds, settleS].every((v) => Number.isInteger(v) && v >= 0) || rounds === 0) throw new Error(USAGE);
  const entries = values.entry?.length ? values.entry.map((e) => resolve(e)) : [resolve(import.meta.dirname, '../../bin/persys.js')];
  const docker = await ensureDocker();
  const cluster = await TestCluster.start({ agents: [{ name: NODE, dockerHost: `unix://${HOST_SOCKET}` }] });
  try {
    await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    await cluster.client.create(sleepingContainerSet('rss', NAMESPACE, n, { cpu: '1m', memory: '1Mi' }));
    const running = async () => (await cluster.client.list('Container', { namespace: NAMESPACE })).items.filter((c) => c.status?.phase === 'Running').length;
    await until(`${n} Containers Running`, 600_000, running, (k) => k >= n, 1_000);
    // The harness's agent joined the node and started the containers; the measured ones reuse its credentials.
    await cluster.agents.get(NODE)!.stop();
    const rss = new Map<string, number[]>(entries.map((e) => [e, []]));
    const hwm = new Map<string, number[]>(entries.map((e) => [e, []]));
    for (let r = 0; r < rounds; r++) {
      for (const entry of r % 2 ? [...entries].reverse() : entries) {
        const child = startAgent(entry, cluster);
        try {
          await new Promise((res) => setTimeout(res, settleS * 1000));
          if (child.exitCode !== null) throw new Error(`the agent exited with ${child.exitCode}`);
          rss.get(entry)!.push(mb(kb(child.pid!, 'VmRSS')));
          hwm.get(entry)!.push(mb(kb(child.pid!, 'VmHWM')));
          console.error(`round ${r + 1} ${entry}: RSS ${rss.get(entry)!.at(-1)} MB (peak ${hwm.get(entry)!.at(-1)} MB), ${await running()} Running`);
        } finally {
          await stopChild(child);
        }
      }
    }
    cluster.agents.get(NODE)!.start();
    console.log(`persys agent idle with ${n} running Containers, ${settleS} s after a start, ${rounds} rounds (machine shared with other work)`);
    for (const e of entries) {
      const s = summarize(rss.get(e)!);
      const h = summarize(hwm.get(e)!);
      console.log(`  ${e}\n    RSS median ${s.p50} MB (min ${s.min}, max ${s.max}); peak median ${h.p50} MB (min ${h.min}, max ${h.max})`);
    }
  } finally {
    await cluster.client.delete('Namespace', NAMESPACE).catch(() => undefined);
    await until('the namespace emptied', 120_000, async () => (await cluster.client.list('Container', { namespace: NAMESPACE })).items.length, (k) => k === 0, 1_000).catch(() => undefined);
    await cluster.stop();
    await removeNamespaceContainers([docker], NAMESPACE);
  }
}

/** `persys agent` for the node the harness joined, from `entry`, with the product's default heartbeat. */
function startAgent(entry: string, cluster: TestCluster): ChildProcess {
  const args = [
    entry, 'agent',
    '--server', `127.0.0.1:${cluster.apiPort}`,
    '--node-name', NODE,
    '--data-dir', join(cluster.dir, 'agents', NODE),
    '--docker-host', `unix://${HOST_SOCKET}`,
    '--proxy-mode', 'off',
    '--metrics-listen', '127.0.0.1:0',
    '--log-level', 'warn',
  ];
  return spawn(process.execPath, args, { cwd: cluster.dir, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  child.kill('SIGTERM');
  await exited;
  clearTimeout(timer);
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exitCode = 1;
});
