// How long a `persys` command takes from exec to exit: the build (bin/persys.js, dist/) against the
// sources through tsx (bin/persys-dev.js), measured in the same run in alternating order, for `--help`
// (nothing but the command table) and `get ns` (config, TLS, one List) against a real API server.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startTestApiServer } from '../../e2e/harness/apiserver.js';
import { startEtcd } from '../../e2e/harness/etcd.js';
import { fmt, summarize } from './stats.js';

const REPO = resolve(import.meta.dirname, '../..');
const USAGE = `usage: npm run bench:cli -- [--rounds N] [--warmup N]
  --rounds N   timed runs of each command from each entry (default 20)
  --warmup N   untimed runs first, so the file cache is warm for both (default 3)`;

const ENTRIES = { build: 'bin/persys.js', tsx: 'bin/persys-dev.js' } as const;
type Entry = keyof typeof ENTRIES;

const run = promisify(execFile);

/**
 * Wall-clock milliseconds of one `node ENTRY ARGS…` run; rejects when it fails. Asynchronous: the API
 * server it talks to runs in this process.
 */
async function timeRun(entry: Entry, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const start = process.hrtime.bigint();
  await run(process.execPath, [resolve(REPO, ENTRIES[entry]), ...args], { cwd: REPO, env, timeout: 30_000 });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, warmup: { type: 'string', default: '3' }, help: { type: 'boolean' } } });
  if (values.help) return void console.log(USAGE);
  const [rounds, warmup] = [Number(values.rounds), Number(values.warmup)];
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(warmup) || warmup < 0) throw new Error(USAGE);

  const etcd = await startEtcd();
  const api = await startTestApiServer(etcd.endpoint);
  try {
    const env = {
      ...process.env,
      PERSYS_SERVER: api.config.server,
      PERSYS_CA_CERT: api.config.caCert,
      PERSYS_CLIENT_CERT: api.config.clientCert,
      PERSYS_CLIENT_KEY: api.config.clientKey,
    };
    const commands: Record<string, string[]> = { '--help': ['--help'], 'get ns': ['get', 'ns'] };
    const samples = new Map<string, number[]>();
    for (let r = -warmup; r < rounds; r++) {
      const order: Entry[] = r % 2 ? ['tsx', 'build'] : ['build', 'tsx'];
      for (const [label, args] of Object.entries(commands)) {
        for (const entry of order) {
          const ms = await timeRun(entry, args, env);
          if (r >= 0) samples.set(`${label}|${entry}`, [...(samples.get(`${label}|${entry}`) ?? []), ms]);
        }
      }
    }
    console.log(`persys CLI start to exit, ${rounds} runs each after ${warmup} warm-up, alternating order (wall-clock ms)`);
    for (const label of Object.keys(commands)) {
      const build = summarize(samples.get(`${label}|build`)!);
      const tsx = summarize(samples.get(`${label}|tsx`)!);
      console.log(
        `  ${label.padEnd(7)} build p50 ${fmt(build.p50, 0)} (min ${fmt(build.min, 0)}, max ${fmt(build.max, 0)})` +
          `   tsx p50 ${fmt(tsx.p50, 0)} (min ${fmt(tsx.min, 0)}, max ${fmt(tsx.max, 0)})   build/tsx ${fmt(build.p50 / tsx.p50, 2)}`,
      );
    }
  } finally {
    await api.stop();
    await etcd.stop();
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exitCode = 1;
});
