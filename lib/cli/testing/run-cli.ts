// Runs the CLI in-process against a FakeClient with a fixed clock, capturing its output.
import { captureIo } from '../io.js';
import { main } from '../main.js';
import type { FakeClient } from './fake-client.js';

export const TEST_NOW = new Date('2024-05-01T12:00:00Z');

// Paths only: the fake client never reads them, but the config loader insists on credentials.
const CREDENTIALS = ['--ca-cert', '/nonexistent/ca.pem', '--client-cert', '/nonexistent/c.pem', '--client-key', '/nonexistent/k.pem'];

export interface CliRun {
  code: number;
  out: string;
  err: string;
  sleeps: number[];
}

export async function runCli(
  client: FakeClient,
  args: string[],
  opts: { stdin?: string; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  const io = captureIo(opts.stdin ?? '', opts.signal);
  const sleeps: number[] = [];
  let now = TEST_NOW.getTime();
  const code = await main([...args, ...CREDENTIALS], io, {
    newClient: () => client,
    // Sleeping advances the fake clock, so timeouts are reached without waiting.
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    now: () => new Date(now),
    env: opts.env ?? {},
  });
  return { code, out: io.stdout(), err: io.stderr(), sleeps };
}
