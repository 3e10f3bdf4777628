// The object argument of logs and exec: "container/NAME", "ct/NAME", "container NAME" or a bare NAME
// (kubectl's forms); only Containers run processes a node agent can reach.
import { findKind } from '../api/kinds.js';
import { UsageError } from './errors.js';

/** The Container's name and how many positionals it took (1 for KIND/NAME or NAME, 2 for KIND NAME). */
export function parseContainerTarget(args: string[], command: string): { name: string; consumed: number } {
  const first = args[0];
  if (!first) throw new UsageError('you must specify the container: container/NAME', command);
  const slash = first.indexOf('/');
  if (slash < 0 && !findKind(first)) return { name: first, consumed: 1 };
  const [kind, name, consumed] = slash >= 0 ? [first.slice(0, slash), first.slice(slash + 1), 1] : [first, args[1], 2];
  const info = findKind(kind);
  if (info?.kind !== 'Container') {
    throw new UsageError(`${command} works on containers: use container/NAME (got "${first}")`, command);
  }
  if (!name) throw new UsageError('you must specify the NAME of the container', command);
  return { name, consumed };
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
