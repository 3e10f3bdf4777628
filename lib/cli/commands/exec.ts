// `persys exec`: runs a command in a Container through its node's agent; exits with its exit code.
// With -i the command reads this process's standard input; with -t (and -i) it runs on a terminal.
import { bool, str, type Command, type CommandContext } from '../command.js';
import type { Io, Terminal } from '../io.js';
import { LineWriter } from '../lines.js';
import { parseRunningTarget } from '../target.js';
import { UsageError } from '../usage-error.js';

/** kubectl's words when -t is asked for but standard input is no terminal. */
export const NO_TTY_WARNING = 'Unable to use a TTY - input is not a terminal or the right kind of file';

export interface ExecMode {
  stdin: boolean;
  tty: boolean;
  /** Printed to stderr before the command runs. */
  warning?: string;
}

/**
 * What -i and -t come to, as in kubectl: a TTY needs standard input (-t alone is dropped) and a
 * terminal on it (else a warning and no TTY).
 */
export function execMode(flags: { stdin: boolean; tty: boolean }, stdinIsTerminal: boolean): ExecMode {
  if (!flags.stdin) return { stdin: false, tty: false };
  if (flags.tty && !stdinIsTerminal) return { stdin: true, tty: false, warning: NO_TTY_WARNING };
  return { stdin: true, tty: flags.tty };
}

export const execCommand: Command = {
  name: 'exec',
  usage: [
    // The target stays the first word: completion reads the first argument's choices there.
    'persys exec container/NAME [-i] [-t] -- COMMAND [ARGS...]',
    'persys exec composestack/NAME --service S [-i] [-t] -- COMMAND [ARGS...]',
  ].join('\n'),
  description: [
    "The exit code is the command's. In a compose stack the command runs in the service's first replica.",
    'With -i the command reads standard input (`echo hi | persys exec -i container/web -- cat`); its end',
    'closes the command\'s input. With -i -t (or -it) it runs on a terminal: this one, in raw mode, resized',
    'with it. As in kubectl, -t needs -i, and without a terminal on standard input it is dropped with a warning.',
  ].join('\n'),
  flags: {
    service: { type: 'string', valueName: 'S', description: 'the compose service to run in (composestack/NAME only)' },
    stdin: { type: 'boolean', short: 'i', description: "pass standard input to the command" },
    tty: { type: 'boolean', short: 't', description: 'run the command on a terminal (with -i)' },
  },
  async run(ctx) {
    const { kind, name, consumed } = parseRunningTarget(ctx.args, 'exec');
    const service = str(ctx.flags, 'service');
    if (service && kind !== 'ComposeStack') throw new UsageError('--service applies to composestack/NAME only', 'exec');
    const command = ctx.args.slice(consumed);
    if (!command.length) throw new UsageError('you must specify the command to run after --', 'exec');
    return execIn(ctx, { kind, name, service }, command, { stdin: bool(ctx.flags, 'stdin'), tty: bool(ctx.flags, 'tty') });
  },
};

/** Runs `command` in a running Container (or compose service) as `persys exec` does; resolves to its exit code. */
export async function execIn(
  ctx: CommandContext,
  at: { kind: 'Container' | 'ComposeStack'; name: string; service?: string },
  command: string[],
  flags: { stdin: boolean; tty: boolean },
): Promise<number> {
  const terminal = flags.tty && flags.stdin ? ctx.io.terminal?.() : undefined;
  const mode = execMode(flags, !!terminal);
  if (mode.warning) ctx.io.err(mode.warning);
  // Loaded on use: commands that never reach an agent do not pay for the Operations service's code.
  const { OperationsClient } = await import('../../client/operations.js');
  const client = new OperationsClient(ctx.config());
  const target = { namespace: ctx.namespace(), kind: at.kind, service: at.service, signal: ctx.io.signal };
  const name = at.name;
  try {
    if (mode.stdin) {
      const res = await interactive(ctx.io, mode.tty ? terminal : undefined, (stdin, onOutput, tty) =>
        client.execStream(name, command, { ...target, stdin, onOutput, ...tty }),
      );
      return res.exitCode;
    }
    const stdout = new LineWriter((l) => ctx.io.out(l));
    const stderr = new LineWriter((l) => ctx.io.err(l));
    try {
      const res = await client.exec(name, command, { ...target, onOutput: (stream, data) => (stream === 'stderr' ? stderr : stdout).push(data) });
      return res.exitCode;
    } finally {
      stdout.flush();
      stderr.flush();
    }
  } finally {
    client.close();
  }
}

type TtyOptions = { tty: boolean; size?: { width: number; height: number }; onResize?(send: (size: { width: number; height: number }) => void): () => void };

/**
 * Runs an exec with standard input attached: output written byte for byte as it arrives; with a
 * terminal, raw mode for the command's life (restored on every way out) and its size followed.
 */
async function interactive<T>(
  io: Io,
  terminal: Terminal | undefined,
  start: (stdin: AsyncIterable<Buffer | string>, onOutput: (stream: 'stdout' | 'stderr', data: Buffer) => void, tty: TtyOptions) => Promise<T>,
): Promise<T> {
  const stdin: AsyncIterable<Buffer | string> = io.input?.() ?? (async function* () {
    yield await io.stdin();
  })();
  // An Io without writeBytes gets text; lines written to its stderr end where the output pieces end.
  const onOutput = (stream: 'stdout' | 'stderr', data: Buffer) =>
    io.writeBytes ? io.writeBytes(stream, data) : stream === 'stderr' ? io.err(data.toString().replace(/\n$/, '')) : io.write(data.toString());
  try {
    if (!terminal) return await start(stdin, onOutput, { tty: false });
    terminal.setRawMode(true);
    try {
      return await start(stdin, onOutput, { tty: true, size: terminal.size(), onResize: (send) => terminal.onResize(send) });
    } finally {
      terminal.setRawMode(false);
    }
  } finally {
    // Standard input is no longer read: let the process end once the command has.
    (stdin as Partial<NodeJS.ReadableStream>).pause?.();
  }
}
