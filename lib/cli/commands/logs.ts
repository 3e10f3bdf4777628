// `persys logs`: a Container's output, streamed from its node's agent through the API server.
import { bool, str, type Command } from '../command.js';
import { UsageError } from '../usage-error.js';
import { LineWriter } from '../lines.js';
import { parseRunningTarget } from '../target.js';

export const logsCommand: Command = {
  name: 'logs',
  usage: 'persys logs [-f] [--tail N] container/NAME\npersys logs [-f] [--tail N] composestack/NAME [--service S]',
  description: "A compose stack's lines are prefixed with their container, as docker compose logs does (web-1 | …).",
  flags: {
    follow: { type: 'boolean', short: 'f', description: 'keep streaming new output' },
    tail: { type: 'string', valueName: 'N', default: '-1', description: 'only the last N lines (-1: all)' },
    timestamps: { type: 'boolean', description: 'prefix each line with its time' },
    service: { type: 'string', valueName: 'S', description: 'only this compose service (composestack/NAME only)' },
  },
  async run(ctx) {
    const { kind, name, consumed } = parseRunningTarget(ctx.args, 'logs');
    const service = str(ctx.flags, 'service');
    if (service && kind !== 'ComposeStack') throw new UsageError('--service applies to composestack/NAME only', 'logs');
    if (ctx.args.length > consumed) throw new UsageError(`unexpected argument "${ctx.args[consumed]}"`, 'logs');
    const tail = Number(str(ctx.flags, 'tail'));
    if (!Number.isInteger(tail) || tail < -1) throw new UsageError(`--tail must be a whole number ≥ -1, got "${str(ctx.flags, 'tail')}"`, 'logs');
    // Loaded on use: commands that never reach an agent do not pay for the Operations service's code.
    const { OperationsClient } = await import('../../client/operations.js');
    const client = new OperationsClient(ctx.config());
    const stdout = new LineWriter((l) => ctx.io.out(l));
    const stderr = new LineWriter((l) => ctx.io.err(l));
    try {
      for await (const c of client.logs(name, {
        namespace: ctx.namespace(),
        kind,
        service,
        follow: bool(ctx.flags, 'follow'),
        tailLines: tail < 0 ? 0 : tail,
        timestamps: bool(ctx.flags, 'timestamps'),
        signal: ctx.io.signal,
      })) {
        (c.stream === 'stderr' ? stderr : stdout).push(c.data);
      }
      return 0;
    } finally {
      stdout.flush();
      stderr.flush();
      client.close();
    }
  },
};
