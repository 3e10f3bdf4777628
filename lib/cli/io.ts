// Where a CLI run reads and writes: the process's streams by default, buffers in tests, so `main()`
// can run in-process.
export interface Io {
  /** Writes `text` and a newline to standard output. */
  out(text: string): void;
  /** Writes `text` and a newline to standard error. */
  err(text: string): void;
  /** All of standard input (for `-f -`). */
  stdin(): Promise<string>;
  /** Ends long-running commands (`get -w`) when aborted; the process's Ctrl-C does it otherwise. */
  signal?: AbortSignal;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text + '\n'),
  err: (text) => void process.stderr.write(text + '\n'),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    return Buffer.concat(chunks).toString('utf8');
  },
};

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
    err: (t) => void err.push(t + '\n'),
    stdin: async () => stdin,
    signal,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
