// What `get` is asked for: `KIND [NAME…]`, several kinds at once (`cs,ct`), `all` (the workload
// kinds of a namespace) or `KIND/NAME…`, as kubectl takes them.
import { findKind, type KindInfo } from '../api/kinds.js';
import { parseObjectRefs } from './object-refs.js';
import { resolveKind } from './resolve-kind.js';

/** What `get all` lists: the kinds that run something, as kubectl's `all` lists pods, deployments … */
export const ALL_KINDS = ['Container', 'ContainerSet', 'ComposeStack', 'SwarmService', 'CronJob'] as const;

export interface GetGroup {
  info: KindInfo;
  /** Empty: list the kind. */
  names: string[];
}

export interface GetTargets {
  groups: GetGroup[];
  /** Several kinds were asked for: tables name objects kind/name. */
  multipleKinds: boolean;
  /** Exactly one object was asked for by name: printed bare rather than as a List. */
  single: boolean;
}

export function parseGetTargets(args: string[]): GetTargets {
  // parseObjectRefs also refuses a mix of the two forms (`get ct ct/web`).
  if (args.some((a) => a.includes('/'))) return slashForm(args);
  const first = args[0];
  if (!first) resolveKind(undefined, 'get');
  const infos: KindInfo[] = [];
  for (const name of first!.split(',').filter(Boolean)) {
    const kinds = name.toLowerCase() === 'all' ? ALL_KINDS.map((k) => findKind(k)!) : [resolveKind(name, 'get')];
    for (const k of kinds) if (!infos.includes(k)) infos.push(k);
  }
  if (!infos.length) resolveKind(undefined, 'get');
  const names = args.slice(1);
  return {
    groups: infos.map((info) => ({ info, names })),
    multipleKinds: infos.length > 1,
    single: infos.length === 1 && names.length === 1,
  };
}

/** `KIND/NAME…`, grouped by kind in the order the kinds first appear. */
function slashForm(args: string[]): GetTargets {
  const groups: GetGroup[] = [];
  for (const { info, name } of parseObjectRefs(args, 'get').refs) {
    const group = groups.find((g) => g.info === info);
    if (group) group.names.push(name);
    else groups.push({ info, names: [name] });
  }
  return { groups, multipleKinds: groups.length > 1, single: args.length === 1 };
}
