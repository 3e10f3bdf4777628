// Which files a ConfigMap or Secret volume holds: the keys it selects, at which paths, with which modes.
// Pure (Kubernetes' rules for items, defaultMode and optional), so it is table-tested without a disk.
import { createHash } from 'node:crypto';
import type { ConfigKind } from '../../lib/api/references.js';
import type { DeepPartial, KeyToPath, VolumeMount } from '../../lib/gen/persys/v1/workloads.js';
import type { ConfigLookup } from '../desired.js';
import { MissingConfigError } from '../docker/errors.js';
import { checkProjectedPath, type ProjectedFile } from './projection.js';

/** As in Kubernetes: files are readable by any user the container runs as, writable by none but root. */
export const DEFAULT_FILE_MODE = 0o644;

/** The object a ConfigMap or Secret volume reads, and how. */
export interface ConfigVolumeSource {
  kind: ConfigKind;
  name: string;
  items: DeepPartial<KeyToPath>[];
  defaultMode?: number;
  optional: boolean;
}

/** The ConfigMap or Secret source of a volume mount; undefined for named volumes and host paths. */
export function configVolumeSource(v: DeepPartial<VolumeMount>): ConfigVolumeSource | undefined {
  const cm = v.configMap;
  if (cm?.name) return { kind: 'ConfigMap', name: cm.name, items: cm.items ?? [], defaultMode: cm.defaultMode, optional: !!cm.optional };
  const s = v.secret;
  if (s?.secretName) return { kind: 'Secret', name: s.secretName, items: s.items ?? [], defaultMode: s.defaultMode, optional: !!s.optional };
  return undefined;
}

/**
 * The files of the volume: every key at its own name when `items` is empty, else the listed keys at
 * their paths. A missing object or listed key is an error unless the source is optional (then it is
 * left out: an optional missing object gives an empty volume). Paths are checked here too.
 */
export function volumePayload(
  source: ConfigVolumeSource,
  namespace: string,
  config: ConfigLookup,
  usage: string,
): ProjectedFile[] {
  const data = config(source.kind, namespace, source.name);
  if (!data) {
    if (source.optional) return [];
    throw new MissingConfigError(source.kind, namespace, source.name, undefined, usage);
  }
  const defaultMode = (source.defaultMode ?? DEFAULT_FILE_MODE) & 0o777;
  const files: ProjectedFile[] = [];
  if (!source.items.length) {
    for (const [key, bytes] of data) files.push({ path: key, data: bytes, mode: defaultMode });
  } else {
    for (const item of source.items) {
      const key = item.key ?? '';
      const bytes = data.get(key);
      if (bytes === undefined) {
        if (source.optional) continue;
        throw new MissingConfigError(source.kind, namespace, source.name, key, usage);
      }
      files.push({ path: item.path || key, data: bytes, mode: (item.mode ?? defaultMode) & 0o777 });
    }
  }
  for (const f of files) checkProjectedPath(f.path);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** SHA-256 over paths, modes and bytes: equal exactly when the volume's content is. */
export function payloadHash(files: readonly ProjectedFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    h.update(`${f.path}\0${f.mode}\0${f.data.length}\0`);
    h.update(f.data);
  }
  return h.digest('hex');
}

/** `<index>-configmap-<name>` or `<index>-secret-<name>`: one directory per volume mount, readable in `ls`. */
export function volumeDirName(index: number, source: ConfigVolumeSource): string {
  return `${index}-${source.kind.toLowerCase()}-${source.name.replace(/[^-.\w]/g, '_')}`;
}
