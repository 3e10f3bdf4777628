// `persys version`: this CLI's version and whether the configured API server answers.
import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { bool } from '../command.js';
import { formatError } from '../errors.js';

export function clientVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the client version and check the server',
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
