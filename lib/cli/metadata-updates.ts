// The `key=value` and `key-` arguments of `label` and `annotate`, and how they change a label or
// annotation map: kubectl's rules, including its refusal to change a key without --overwrite. The
// server validates keys and values; only the argument syntax is checked here.
import { UsageError } from './usage-error.js';

export type MetadataField = 'labels' | 'annotations';

/** A key that already has a value, and no --overwrite. */
export class OverwriteRefusedError extends Error {
  override name = 'OverwriteRefusedError';
}

export interface MapUpdate {
  set: Record<string, string>;
  remove: string[];
}

const noun = (field: MetadataField) => (field === 'labels' ? 'label' : 'annotation');

/** Whether an argument is an update (`key=value`, `key-`) rather than the name of an object. */
export const isUpdateArg = (arg: string): boolean => arg.includes('=') || (arg.endsWith('-') && arg.length > 1);

export function parseMapUpdates(args: string[], field: MetadataField, command: string): MapUpdate {
  const update: MapUpdate = { set: {}, remove: [] };
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq > 0) update.set[arg.slice(0, eq)] = arg.slice(eq + 1);
    else if (eq < 0 && arg.endsWith('-') && arg.length > 1) update.remove.push(arg.slice(0, -1));
    else throw new UsageError(`invalid ${noun(field)} spec: ${arg}`, command);
  }
  if (!Object.keys(update.set).length && !update.remove.length) throw new UsageError(`at least one ${noun(field)} update is required`, command);
  const both = update.remove.find((k) => k in update.set);
  if (both) throw new UsageError(`can not both modify and remove ${field === 'labels' ? 'a label' : 'an annotation'} in the same command: ${both}`, command);
  return update;
}

export interface MapUpdateResult {
  map: Record<string, string>;
  /** Keys asked to be removed that were not there. */
  notFound: string[];
}

/** The map after the update; without `overwrite` a key that already has a value (any value) is an error. */
export function updateMap(current: Record<string, string> | undefined, update: MapUpdate, overwrite: boolean, field: MetadataField): MapUpdateResult {
  const map = { ...(current ?? {}) };
  if (!overwrite) {
    for (const key of Object.keys(update.set)) {
      if (key in map) {
        const taken = `'${key}' already has a value (${map[key]})`;
        throw new OverwriteRefusedError(
          field === 'labels'
            ? `${taken}, and --overwrite is false`
            : `--overwrite is false but found the following declared annotation(s): ${taken}`,
        );
      }
    }
  }
  const notFound = update.remove.filter((k) => !(k in map));
  for (const k of update.remove) delete map[k];
  Object.assign(map, update.set);
  return { map, notFound };
}
