// What every benchmark shares: bounded polling that says what it was waiting for, its flags (checked
// against its usage text), and how it reports its result and ends.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

export class WaitTimeout extends Error {
  override readonly name = 'WaitTimeout';
}

/** Polls `probe` until `done` holds; throws WaitTimeout with the last value and error after `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T>, done: (v: T) => boolean, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new WaitTimeout(`timed out after ${timeoutMs / 1000} s waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 400)}${lastErr ? `; error: ${String(lastErr)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** A reader of integer flags that names the flag and prints `usage` when a value is not a whole number ≥ min. */
export function intFlag(usage: string): (name: string, value: string | undefined, min: number) => number {
  return (name, value, min) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${String(value)}\n${usage}`);
    return n;
  };
}

type StringFlags = Record<string, { type: 'string'; default?: string }>;
type StringFlagValues<T extends StringFlags> = { [K in keyof T]: T[K] extends { default: string } ? string : string | undefined };

/** A benchmark's flags (all string-valued), parsed strictly; -h/--help prints `usage` and exits. */
export function benchFlags<T extends StringFlags>(argv: string[], usage: string, options: T): StringFlagValues<T> {
  const { values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } } }) as { values: Record<string, unknown> };
  if (values['help']) {
    console.log(usage);
    process.exit(0);
  }
  return values as unknown as StringFlagValues<T>;
}

/** --skip LIST: the comma-separated names, each one of `allowed`. */
export function skipFlag(list: string, allowed: readonly string[], usage: string): Set<string> {
  const skip = new Set(list.split(',').map((s) => s.trim()).filter(Boolean));
  for (const s of skip) if (!allowed.includes(s)) throw new Error(`--skip: unknown ${JSON.stringify(s)} (one of ${allowed.join(', ')})\n${usage}`);
  return skip;
}

/** Prints a benchmark's result as one JSON line (also into `path`, when given); failed rounds make the exit code 1. */
export function emitResult(result: object, path: string | undefined, errors: readonly string[]): void {
  const json = JSON.stringify(result);
  if (path) writeFileSync(path, `${json}\n`);
  console.log(json);
  process.exitCode = errors.length ? 1 : 0;
}

/** Runs a benchmark's main; an exception is printed and exits 2. */
export function runBench(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(2);
  });
}
