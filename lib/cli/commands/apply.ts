// `persys apply`: create or update objects from manifests (server-side apply of the text as
// written), optionally pruning previously applied objects that left the manifest set.
import { KINDS } from '../../api/kinds.js';
import { listAll } from '../../client/pages.js';
import type { CliClient, Command, CommandContext } from '../command.js';
import { bool, str } from '../command.js';
import { formatError } from '../errors.js';
import { UsageError } from '../usage-error.js';
import { FILE_FLAGS, manifestKind, manifestRef, readManifests } from '../manifests.js';
import { parseDuration } from '../duration.js';
import { resourceName } from '../printers/output.js';
import { waitConverged, type ObjectRef } from '../wait-converged.js';

export const LAST_APPLIED_ANNOTATION = 'persys.dev/last-applied-configuration';

/** Kinds `--prune` may delete: not the ones the system itself owns, nor whole namespaces. */
export const PRUNABLE_KINDS = KINDS.filter((k) => !['Node', 'Event', 'Lease', 'Namespace'].includes(k.kind));

export function parseDryRun(value: string | undefined, command: string): boolean {
  if (value === undefined || value === 'none') return false;
  if (value === 'server') return true;
  throw new UsageError(`invalid --dry-run value "${value}": use server or none`, command);
}

const objectKey = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

export const applyCommand: Command = {
  name: 'apply',
  usage: 'persys apply -f FILE|DIR|- [-f ...] [-R] [--dry-run=server] [--prune -l SELECTOR] [--wait [--timeout D]]',
  description:
    'Each document is sent as written; the server validates it strictly. Namespaces are applied first.\n' +
    'With --prune, objects matching the selector that were applied before (they carry the\n' +
    `${LAST_APPLIED_ANNOTATION} annotation) but are no longer in the manifests are deleted.`,
  flags: {
    ...FILE_FLAGS,
    'dry-run': { type: 'string', valueName: 'MODE', default: 'none', description: 'server: validate and report without storing' },
    prune: { type: 'boolean', description: 'delete previously applied objects missing from the manifests (needs -l)' },
    selector: { type: 'string', short: 'l', valueName: 'SELECTOR', description: 'label selector limiting --prune, e.g. app=shop' },
    'field-manager': { type: 'string', valueName: 'NAME', default: 'persys', description: 'name recorded as the applier' },
    wait: { type: 'boolean', description: 'wait until every applied object has converged, printing what is still converging' },
    timeout: { type: 'string', valueName: 'DURATION', default: '5m', description: 'how long --wait waits (0: no limit)' },
  },
  async run(ctx) {
    const dryRun = parseDryRun(str(ctx.flags, 'dry-run'), 'apply');
    const prune = bool(ctx.flags, 'prune');
    const selector = str(ctx.flags, 'selector');
    if (prune && !selector) throw new UsageError('--prune requires a label selector (-l SELECTOR)', 'apply');
    const manifests = await readManifests(ctx, 'apply');
    if (!manifests.length) throw new Error('no objects passed to apply');
    // Namespaces first so objects in a new namespace can be created in the same run.
    const ordered = [
      ...manifests.filter((m) => manifestKind(m) === 'Namespace'),
      ...manifests.filter((m) => manifestKind(m) !== 'Namespace'),
    ];
    const suffix = dryRun ? ' (server dry run)' : '';
    const wait = bool(ctx.flags, 'wait');
    const timeoutMs = parseDuration(str(ctx.flags, 'timeout')!, 'timeout', 'apply');
    if (wait && dryRun) throw new UsageError('--wait cannot be combined with --dry-run', 'apply');
    const client = ctx.client();
    let failed = false;
    const applied: ObjectRef[] = [];
    for (const m of ordered) {
      try {
        const { object, result } = await client.apply(m.text, { dryRun, fieldManager: str(ctx.flags, 'field-manager') });
        ctx.io.out(`${resourceName(object)} ${result}${suffix}`);
        applied.push({ kind: object.kind, name: object.metadata.name!, namespace: object.metadata.namespace ?? '' });
      } catch (err) {
        failed = true;
        ctx.io.err(formatError(err, ctx.config().server, `applying ${manifestRef(m)} from "${m.source}"`));
      }
    }
    if (prune) {
      const appliedKeys = new Set(manifests.map((m) => objectKey(manifestKind(m), m.namespace, m.name)));
      const namespaces = new Set(manifests.filter((m) => m.namespace).map((m) => m.namespace));
      if (!namespaces.size) namespaces.add(ctx.namespace());
      if (!(await pruneObjects(ctx, client, selector!, appliedKeys, namespaces, dryRun))) failed = true;
    }
    if (wait && !failed) await waitConverged(ctx, applied, { timeoutMs });
    return failed ? 1 : 0;
  },
};

async function pruneObjects(
  ctx: CommandContext,
  client: CliClient,
  selector: string,
  applied: Set<string>,
  namespaces: Set<string>,
  dryRun: boolean,
): Promise<boolean> {
  let ok = true;
  for (const info of PRUNABLE_KINDS) {
    for (const ns of info.namespaced ? namespaces : ['']) {
      let items;
      try {
        items = (await listAll(client, info.kind, { namespace: ns, labelSelector: selector })).items;
      } catch (err) {
        ok = false;
        ctx.io.err(formatError(err, ctx.config().server, `listing ${info.plural} to prune`));
        continue;
      }
      for (const obj of items) {
        const meta = obj.metadata;
        if (!meta.annotations?.[LAST_APPLIED_ANNOTATION]) continue;
        if (applied.has(objectKey(info.kind, meta.namespace ?? '', meta.name ?? ''))) continue;
        try {
          await client.delete(info.kind, meta.name!, meta.namespace ?? '', { dryRun, uid: meta.uid });
          ctx.io.out(`${resourceName({ kind: info.kind, metadata: meta })} pruned${dryRun ? ' (server dry run)' : ''}`);
        } catch (err) {
          ok = false;
          ctx.io.err(formatError(err, ctx.config().server, `pruning ${resourceName({ kind: info.kind, metadata: meta })}`));
        }
      }
    }
  }
  return ok;
}
