// `persys version`: this CLI's version and whether the configured API server answers.
import type { Command } from '../command.js';
import { bool } from '../command.js';
import { formatError } from '../errors.js';
import { packageVersion } from '../../package-files.js';

export function clientVersion(): string {
  return packageVersion();
}

export const versionCommand: Command = {
  name: 'version',
  usage: 'persys version [--client]',
  flags: { client: { type: 'boolean', description: 'print the client version only' } },
  async run(ctx) {
    ctx.io.out(`Client Version: ${clientVersion()}`);
    if (bool(ctx.flags, 'client')) return 0;
    const server = ctx.config().server;
    try {
      const kinds = await ctx.client().listKinds();
      ctx.io.out(`Server: ${server} (reachable, ${kinds.length} kinds)`);
      return 0;
    } catch (err) {
      ctx.io.err(formatError(err, server));
      return 1;
    }
  },
};
