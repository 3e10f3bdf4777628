// Where a CLI run reads and writes: the process's streams by default, buffers in tests, so `main()`
// can run in-process. Output to a pipe drains asynchronously: see flushProcessOutput.
import { once } from 'node:events';

export interface Io {
  /** Writes `text` and a newline to standard output. */
  out(text: string): void;
  /** Writes `text` to standard output as it is, without adding a newline (`-o jsonpath`). */
  write(text: string): void;
  /** Writes `text` and a newline to standard error. */
  err(text: string): void;
  /** All of standard input (for `-f -`). */
  stdin(): Promise<string>;
  /** Ends long-running commands (`get -w`) when aborted; the process's Ctrl-C does it otherwise. */
  signal?: AbortSignal;
  /**
   * Resolves once standard output has room again; a command printing a long list awaits it between
   * pages, so a slow reader (`| less`) holds the list back rather than the process buffering all of it.
   */
  drain?(): Promise<void>;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text + '\n'),
  write: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text + '\n'),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    return Buffer.concat(chunks).toString('utf8');
  },
  drain: async () => {
    if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
  },
};

/**
 * Resolves when everything written to stdout and stderr has reached the OS. A pipe takes only
 * ~64 KiB at once and Node queues the rest: process.exit() before this would cut the output there.
 */
export async function flushProcessOutput(): Promise<void> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((done) => s.write('', () => done()))));
}

/**
 * A reader that goes away (`persys get … | head`) makes further writes fail with EPIPE: end at once
 * with the status a shell reports for SIGPIPE (128 + 13), as kubectl ends, rather than crashing.
 */
export function exitOnClosedOutput(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(141);
      throw err;
    });
  }
}

/** An Io that records output; for tests and for programs that call `main()` themselves. */
export interface CapturedIo extends Io {
  stdout(): string;
  stderr(): string;
}

export function captureIo(stdin = '', signal?: AbortSignal): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (t) => void out.push(t + '\n'),
    write: (t) => void out.push(t),
    err: (t) => void err.push(t + '\n'),
    stdin: async () => stdin,
    signal,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
