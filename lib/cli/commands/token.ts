// `persys token create`: a join token for new nodes (kubeadm style), printed with the ready
// `persys agent …` command line that joins a Docker host with it; or, with --service-account, a
// bearer token for a ServiceAccount (kubectl create token), for CI pipelines and programs.
import { list, str, type Command } from '../command.js';
import { parseDuration } from '../duration.js';
import { UsageError } from '../usage-error.js';

export const tokenCommand: Command = {
  name: 'token',
  usage: 'persys token create [--ttl DURATION] [--description TEXT]\npersys token create --service-account NS/NAME [--ttl DURATION] [--audience AUD ...]',
  description:
    'Prints the token, then the command that joins a Docker host with it. The server keeps only a hash\n' +
    'of the token; delete the Secret join-token-ID in namespace persys-system to revoke it.\n' +
    'With --service-account, prints a bearer token for that ServiceAccount (default --ttl 1h, at most 24h):\n' +
    'PERSYS_TOKEN=… persys get containers, or "authorization: Bearer …" from any gRPC client. Deleting the\n' +
    'ServiceAccount invalidates its tokens.',
  flags: {
    ttl: { type: 'string', valueName: 'DURATION', description: 'how long the token can be used (default 24h; 1h with --service-account)' },
    description: { type: 'string', valueName: 'TEXT', description: 'what the token is for' },
    'service-account': { type: 'string', valueName: 'NS/NAME', description: "a bearer token for this ServiceAccount (NAME alone: in -n's namespace)" },
    audience: { type: 'string', multiple: true, valueName: 'AUD', description: 'audiences of the ServiceAccount token (default: the server\'s)' },
  },
  async run(ctx) {
    const sub = ctx.args[0];
    if (sub !== 'create') throw new UsageError(sub ? `unknown subcommand "${sub}": use create` : 'missing subcommand: use create', 'token');
    const account = str(ctx.flags, 'service-account');
    const ttlMs = parseDuration(str(ctx.flags, 'ttl') ?? (account ? '1h' : '24h'), 'ttl', 'token');
    if (ttlMs < 1000) throw new UsageError('--ttl must be at least 1s', 'token');
    if (account !== undefined) {
      const [ns, name] = account.includes('/') ? account.split('/', 2) : [ctx.namespace(), account];
      if (!ns || !name) throw new UsageError(`--service-account must be NS/NAME or NAME, got "${account}"`, 'token');
      const res = await ctx.client().createServiceAccountToken(ns, name, { ttlSeconds: Math.round(ttlMs / 1000), audiences: list(ctx.flags, 'audience') });
      ctx.io.out(res.token);
      ctx.io.err(`token for ServiceAccount ${ns}/${name} expires at ${res.expiresAt}`);
      return 0;
    }
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
