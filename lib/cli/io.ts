// Where a CLI run reads and writes: the process's streams by default, buffers in tests, so `main()`
// can run in-process. Output to a pipe drains asynchronously: see flushProcessOutput.
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ReadStream, WriteStream } from 'node:tty';

export interface TerminalSize {
  width: number;
  height: number;
}

/** The terminal standard input comes from (`exec -t`). */
export interface Terminal {
  size(): TerminalSize;
  /**
   * Raw mode on or off. While on, the mode is restored however the process ends (normal exit, exit(),
   * SIGTERM, SIGHUP): a shell must never be left without echo.
   */
  setRawMode(raw: boolean): void;
  /** Calls `fn` with each new size (SIGWINCH); returns what unsubscribes. */
  onResize(fn: (size: TerminalSize) => void): () => void;
}

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
  /** Standard input as it arrives, for `exec -i`; without it, all of stdin() at once. */
  input?(): AsyncIterable<Buffer>;
  /** Writes bytes exactly as they are (exec output); without it, decoded text through write() and err(). */
  writeBytes?(stream: 'stdout' | 'stderr', data: Buffer): void;
  /** The terminal on standard input, or undefined when it is not one. */
  terminal?(): Terminal | undefined;
}

/** Output of the process's own terminal, for its size (standard output's, else standard error's). */
function sizedOutput(): WriteStream | undefined {
  return ([process.stdout, process.stderr] as WriteStream[]).find((s) => s.isTTY);
}

const EXIT_SIGNALS = { SIGTERM: 15, SIGHUP: 1, SIGINT: 2 } as const;

function processTerminal(): Terminal | undefined {
  const stdin = process.stdin as ReadStream;
  if (!stdin.isTTY) return undefined;
  let raw = false;
  const restore = () => {
    if (raw) stdin.setRawMode(false);
    raw = false;
  };
  const onSignal = (sig: keyof typeof EXIT_SIGNALS) => {
    restore();
    process.exit(128 + EXIT_SIGNALS[sig]);
  };
  return {
    size: () => {
      const [width, height] = sizedOutput()?.getWindowSize() ?? [80, 24];
      return { width, height };
    },
    setRawMode(on) {
      if (on === raw) return;
      stdin.setRawMode(on);
      raw = on;
      if (on) {
        process.once('exit', restore);
        for (const sig of Object.keys(EXIT_SIGNALS) as (keyof typeof EXIT_SIGNALS)[]) process.once(sig, onSignal);
      } else {
        process.off('exit', restore);
        for (const sig of Object.keys(EXIT_SIGNALS) as (keyof typeof EXIT_SIGNALS)[]) process.off(sig, onSignal);
      }
    },
    onResize(fn) {
      const handler = () => {
        const [width, height] = sizedOutput()?.getWindowSize() ?? [80, 24];
        fn({ width, height });
      };
      process.on('SIGWINCH', handler);
      return () => void process.off('SIGWINCH', handler);
    },
  };
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
  input: () => process.stdin,
  writeBytes: (stream, data) => void (stream === 'stderr' ? process.stderr : process.stdout).write(data),
  terminal: processTerminal,
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
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  return {
    out: (t) => void out.push(t + '\n'),
    write: (t) => void out.push(t),
    err: (t) => void err.push(t + '\n'),
    stdin: async () => stdin,
    input: () => Readable.from(stdin ? [Buffer.from(stdin)] : []),
    writeBytes: (stream, data) => void (stream === 'stderr' ? err : out).push(decoders[stream].write(data)),
    signal,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
