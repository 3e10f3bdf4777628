// The objects a command changes, named as kubectl names them: `KIND NAME…` or `KIND/NAME…`; a bare
// KIND with -l SELECTOR or --all chooses every matching object of the namespace.
import type { KindInfo } from '../api/kinds.js';
import { listAll } from '../client/pages.js';
import { bool, str, type CommandContext, type FlagSpecs } from './command.js';
import { resolveKind } from './resolve-kind.js';
import { UsageError } from './usage-error.js';

export interface ObjectRef {
  info: KindInfo;
  name: string;
}

export interface ObjectRefs {
  /** The KIND given without a slash (its names, if any, are in refs). */
  kind?: KindInfo;
  refs: ObjectRef[];
}

export function parseObjectRefs(args: string[], command: string): ObjectRefs {
  if (!args.length) resolveKind(undefined, command);
  if (args[0]!.includes('/')) {
    return {
      refs: args.map((arg) => {
        const [kind, name, extra] = arg.split('/');
        if (!name || extra !== undefined) throw new UsageError(`arguments in resource/name form must have a single resource and name: "${arg}"`, command);
        return { info: resolveKind(kind, command), name };
      }),
    };
  }
  const kind = resolveKind(args[0], command);
  const names = args.slice(1);
  if (names.some((n) => n.includes('/'))) {
    throw new UsageError(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form`, command);
  }
  return { kind, refs: names.map((name) => ({ info: kind, name })) };
}

/** `containerset/web`, as commands report what they did. */
export const refName = (info: KindInfo, name: string): string => `${info.kind.toLowerCase()}/${name}`;

/** -l and --all of the commands that change objects of one KIND in bulk (label, annotate, set image). */
export const SELECT_FLAGS: FlagSpecs = {
  selector: { type: 'string', short: 'l', valueName: 'SELECTOR', description: 'every object of KIND matching the selector' },
  all: { type: 'boolean', description: 'every object of KIND in the namespace' },
};

/** The objects `args` name, or with -l / --all every matching object of the one KIND given. */
export async function resolveObjectRefs(ctx: CommandContext, args: string[], command: string): Promise<ObjectRef[]> {
  const { kind, refs } = parseObjectRefs(args, command);
  const selector = str(ctx.flags, 'selector');
  const all = bool(ctx.flags, 'all');
  if (selector === undefined && !all) {
    if (!refs.length) throw new UsageError('one or more resources must be specified as <resource> <name> or <resource>/<name>', command);
    return refs;
  }
  if (!kind || refs.length) throw new UsageError('-l and --all choose the objects: give a KIND and no names', command);
  if (selector !== undefined && all) throw new UsageError('give either -l SELECTOR or --all, not both', command);
  const namespace = kind.namespaced ? ctx.namespace() : '';
  const { items } = await listAll(ctx.client(), kind.kind, { namespace, labelSelector: selector });
  if (!items.length) ctx.io.err(namespace ? `No resources found in ${namespace} namespace.` : 'No resources found');
  return items.map((o) => ({ info: kind, name: o.metadata.name ?? '' }));
}
