// Writes the files of a ConfigMap or Secret volume into a host directory that a container bind-mounts
// read-only, so that an update reaches the running container all at once, as kubelet's AtomicWriter does.
//
// How: the files of each version go into a new hidden directory `..<timestamp>`; `..data` is a symlink to
// the current one, and each top-level entry the container sees (`app.conf`, `conf/`) is a symlink
// `..data/<entry>`. An update writes the new version beside the old, creates the symlink `..data_tmp` to
// it and renames it over `..data`: rename(2) is atomic, so a reader inside the container sees either the
// whole old version or the whole new one, never a mix, and the old directory is removed only afterwards.
// All links are relative, so they resolve the same inside the container as on the host. A subPath mount
// binds one resolved file instead (see ConfigVolumes), which cannot follow a swap of `..data`.
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readlink, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { ProjectionPathError } from '../docker/errors.js';

/** One file of a volume: its path relative to the mount, its exact bytes and its mode bits. */
export interface ProjectedFile {
  path: string;
  data: Buffer;
  mode: number;
}

const DATA_LINK = '..data';
const DATA_LINK_TMP = '..data_tmp';
/** Directories the writer creates: readable and traversable by any user a container runs as. */
const DIR_MODE = 0o755;

/**
 * Refuses a path that is empty, absolute, has empty, "." or ".." segments, or starts with ".." (names
 * starting with ".." are the writer's own). API validation should have refused it already; the writer
 * checks again because it must never write outside the volume directory.
 */
export function checkProjectedPath(path: string): void {
  if (!path) throw new ProjectionPathError(path, 'is empty');
  if (path.includes('\0')) throw new ProjectionPathError(path, 'contains a NUL byte');
  if (path.startsWith('/')) throw new ProjectionPathError(path, 'must be relative');
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new ProjectionPathError(path, 'must not have empty, "." or ".." segments');
  }
  if (path.startsWith('..')) throw new ProjectionPathError(path, 'must not start with ".."');
}

/** Every path valid, none twice, and none both a file and the directory of another. */
function checkPayload(files: readonly ProjectedFile[]): void {
  const paths = new Set<string>();
  const dirs = new Set<string>();
  for (const f of files) {
    checkProjectedPath(f.path);
    if (paths.has(f.path)) throw new ProjectionPathError(f.path, 'is given twice');
    paths.add(f.path);
    const segments = f.path.split('/');
    for (let i = 1; i < segments.length; i++) dirs.add(segments.slice(0, i).join('/'));
  }
  for (const d of dirs) if (paths.has(d)) throw new ProjectionPathError(d, 'is both a file and a directory');
}

/** A new version written beside the current one; commit makes it current, abort drops it. */
export interface StagedProjection {
  /** The new `..<timestamp>` directory. */
  readonly versionDir: string;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** `..2026_12_06_07_35_49.123.` (mkdtemp appends a random suffix): sortable, and hidden by its leading "..". */
function versionPrefix(now: Date): string {
  return `..${now.toISOString().replace(/[-T:]/g, '_').replace('Z', '')}.`;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
}

/** Writes `files` into a new version directory under `dir` (created if needed); the current version is untouched. */
export async function stageProjection(dir: string, files: readonly ProjectedFile[]): Promise<StagedProjection> {
  checkPayload(files);
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  await chmod(dir, DIR_MODE);
  const name = `${versionPrefix(new Date())}${randomBytes(4).toString('hex')}`;
  const versionDir = join(dir, name);
  await mkdir(versionDir, { mode: DIR_MODE });
  try {
    await chmod(versionDir, DIR_MODE);
    for (const f of files) {
      const target = join(versionDir, f.path);
      const parent = dirname(target);
      if (parent !== versionDir) await mkdir(parent, { recursive: true, mode: DIR_MODE });
      await writeFile(target, f.data, { mode: f.mode, flag: 'wx' });
      // writeFile's mode is filtered by the umask.
      await chmod(target, f.mode);
    }
  } catch (e) {
    await rm(versionDir, { recursive: true, force: true });
    throw e;
  }
  return {
    versionDir,
    commit: () => commitProjection(dir, name, files),
    abort: () => rm(versionDir, { recursive: true, force: true }),
  };
}

async function commitProjection(dir: string, version: string, files: readonly ProjectedFile[]): Promise<void> {
  const tmp = join(dir, DATA_LINK_TMP);
  await rm(tmp, { force: true });
  await symlink(version, tmp);
  // The one step a reader can observe: ..data points at the old version, then at the new one.
  await rename(tmp, join(dir, DATA_LINK));

  const topLevel = new Set(files.map((f) => f.path.split('/')[0]!));
  for (const entry of topLevel) {
    const path = join(dir, entry);
    const want = `${DATA_LINK}/${entry}`;
    const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (st?.isSymbolicLink() && (await readlink(path)) === want) continue;
    if (st) await rm(path, { recursive: true, force: true });
    await symlink(want, path);
  }
  // Entries of older versions, and versions staged by a writer that died before its commit.
  for (const entry of await readdir(dir)) {
    if (entry === DATA_LINK || entry === version) continue;
    if (entry.startsWith('..') || !topLevel.has(entry)) await rm(join(dir, entry), { recursive: true, force: true });
  }
}

/** Makes `files` the volume's content in one atomic step (stage, then commit). */
export async function writeProjection(dir: string, files: readonly ProjectedFile[]): Promise<void> {
  const staged = await stageProjection(dir, files);
  try {
    await staged.commit();
  } catch (e) {
    // A failed commit before the rename leaves the old version current and this one unused.
    if ((await readlink(join(dir, DATA_LINK)).catch(() => undefined)) !== basename(staged.versionDir)) {
      await staged.abort();
    }
    throw e;
  }
}

/** Whether `dir` holds a committed version (its `..data` resolves): false once someone removed it. */
export async function hasProjection(dir: string): Promise<boolean> {
  if (!(await exists(join(dir, DATA_LINK)))) return false;
  return realpath(join(dir, DATA_LINK)).then(
    () => true,
    () => false,
  );
}

/** The real path of `subPath` in the current version (through `..data`), refusing anything outside it. */
export async function resolveProjected(dir: string, subPath: string): Promise<string> {
  checkProjectedPath(subPath);
  const base = await realpath(join(dir, DATA_LINK));
  const real = await realpath(join(base, subPath)).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new ProjectionPathError(subPath, 'is not among the projected files');
    throw e;
  });
  if (real !== base && !real.startsWith(base + sep)) throw new ProjectionPathError(subPath, 'resolves outside the volume');
  return real;
}
