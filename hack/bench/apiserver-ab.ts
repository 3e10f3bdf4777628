// API server CPU per create of two builds, compared in one run (`npm run bench:apiserver-ab`). This
// machine's speed drifts by a third within minutes, so figures from separate runs cannot show a 10%
// change: here bench:apiserver runs one round at a time, alternating the base build (a git ref, built
// in a temporary worktree) and the working tree's build (dist/), and each pair gives a ratio.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, spreadOf, type Spread } from './stats.js';
import { benchFlags, emitResult, intFlag, runBench } from './until.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const USAGE = `usage: npm run bench:apiserver-ab -- --base REF [flags] [-- bench:apiserver flags]
  --base REF    the git ref to compare against (built in a temporary worktree)
  --pairs N     rounds per build, taken in turns: base, head, base, head … (default 4)
  --json FILE   also write the JSON result there
Head is dist/ of this tree: run \`npm run build\` first. Each round is one \`bench:apiserver --rounds 1\`
(its create and no-op phases; the watch phases are cut to a minimum), with the build's API server
started by a generated --server-entry.`;

interface Round {
  build: 'base' | 'head';
  cpuMsPerCreate: number;
  noopMs: number;
  createsPerSecond: number;
  createsPerRevision: number;
}

/** A --server-entry that starts the API server of the build in `dist`, as hack/bench/apiserver-child.ts does. */
function entryFor(dist: string, dir: string, name: string): string {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(
    file,
    `import { join } from 'node:path';
const { initPki } = await import(${JSON.stringify(join(dist, 'lib/pki/index.js'))});
const { startApiServer } = await import(${JSON.stringify(join(dist, 'apiserver/server.js'))});
const { createLogger } = await import(${JSON.stringify(join(dist, 'lib/observability/logger.js'))});
const [etcd, dataDir, listen, level = 'warn'] = process.argv.slice(2);
const pki = await initPki(join(dataDir, 'pki'));
const server = await startApiServer({ etcdEndpoints: [etcd], listen, joinListen: '127.0.0.1:0', metricsListen: '127.0.0.1:0',
  caCertFile: pki.caCert, serverCertFile: pki.serverCert, serverKeyFile: pki.serverKey, compactionIntervalMs: 3_600_000,
  logger: createLogger('apiserver', level) });
process.once('SIGTERM', () => server.stop().then(() => process.exit(0), () => process.exit(1)));
`,
  );
  return file;
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd} (exit ${r.status})`);
}

function round(build: Round['build'], entry: string, dir: string, extra: string[]): Round {
  const json = join(dir, 'round.json');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'hack/bench/apiserver.ts'), '--rounds', '1', '--load-watchers', '0', '--watchers', '10', '--events', '20', '--server-entry', entry, '--json', json, ...extra],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0 && r.status !== 1) throw new Error(`bench:apiserver exited ${r.status}`);
  const res = JSON.parse(readFileSync(json, 'utf8')) as {
    rounds: { serverCpuMsPerCreate: number; persysCreate: { perSecond: number; count: number; revisions: number; noop: { count: number; cpuSeconds: { apiserver: number } } } }[];
  };
  const { serverCpuMsPerCreate, persysCreate: p } = res.rounds[0]!;
  return { build, cpuMsPerCreate: serverCpuMsPerCreate, noopMs: (p.noop.cpuSeconds.apiserver * 1000) / p.noop.count, createsPerSecond: p.perSecond, createsPerRevision: p.count / p.revisions };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dash = args.indexOf('--');
  const flags = benchFlags(dash < 0 ? args : args.slice(0, dash), USAGE, {
    base: { type: 'string' },
    pairs: { type: 'string', default: '4' },
    json: { type: 'string' },
  });
  if (!flags.base) throw new Error(`--base is required\n${USAGE}`);
  const pairs = intFlag(USAGE)('pairs', flags.pairs, 1);
  const extra = dash < 0 ? [] : args.slice(dash + 1);
  const dir = mkdtempSync(join(tmpdir(), 'persys-ab-'));
  const worktree = join(dir, 'base');
  try {
    run('git', ['worktree', 'add', '--detach', worktree, flags.base], REPO);
    symlinkSync(join(REPO, 'node_modules'), join(worktree, 'node_modules'));
    run('npm', ['run', 'build'], worktree);
    const entries = { base: entryFor(join(worktree, 'dist'), dir, 'base'), head: entryFor(join(REPO, 'dist'), dir, 'head') };
    const rounds: Round[] = [];
    for (let i = 0; i < pairs; i++) {
      for (const build of ['base', 'head'] as const) {
        const r = round(build, entries[build], dir, extra);
        rounds.push(r);
        console.log(`pair ${i + 1} ${build}: API server CPU ${fmt(r.cpuMsPerCreate, 3)} ms/create, no-op ${fmt(r.noopMs, 3)} ms, ${fmt(r.createsPerSecond, 0)} creates/s, ${fmt(r.createsPerRevision)} creates per etcd revision`);
      }
    }
    const of = (b: Round['build']) => rounds.filter((r) => r.build === b);
    const paired = (f: (r: Round) => number) => spreadOf(of('head').map((h, i) => f(h) / f(of('base')[i]!)));
    const summary = {
      base: { cpuMsPerCreate: spreadOf(of('base').map((r) => r.cpuMsPerCreate), 3), noopMs: spreadOf(of('base').map((r) => r.noopMs), 3), createsPerSecond: spreadOf(of('base').map((r) => r.createsPerSecond), 0) },
      head: { cpuMsPerCreate: spreadOf(of('head').map((r) => r.cpuMsPerCreate), 3), noopMs: spreadOf(of('head').map((r) => r.noopMs), 3), createsPerSecond: spreadOf(of('head').map((r) => r.createsPerSecond), 0) },
      headOverBase: { cpuPerCreate: paired((r) => r.cpuMsPerCreate), cpuPerCreateOverNoop: paired((r) => r.cpuMsPerCreate / r.noopMs), createsPerSecond: paired((r) => r.createsPerSecond) },
    };
    const line = (s: Spread | undefined, d = 3) => (s ? `${fmt(s.median, d)} (${fmt(s.min, d)}–${fmt(s.max, d)})` : 'n/a');
    console.log(`base ${flags.base}: CPU ${line(summary.base.cpuMsPerCreate)} ms/create, no-op ${line(summary.base.noopMs)} ms, ${line(summary.base.createsPerSecond, 0)} creates/s`);
    console.log(`head (dist/): CPU ${line(summary.head.cpuMsPerCreate)} ms/create, no-op ${line(summary.head.noopMs)} ms, ${line(summary.head.createsPerSecond, 0)} creates/s`);
    console.log(`head/base, pair by pair: CPU per create ${line(summary.headOverBase.cpuPerCreate, 2)}, the same over each round's no-op ${line(summary.headOverBase.cpuPerCreateOverNoop, 2)}, creates/s ${line(summary.headOverBase.createsPerSecond, 2)}`);
    emitResult({ base: flags.base, pairs, rounds, summary }, flags.json, []);
  } finally {
    spawnSync('git', ['worktree', 'remove', '--force', worktree], { cwd: REPO, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
