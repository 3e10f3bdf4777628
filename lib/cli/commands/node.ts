// `persys node revoke NAME`: the node's certificates are denied until they expire and its stream is
// closed at once, on every API server. The node comes back only by joining again with a new token.
import type { Command } from '../command.js';
import { UsageError } from '../usage-error.js';

export const nodeCommand: Command = {
  name: 'node',
  usage: 'persys node revoke NODE',
  description:
    "revoke denies every certificate issued to NODE (recorded at join and renewal) until it would have\n" +
    'expired, and closes its agent stream on every API server; its containers keep running but get no\n' +
    'more changes. To bring the node back, delete node.crt and node.key from the agent\'s --data-dir and\n' +
    'start it with a new --token. The Node object stays: delete it with `persys delete node NODE`.',
  async run(ctx) {
    const [sub, target, ...rest] = ctx.args;
    if (sub !== 'revoke') throw new UsageError(sub ? `unknown subcommand "${sub}": use revoke` : 'missing subcommand: use revoke', 'node');
    const name = target?.replace(/^(node|nodes|no)\//, '');
    if (!name) throw new UsageError('you must specify the NODE', 'node');
    if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`, 'node');
    const { OperationsClient } = await import('../../client/operations.js');
    const client = new OperationsClient(ctx.config());
    try {
      const res = await client.revokeNode(name);
      ctx.io.out(`node/${name} revoked at ${res.revokedAt}: certificate serial${res.serials.length === 1 ? '' : 's'} ${res.serials.join(', ')} denied until expiry`);
      return 0;
    } finally {
      client.close();
    }
  },
};
