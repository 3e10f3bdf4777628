// `persys auth can-i`: asks the API server whether the caller (or, with --as, another user) may do
// something, as kubectl does: prints yes or no and exits 0 or 1.
import { bool, list, str, type Command } from '../command.js';
import { UsageError } from '../usage-error.js';

export const authCommand: Command = {
  name: 'auth',
  usage: 'persys auth can-i VERB KIND[/NAME] [NAME] [-n NS | -A] [--subresource S] [--as USER] [--as-group GROUP ...] [-q]',
  description:
    'Prints yes (exit 0) or no (exit 1). VERB is get, list, watch, create, update, patch, delete, escalate, bind\n' +
    'or impersonate; KIND any spelling of a kind (containers, ct, Container), or "*". --as asks for another user\n' +
    'and needs the impersonate verb on users (and groups, with --as-group).',
  flags: {
    'all-namespaces': { type: 'boolean', short: 'A', description: 'ask about every namespace' },
    subresource: { type: 'string', valueName: 'S', description: 'status, logs, exec, binding or token' },
    as: { type: 'string', valueName: 'USER', description: 'ask for this user instead of yourself' },
    'as-group': { type: 'string', multiple: true, valueName: 'GROUP', description: 'the groups of the --as user' },
    quiet: { type: 'boolean', short: 'q', description: 'print nothing; the exit code answers' },
  },
  async run(ctx) {
    const [sub, verb, target, nameArg, ...extra] = ctx.args;
    if (sub !== 'can-i') throw new UsageError(sub ? `unknown subcommand "${sub}": use can-i` : 'missing subcommand: use can-i', 'auth');
    if (!verb || !target) throw new UsageError('can-i needs a VERB and a KIND, e.g. persys auth can-i create containers', 'auth');
    if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`, 'auth');
    const [resource, nameFromTarget] = target.split('/', 2) as [string, string | undefined];
    const groups = list(ctx.flags, 'as-group');
    const user = str(ctx.flags, 'as');
    if (groups.length && !user) throw new UsageError('--as-group needs --as', 'auth');
    const res = await ctx.client().checkAccess({
      verb,
      resource,
      name: nameFromTarget ?? nameArg ?? '',
      subresource: str(ctx.flags, 'subresource') ?? '',
      namespace: bool(ctx.flags, 'all-namespaces') ? '' : ctx.namespace(),
      user: user ?? '',
      groups,
    });
    if (!bool(ctx.flags, 'quiet')) ctx.io.out(res.allowed ? 'yes' : 'no');
    return res.allowed ? 0 : 1;
  },
};
