// Summarizes a V8 .cpuprofile (node --cpu-prof, e.g. bench:apiserver --server-cpu-prof DIR): busy time,
// the top functions by self time and by inclusive time, and self time per package or source file.
// Usage: node --import tsx hack/bench/cpuprofile.ts FILE [--top N] [--from S] [--to S]
import { readFileSync } from 'node:fs';
import { benchFlags, intFlag } from './until.js';

const USAGE = `usage: node --import tsx hack/bench/cpuprofile.ts FILE [flags]
  --top N     rows per table (default 30)
  --from S    only samples at least S seconds after the profile started (default 0)
  --to S      only samples at most S seconds after it started (default: the end)`;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const flags = benchFlags(args.filter((a) => a !== file), USAGE, {
  top: { type: 'string', default: '30' },
  from: { type: 'string', default: '0' },
  to: { type: 'string', default: '1e9' },
});
if (!file) throw new Error(`a .cpuprofile file is required\n${USAGE}`);
const top = intFlag(USAGE)('top', flags.top, 1);
const [fromUs, toUs] = [Number(flags.from) * 1e6, Number(flags.to) * 1e6];

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(apiserver|lib|controllers|node-agent|hack)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
const packageOf = (url: string) => {
  if (!url) return '(native)';
  const nm = url.split('/node_modules/').pop()!;
  if (nm !== url) return nm.split('/').slice(0, nm.startsWith('@') ? 2 : 1).join('/');
  return url.replace(/^file:\/\/.*?\/(apiserver|lib|controllers|node-agent|hack)\//, '$1/');
};

const self = new Map<number, number>();
let clock = 0;
for (let i = 0; i < profile.samples.length; i++) {
  clock += profile.timeDeltas[i] ?? 0;
  if (clock < fromUs || clock > toUs) continue;
  self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

const selfByFn = new Map<string, number>();
const selfByPackage = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
for (const [id, us] of self) {
  const node = byId.get(id)!;
  const name = label(node);
  if (node.callFrame.functionName === '(idle)') continue;
  busy += us;
  selfByFn.set(name, (selfByFn.get(name) ?? 0) + us);
  const pkg = node.callFrame.functionName.startsWith('(') ? node.callFrame.functionName : packageOf(node.callFrame.url);
  selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = label(byId.get(cur)!);
    if (n.startsWith('(root)') || seen.has(n)) continue;
    seen.add(n);
    inclusive.set(n, (inclusive.get(n) ?? 0) + us);
  }
}

const table = (title: string, m: Map<string, number>) => {
  console.log(`--- ${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`);
  }
};
console.log(`busy ${(busy / 1000).toFixed(0)} ms (idle excluded)`);
table('self time by function', selfByFn);
table('self time by package or file', selfByPackage);
table('inclusive time', inclusive);
