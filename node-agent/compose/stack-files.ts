// The files a ComposeStack's `configs:` and `secrets:` put into its containers. Each is written on the
// node under the agent's directory and bind-mounted read-only at its target, like Compose's file-based
// configs. A changed ConfigMap or Secret is written into the same file (same inode), so running containers
// see the new content without a restart; the content is never part of a container's config hash.
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComposeFileMount, ComposeService } from '../../lib/compose/model.js';
import type { ConfigLookup } from '../desired.js';
import { ContainerConfigError, MissingConfigError } from '../docker/errors.js';

/** A mount's content, or why it cannot be had. */
export function fileContent(mount: ComposeFileMount, namespace: string, lookup: ConfigLookup): Buffer {
  const src = mount.source;
  if (src.kind === 'inline') return Buffer.from(src.content, 'utf8');
  const data = lookup(src.kind, namespace, src.name);
  if (!data) throw new MissingConfigError(src.kind, namespace, src.name, undefined, mount.origin);
  if (src.key !== undefined) {
    const value = data.get(src.key);
    if (value === undefined) throw new MissingConfigError(src.kind, namespace, src.name, src.key, mount.origin);
    return value;
  }
  if (data.size !== 1) {
    throw new ContainerConfigError(
      `${mount.origin}: ${src.kind} ${namespace}/${src.name} has ${data.size} keys; name the one to mount with x-persys-key`,
    );
  }
  return [...data.values()][0]!;
}

/** Where one mount's file lives on the node: a name per position, readable in `docker inspect`. */
export function hostFileName(index: number, mount: ComposeFileMount): string {
  const base = mount.target.split('/').filter(Boolean).pop() ?? 'file';
  return `${index}-${base.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

export class StackFiles {
  constructor(private readonly rootDir: string) {}

  /** The directory of one stack's files. */
  stackDir(namespace: string, name: string): string {
    return join(this.rootDir, namespace, name);
  }

  /**
   * Writes the service's files where their content changed and returns target → host path. Throws a
   * ContainerConfigError naming the first mount whose content is missing (nothing of the service is then changed).
   */
  async sync(namespace: string, name: string, service: ComposeService, lookup: ConfigLookup): Promise<Map<string, string>> {
    const contents = service.fileMounts.map((m) => fileContent(m, namespace, lookup));
    const out = new Map<string, string>();
    if (!service.fileMounts.length) return out;
    const dir = join(this.stackDir(namespace, name), service.name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const [i, mount] of service.fileMounts.entries()) {
      const path = join(dir, hostFileName(i, mount));
      const content = contents[i]!;
      const current = await readFile(path).catch(() => undefined);
      // In place: a bind mount holds the inode, so a rename would leave running containers on the old file.
      if (!current || !current.equals(content)) await writeFile(path, content, { mode: mount.mode });
      await chmod(path, mount.mode);
      await chown(path, mount.uid, mount.gid);
      out.set(mount.target, path);
    }
    return out;
  }

  /** Removes everything of a stack that is taken down. */
  async remove(namespace: string, name: string): Promise<void> {
    await rm(this.stackDir(namespace, name), { recursive: true, force: true });
  }
}
