// `persys cordon|uncordon|drain NODE`: kubectl's node maintenance verbs. Drain cordons the node and asks
// each ContainerSet to move its replicas away (the set replaces them within its rolling-update budget,
// so a drain never takes a set below what maxUnavailable allows); other Containers need --force.
import { DRAIN_ANNOTATION } from '../../api/annotations.js';
import type { Resource } from '../../api/resource.js';
import { listAll } from '../../client/pages.js';
import { bool, str, type CliClient, type Command, type CommandContext } from '../command.js';
import { parseDuration } from '../duration.js';
import { UsageError } from '../usage-error.js';
import { readModifyWrite } from '../read-modify-write.js';

const nodeArg = (ctx: CommandContext, command: string): string => {
  const [first, ...rest] = ctx.args;
  const name = first?.replace(/^(node|nodes|no)\//, '');
  if (!name) throw new UsageError('you must specify the NODE', command);
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`, command);
  return name;
};

/** Sets spec.unschedulable; says "already" when there was nothing to change, as kubectl does. */
async function setUnschedulable(ctx: CommandContext, name: string, unschedulable: boolean): Promise<void> {
  const verb = unschedulable ? 'cordoned' : 'uncordoned';
  const changed = await readModifyWrite(ctx.client(), 'Node', name, '', (node) =>
    Boolean(node.spec?.unschedulable) === unschedulable ? undefined : { ...node, spec: { ...node.spec, unschedulable } },
  );
  ctx.io.out(changed ? `node/${name} ${verb}` : `node/${name} already ${verb}`);
}

export const cordonCommand: Command = {
  name: 'cordon',
  usage: 'persys cordon NODE',
  async run(ctx) {
    await setUnschedulable(ctx, nodeArg(ctx, 'cordon'), true);
    return 0;
  },
};

export const uncordonCommand: Command = {
  name: 'uncordon',
  usage: 'persys uncordon NODE',
  async run(ctx) {
    await setUnschedulable(ctx, nodeArg(ctx, 'uncordon'), false);
    return 0;
  },
};

const isFinished = (c: Resource) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed';
const setOwned = (c: Resource) => (c.metadata.ownerReferences ?? []).some((r) => r.kind === 'ContainerSet' && r.controller);
const ref = (c: Resource) => `${c.metadata.namespace}/${c.metadata.name}`;

async function containersOn(client: CliClient, node: string): Promise<Resource[]> {
  const { items } = await listAll(client, 'Container', { fieldSelector: `spec.nodeName=${node}` });
  return items.filter((c) => !c.metadata.deletionTimestamp);
}

export const drainCommand: Command = {
  name: 'drain',
  usage: 'persys drain NODE [--force] [--timeout D]',
  description:
    "Replicas of ContainerSets are replaced on other nodes within each set's rolling-update budget\n" +
    '(maxSurge/maxUnavailable), then removed from this one. Containers nothing owns would be lost, so\n' +
    'drain refuses unless --force, which deletes them. The node stays cordoned: uncordon it afterwards.',
  flags: {
    force: { type: 'boolean', description: 'also delete Containers that no ContainerSet owns' },
    timeout: { type: 'string', valueName: 'DURATION', default: '5m', description: 'how long to wait for the node to empty (0: no limit)' },
  },
  async run(ctx) {
    const node = nodeArg(ctx, 'drain');
    const timeoutMs = parseDuration(str(ctx.flags, 'timeout')!, 'timeout', 'drain');
    const client = ctx.client();
    await setUnschedulable(ctx, node, true);

    const present = (await containersOn(client, node)).filter((c) => !isFinished(c) || !setOwned(c));
    const unmanaged = present.filter((c) => !setOwned(c));
    if (unmanaged.length && !bool(ctx.flags, 'force')) {
      throw new Error(
        `cannot drain node/${node}: Containers not managed by a ContainerSet (use --force to delete them): ${unmanaged.map(ref).join(', ')}`,
      );
    }
    for (const c of unmanaged) {
      await client.delete('Container', c.metadata.name!, c.metadata.namespace, { uid: c.metadata.uid });
      ctx.io.out(`container/${c.metadata.name} deleted (${c.metadata.namespace})`);
    }
    for (const c of present.filter(setOwned)) {
      await readModifyWrite(client, 'Container', c.metadata.name!, c.metadata.namespace!, (fresh) =>
        fresh.metadata.annotations?.[DRAIN_ANNOTATION] ? undefined : { ...fresh, metadata: { ...fresh.metadata, annotations: { ...fresh.metadata.annotations, [DRAIN_ANNOTATION]: node } } },
      );
      ctx.io.out(`evicting container/${c.metadata.name} (${c.metadata.namespace})`);
    }

    const deadline = timeoutMs > 0 ? ctx.now().getTime() + timeoutMs : Infinity;
    let waiting = new Set(present.filter(setOwned).map(ref));
    for (;;) {
      const left = new Set((await containersOn(client, node)).filter((c) => setOwned(c) && !isFinished(c)).map(ref));
      for (const r of waiting) if (!left.has(r)) ctx.io.out(`container/${r.split('/')[1]} evicted (${r.split('/')[0]})`);
      waiting = new Set([...waiting].filter((r) => left.has(r)));
      if (!waiting.size) break;
      if (ctx.now().getTime() >= deadline) {
        throw new Error(`timed out draining node/${node}: still there: ${[...waiting].join(', ')}`);
      }
      await ctx.sleep(1000);
    }
    ctx.io.out(`node/${node} drained`);
    return 0;
  },
};
