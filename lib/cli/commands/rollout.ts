// `persys rollout status|history|undo|restart containerset/NAME`: kubectl's rollout verbs for a
// ContainerSet, backed by its status and the ControllerRevisions its controller keeps.
import { CONFIG_HASH_ANNOTATION, RESTARTED_AT_ANNOTATION } from '../../api/annotations.js';
import type { Resource } from '../../api/resource.js';
import { listPages } from '../../client/pages.js';
import { bool, str, type CliClient, type Command, type CommandContext } from '../command.js';
import { parseDuration } from '../duration.js';
import { UsageError } from '../usage-error.js';
import { readModifyWrite } from '../read-modify-write.js';
import { parseContainerSetTarget } from '../target.js';
import { waitConverged } from '../wait-converged.js';
import { stableJson } from '../../api/stable-json.js';

const VERBS = ['status', 'history', 'undo', 'restart'] as const;
type Verb = (typeof VERBS)[number];

export const rolloutCommand: Command = {
  name: 'rollout',
  usage:
    'persys rollout status containerset/NAME [--watch=false] [--timeout D]\n' +
    'persys rollout history containerset/NAME\n' +
    'persys rollout undo containerset/NAME [--to-revision N]\n' +
    'persys rollout restart containerset/NAME',
  description:
    'status waits until the rollout has finished (exit 1 when it exceeded progressDeadlineSeconds);\n' +
    'undo puts back the template of an earlier revision (default: the newest with another template);\n' +
    'it does not put back ConfigMap or Secret content: with rolloutOnConfigChange the config hash is\n' +
    'recomputed from their content as it is now, and a revision that differs only in it is not undone;\n' +
    'restart replaces every replica, within the set\'s rolling-update budget.',
  flags: {
    watch: { type: 'boolean', short: 'w', default: true, description: 'status: wait for the rollout to finish' },
    timeout: { type: 'string', valueName: 'DURATION', default: '0s', description: 'status: how long to wait (0: no limit)' },
    'to-revision': { type: 'string', valueName: 'N', description: 'undo: the revision to go back to (see rollout history)' },
  },
  async run(ctx) {
    const verb = ctx.args[0] as Verb;
    if (!VERBS.includes(verb)) throw new UsageError(`rollout needs one of ${VERBS.join(', ')}${verb ? `, got "${verb}"` : ''}`, 'rollout');
    const name = parseContainerSetTarget(ctx.args.slice(1), 'rollout');
    const rest = ctx.args.slice(ctx.args[1]?.includes('/') ? 2 : 3);
    if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`, 'rollout');
    switch (verb) {
      case 'status':
        return status(ctx, name);
      case 'history':
        return history(ctx, name);
      case 'undo':
        return undo(ctx, name);
      case 'restart':
        return restart(ctx, name);
    }
  },
};

async function status(ctx: CommandContext, name: string): Promise<number> {
  const ref = { kind: 'ContainerSet', name, namespace: ctx.namespace() };
  if (!bool(ctx.flags, 'watch')) {
    const { convergence } = await import('../convergence.js');
    const state = convergence(await ctx.client().get(ref.kind, name, ref.namespace));
    if (state.failed) throw new Error(state.failed);
    ctx.io.out(state.message);
    return 0;
  }
  await waitConverged(ctx, [ref], { timeoutMs: parseDuration(str(ctx.flags, 'timeout')!, 'timeout', 'rollout'), announceDone: true });
  return 0;
}

/** The set's revisions, oldest first. */
async function revisionsOf(client: CliClient, set: Resource): Promise<Resource[]> {
  const owned: Resource[] = [];
  for await (const page of listPages(client, 'ControllerRevision', { namespace: set.metadata.namespace })) {
    for (const r of page.items) if (r.metadata.ownerReferences?.some((o) => o.uid === set.metadata.uid && o.controller)) owned.push(r);
  }
  return owned
    .sort((a, b) => Number(a['revision']) - Number(b['revision']));
}

async function history(ctx: CommandContext, name: string): Promise<number> {
  const client = ctx.client();
  const set = await client.get('ContainerSet', name, ctx.namespace());
  const revisions = await revisionsOf(client, set);
  ctx.io.out(`containerset/${name}`);
  const rows = [['REVISION', 'TEMPLATE', 'IMAGE', 'CHANGE-CAUSE']];
  const current = currentRevision(revisions, set);
  for (const [i, r] of revisions.entries()) {
    const template = r['template'] as Resource['spec'];
    const hash = r.metadata.name!.slice(name.length + 1);
    // With rolloutOnConfigChange several revisions share a template; they differ in the config hash.
    const configChange = i > 0 && r.metadata.annotations?.[CONFIG_HASH_ANNOTATION] !== undefined && sameTemplate(template, revisions[i - 1]!['template']);
    const cause = configChange ? 'config change' : template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] ? 'restart' : '<none>';
    rows.push([`${r['revision']}${r === current ? ' (current)' : ''}`, hash, template?.spec?.image ?? '', cause]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) ctx.io.out(row.map((cell, i) => cell.padEnd(widths[i]!)).join('   ').trimEnd());
  return 0;
}

const sameTemplate = (a: unknown, b: unknown) => stableJson(a ?? {}) === stableJson(b ?? {});

/** The newest revision of the set's template: the one its replicas are made from (or rolling out to). */
const currentRevision = (revisions: Resource[], set: Resource) => [...revisions].reverse().find((r) => sameTemplate(r['template'], set.spec?.template));

async function undo(ctx: CommandContext, name: string): Promise<number> {
  const client = ctx.client();
  const toText = str(ctx.flags, 'to-revision');
  if (toText !== undefined && !/^[1-9]\d*$/.test(toText)) throw new UsageError(`--to-revision must be a revision number, got "${toText}"`, 'rollout');
  const set = await client.get('ContainerSet', name, ctx.namespace());
  const revisions = await revisionsOf(client, set);
  const current = currentRevision(revisions, set);
  // Undo restores a template. Revisions that differ from the current one only in ConfigMap/Secret content
  // (rolloutOnConfigChange) have nothing to restore: that content is not kept, so they are passed over.
  const target = toText
    ? revisions.find((r) => String(r['revision']) === toText)
    : (revisions.filter((r) => !sameTemplate(r['template'], set.spec?.template)).at(-1) ?? revisions.filter((r) => r !== current).at(-1));
  if (!target) {
    throw new Error(toText ? `unable to find the specified revision ${toText} of containerset/${name}` : `no rollout history found for containerset/${name}`);
  }
  if (sameTemplate(target['template'], set.spec?.template)) {
    const configOnly = target !== current && target.metadata.annotations?.[CONFIG_HASH_ANNOTATION] !== undefined;
    const note = configOnly ? '; it differs only in ConfigMap/Secret content, which undo does not restore' : '';
    ctx.io.out(`containerset/${name} skipped rollback (current template already matches revision ${target['revision']})${note}`);
    return 0;
  }
  await readModifyWrite(client, 'ContainerSet', name, ctx.namespace(), (fresh) => ({ ...fresh, spec: { ...fresh.spec, template: target['template'] } }));
  ctx.io.out(`containerset/${name} rolled back to revision ${target['revision']}`);
  return 0;
}

async function restart(ctx: CommandContext, name: string): Promise<number> {
  const at = ctx.now().toISOString();
  await readModifyWrite(ctx.client(), 'ContainerSet', name, ctx.namespace(), (set) => {
    const template = set.spec?.template ?? {};
    const metadata = { ...(template.metadata ?? {}), annotations: { ...(template.metadata?.annotations ?? {}), [RESTARTED_AT_ANNOTATION]: at } };
    return { ...set, spec: { ...set.spec, template: { ...template, metadata } } };
  });
  ctx.io.out(`containerset/${name} restarted`);
  return 0;
}
