// Turns the KIND argument of get/describe/delete into a kind of the table, or a usage error.
import { findKind, KINDS, type KindInfo } from '../api/kinds.js';
import { UsageError } from './usage-error.js';

export function resolveKind(name: string | undefined, command: string): KindInfo {
  if (!name) {
    throw new UsageError(
      `you must specify the type of resource (${KINDS.map((k) => k.plural).join(', ')})`,
      command,
    );
  }
  const info = findKind(name);
  if (!info) throw new UsageError(`the server doesn't have a resource type "${name}"`, command);
  return info;
}
