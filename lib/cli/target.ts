// The object argument of logs and exec: "container/NAME", "ct/NAME", "container NAME" or a bare NAME
// (kubectl's forms), or "composestack/NAME"; those are the objects whose processes a node agent reaches.
import { findKind } from '../api/kinds.js';
import { UsageError } from './usage-error.js';

export type RunningKind = 'Container' | 'ComposeStack';

/**
 * The object whose processes a command reaches (a Container, or a ComposeStack's containers), its name and
 * how many positionals it took (1 for KIND/NAME or NAME, 2 for KIND NAME); a bare NAME is a Container.
 */
export function parseRunningTarget(args: string[], command: string): { kind: RunningKind; name: string; consumed: number } {
  const first = args[0];
  if (!first) throw new UsageError('you must specify the container: container/NAME (or composestack/NAME)', command);
  const slash = first.indexOf('/');
  if (slash < 0 && !findKind(first)) return { kind: 'Container', name: first, consumed: 1 };
  const [kindName, name, consumed] = slash >= 0 ? [first.slice(0, slash), first.slice(slash + 1), 1] : [first, args[1], 2];
  const kind = findKind(kindName)?.kind;
  if (kind !== 'Container' && kind !== 'ComposeStack') {
    throw new UsageError(`${command} works on containers and compose stacks: use container/NAME or composestack/NAME (got "${first}")`, command);
  }
  if (!name) throw new UsageError(`you must specify the NAME of the ${kind === 'Container' ? 'container' : 'compose stack'}`, command);
  return { kind, name, consumed };
}

/** The ContainerSet named by "containerset/NAME", "cs/NAME" or "cs NAME" (scale and rollout work on sets only). */
export function parseContainerSetTarget(args: string[], command: string): string {
  const target = args[0] ?? '';
  const [kindName, name] = target.includes('/') ? target.split('/', 2) : [target, args[1]];
  if (findKind(kindName ?? '')?.kind !== 'ContainerSet' || !name) {
    throw new UsageError(`${command} works on ContainerSets: use containerset/NAME (or cs/NAME)`, command);
  }
  return name;
}

export type ScalableKind = 'ContainerSet' | 'SwarmService';

/** The object `scale` sets replicas of: "containerset/NAME", "swarmservice/NAME" (or their short names), or "KIND NAME". */
export function parseScaleTarget(args: string[]): { kind: ScalableKind; name: string } {
  const target = args[0] ?? '';
  const [kindName, name] = target.includes('/') ? target.split('/', 2) : [target, args[1]];
  const kind = findKind(kindName ?? '')?.kind;
  if ((kind !== 'ContainerSet' && kind !== 'SwarmService') || !name) {
    throw new UsageError('scale works on ContainerSets and SwarmServices: use containerset/NAME (cs/NAME) or swarmservice/NAME (ss/NAME)', 'scale');
  }
  return { kind, name };
}
