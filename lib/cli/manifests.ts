// The -f/-R flags shared by apply, delete and diff: load the manifests and give namespaced ones
// the command's namespace.
import { findKind } from '../api/kinds.js';
import { loadManifests, type Manifest } from '../manifest/load.js';
import { withDefaultNamespace } from '../manifest/namespace.js';
import type { CommandContext, FlagSpecs } from './command.js';
import { list, bool } from './command.js';
import { UsageError } from './usage-error.js';

export const FILE_FLAGS: FlagSpecs = {
  filename: {
    type: 'string',
    short: 'f',
    multiple: true,
    valueName: 'PATH',
    description: 'manifest file (.yaml, .yml, .json), directory, or - for stdin',
  },
  recursive: { type: 'boolean', short: 'R', description: 'also read manifests in subdirectories of -f directories' },
};

/** All manifests named by -f, namespaced ones defaulted to -n or the config's namespace. */
export async function readManifests(ctx: CommandContext, command: string): Promise<Manifest[]> {
  const paths = list(ctx.flags, 'filename');
  if (!paths.length) throw new UsageError('you must give -f FILE (a file, a directory or - for stdin)', command);
  const loaded = await loadManifests(paths, { recursive: bool(ctx.flags, 'recursive'), readStdin: ctx.io.stdin });
  const namespaced = loaded.some((m) => findKind(m.kind)?.namespaced && !m.namespace);
  const explicit = ctx.globals.namespace !== undefined;
  if (!namespaced && !explicit) return loaded;
  const ns = ctx.namespace();
  return loaded.map((m) => withDefaultNamespace(m, ns, { enforce: explicit }));
}

/** The canonical kind name of a manifest (as written when the CLI does not know it). */
export const manifestKind = (m: Manifest): string => findKind(m.kind)?.kind ?? m.kind;

/** `container/web`, for messages about a manifest. */
export const manifestRef = (m: Manifest): string =>
  `${manifestKind(m).toLowerCase()}/${m.name || m.object.metadata?.generateName || ''}`;
