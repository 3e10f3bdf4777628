// `persys token create`: a join token for new nodes (kubeadm style), printed with the ready
// `persys agent …` command line that joins a Docker host with it.
import { str, type Command } from '../command.js';
import { parseDuration } from '../duration.js';
import { UsageError } from '../usage-error.js';

export const tokenCommand: Command = {
  name: 'token',
  usage: 'persys token create [--ttl DURATION] [--description TEXT]',
  description:
    'Prints the token, then the command that joins a Docker host with it. The server keeps only a hash\n' +
    'of the token; delete the Secret join-token-ID in namespace persys-system to revoke it.',
  flags: {
    ttl: { type: 'string', valueName: 'DURATION', default: '24h', description: 'how long the token can be used' },
    description: { type: 'string', valueName: 'TEXT', description: 'what the token is for' },
  },
  async run(ctx) {
    const sub = ctx.args[0];
    if (sub !== 'create') throw new UsageError(sub ? `unknown subcommand "${sub}": use create` : 'missing subcommand: use create', 'token');
    const ttlMs = parseDuration(str(ctx.flags, 'ttl')!, 'ttl', 'token');
    if (ttlMs < 1000) throw new UsageError('--ttl must be at least 1s', 'token');
    // Loaded on use: commands that never reach an agent do not pay for the Operations service's code.
    const { OperationsClient } = await import('../../client/operations.js');
    const client = new OperationsClient(ctx.config());
    try {
      const res = await client.createJoinToken({ ttlSeconds: Math.round(ttlMs / 1000), description: str(ctx.flags, 'description') });
      ctx.io.out(res.token);
      ctx.io.out(res.joinCommand);
      ctx.io.err(`token expires at ${res.expiresAt}`);
      return 0;
    } finally {
      client.close();
    }
  },
};
