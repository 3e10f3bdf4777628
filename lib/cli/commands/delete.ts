// `persys delete`: delete objects named on the command line, matched by a selector or listed in
// manifests, optionally waiting until they are gone.
import { listAll } from '../../client/pages.js';
import type { Command, CommandContext } from '../command.js';
import { bool, list, str } from '../command.js';
import { parseDuration } from '../duration.js';
import { formatError, isNotFound } from '../errors.js';
import { UsageError } from '../usage-error.js';
import { FILE_FLAGS, manifestKind, readManifests } from '../manifests.js';
import { resolveKind } from '../resolve-kind.js';
import { parseDryRun } from './apply.js';

interface Target {
  kind: string;
  namespace: string;
  name: string;
}

const WAIT_POLL_MS = 250;

export const deleteCommand: Command = {
  name: 'delete',
  usage: 'persys delete KIND NAME... [flags]\npersys delete KIND -l SELECTOR [flags]\npersys delete -f FILE|DIR|- [-R] [flags]',
  flags: {
    ...FILE_FLAGS,
    selector: { type: 'string', short: 'l', valueName: 'SELECTOR', description: 'delete every object of KIND matching the selector' },
    wait: { type: 'boolean', description: 'wait until the objects are gone (finalizers done)' },
    timeout: { type: 'string', valueName: 'DURATION', default: '60s', description: 'how long --wait waits' },
    'dry-run': { type: 'string', valueName: 'MODE', default: 'none', description: 'server: check without deleting' },
    cascade: {
      type: 'string',
      valueName: 'MODE',
      default: 'background',
      description: 'background: owned objects are deleted too; orphan: they are kept',
    },
    'ignore-not-found': { type: 'boolean', description: 'treat a missing object as deleted' },
  },
  async run(ctx) {
    const dryRun = parseDryRun(str(ctx.flags, 'dry-run'), 'delete');
    const cascade = str(ctx.flags, 'cascade');
    if (cascade !== 'background' && cascade !== 'orphan') {
      throw new UsageError(`invalid --cascade value "${cascade}": use background or orphan`, 'delete');
    }
    const timeoutMs = parseDuration(str(ctx.flags, 'timeout') ?? '60s', 'timeout', 'delete');
    const targets = await resolveTargets(ctx);
    const client = ctx.client();
    const suffix = dryRun ? ' (server dry run)' : '';
    const deleted: Target[] = [];
    let failed = false;
    for (const t of targets) {
      try {
        await client.delete(t.kind, t.name, t.namespace, {
          dryRun,
          propagationPolicy: cascade === 'orphan' ? 'Orphan' : 'Background',
        });
        ctx.io.out(`${t.kind.toLowerCase()} "${t.name}" deleted${suffix}`);
        deleted.push(t);
      } catch (err) {
        if (isNotFound(err) && bool(ctx.flags, 'ignore-not-found')) continue;
        failed = true;
        ctx.io.err(formatError(err, ctx.config().server));
      }
    }
    if (bool(ctx.flags, 'wait') && !dryRun && deleted.length) {
      if (!(await waitForDeletion(ctx, deleted, timeoutMs))) failed = true;
    }
    return failed ? 1 : 0;
  },
};

async function resolveTargets(ctx: CommandContext): Promise<Target[]> {
  const files = list(ctx.flags, 'filename');
  const selector = str(ctx.flags, 'selector');
  if (files.length) {
    if (ctx.args.length) throw new UsageError('give either -f or KIND NAME..., not both', 'delete');
    const manifests = await readManifests(ctx, 'delete');
    return manifests.map((m) => ({ kind: manifestKind(m), namespace: m.namespace, name: m.name }));
  }
  const info = resolveKind(ctx.args[0], 'delete');
  const namespace = info.namespaced ? ctx.namespace() : '';
  const names = ctx.args.slice(1);
  if (selector) {
    if (names.length) throw new UsageError('give either NAMEs or -l SELECTOR, not both', 'delete');
    const { items } = await listAll(ctx.client(), info.kind, { namespace, labelSelector: selector });
    if (!items.length) ctx.io.err(namespace ? `No resources found in ${namespace} namespace.` : 'No resources found');
    return items.map((o) => ({ kind: info.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name ?? '' }));
  }
  if (!names.length) throw new UsageError(`you must specify the NAME of the ${info.singular} to delete, or -l SELECTOR`, 'delete');
  return names.map((name) => ({ kind: info.kind, namespace, name }));
}

/** Polls until every target is NotFound; false (after saying which remain) on timeout. */
async function waitForDeletion(ctx: CommandContext, targets: Target[], timeoutMs: number): Promise<boolean> {
  const client = ctx.client();
  const deadline = ctx.now().getTime() + timeoutMs;
  let remaining = targets;
  for (;;) {
    const still: Target[] = [];
    for (const t of remaining) {
      try {
        await client.get(t.kind, t.name, t.namespace);
        still.push(t);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    remaining = still;
    if (!remaining.length) return true;
    if (ctx.now().getTime() >= deadline) {
      for (const t of remaining) {
        ctx.io.err(`error: timed out waiting for ${t.kind.toLowerCase()}/${t.name} to be deleted`);
      }
      return false;
    }
    await ctx.sleep(WAIT_POLL_MS);
  }
}
