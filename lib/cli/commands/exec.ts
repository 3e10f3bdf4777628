// `persys exec`: runs a command in a Container through its node's agent; exits with its exit code.
import { OperationsClient } from '../../client/operations.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { LineWriter } from '../lines.js';
import { parseContainerTarget } from '../target.js';

export const execCommand: Command = {
  name: 'exec',
  summary: 'Run a command in a container',
  usage: 'persys exec container/NAME -- COMMAND [ARGS...]',
  description: "The exit code is the command's. There is no TTY and no standard input.",
  async run(ctx) {
    const { name, consumed } = parseContainerTarget(ctx.args, 'exec');
    const command = ctx.args.slice(consumed);
    if (!command.length) throw new UsageError('you must specify the command to run after --', 'exec');
    const client = new OperationsClient(ctx.config());
    const stdout = new LineWriter((l) => ctx.io.out(l));
    const stderr = new LineWriter((l) => ctx.io.err(l));
    try {
      const res = await client.exec(name, command, {
        namespace: ctx.namespace(),
        signal: ctx.io.signal,
        onOutput: (stream, data) => (stream === 'stderr' ? stderr : stdout).push(data),
      });
      return res.exitCode;
    } finally {
      stdout.flush();
      stderr.flush();
      client.close();
    }
  },
};
