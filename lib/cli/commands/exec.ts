// `persys exec`: runs a command in a Container through its node's agent; exits with its exit code.
import { str, type Command } from '../command.js';
import { UsageError } from '../usage-error.js';
import { LineWriter } from '../lines.js';
import { parseRunningTarget } from '../target.js';

export const execCommand: Command = {
  name: 'exec',
  usage: 'persys exec container/NAME -- COMMAND [ARGS...]\npersys exec composestack/NAME --service S -- COMMAND [ARGS...]',
  description: "The exit code is the command's. There is no TTY and no standard input. In a compose stack the\ncommand runs in the service's first replica.",
  flags: { service: { type: 'string', valueName: 'S', description: 'the compose service to run in (composestack/NAME only)' } },
  async run(ctx) {
    const { kind, name, consumed } = parseRunningTarget(ctx.args, 'exec');
    const service = str(ctx.flags, 'service');
    if (service && kind !== 'ComposeStack') throw new UsageError('--service applies to composestack/NAME only', 'exec');
    const command = ctx.args.slice(consumed);
    if (!command.length) throw new UsageError('you must specify the command to run after --', 'exec');
    // Loaded on use: commands that never reach an agent do not pay for the Operations service's code.
    const { OperationsClient } = await import('../../client/operations.js');
    const client = new OperationsClient(ctx.config());
    const stdout = new LineWriter((l) => ctx.io.out(l));
    const stderr = new LineWriter((l) => ctx.io.err(l));
    try {
      const res = await client.exec(name, command, {
        namespace: ctx.namespace(),
        kind,
        service,
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
