// The atomic writer on a real temp directory: layout, the swap that keeps the old version whole until
// the rename, modes, nested paths, byte-exact data, and paths that would leave the directory.
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProjectionPathError } from '../docker/errors.js';
import { checkProjectedPath, hasProjection, resolveProjected, stageProjection, writeProjection, type ProjectedFile } from './projection.js';

let base: string;
let dir: string;
const file = (path: string, text: string | Buffer, mode = 0o644): ProjectedFile => ({
  path,
  data: Buffer.isBuffer(text) ? text : Buffer.from(text),
  mode,
});
const read = (path: string) => readFileSync(join(dir, path), 'utf8');
const versions = () => readdirSync(dir).filter((e) => e.startsWith('..') && e !== '..data');

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'persys-projection-'));
  dir = join(base, 'vol');
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('writeProjection', () => {
  it('puts the files in a ..<timestamp> version, behind a ..data link and one relative link per top-level entry', async () => {
    await writeProjection(dir, [file('app.conf', 'a=1'), file('conf/db.yaml', 'db: x')]);
    expect(read('app.conf')).toBe('a=1');
    expect(read('conf/db.yaml')).toBe('db: x');
    const [version] = versions();
    expect(version).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{3}\.[0-9a-f]{8}$/);
    expect(readlinkSync(join(dir, '..data'))).toBe(version);
    expect(readlinkSync(join(dir, 'app.conf'))).toBe('..data/app.conf');
    expect(readlinkSync(join(dir, 'conf'))).toBe('..data/conf');
    expect(readdirSync(dir).sort()).toEqual(['..data', version, 'app.conf', 'conf'].sort());
    expect(await hasProjection(dir)).toBe(true);
  });

  it('keeps the old version whole and readable until the commit renames ..data, then drops it', async () => {
    await writeProjection(dir, [file('app.conf', 'v1'), file('old-only', 'gone soon')]);
    const [v1] = versions();
    const staged = await stageProjection(dir, [file('app.conf', 'v2'), file('new-only', 'new')]);
    // Staged: the new files exist beside the old ones, but the volume still shows the old version.
    expect(readFileSync(join(staged.versionDir, 'app.conf'), 'utf8')).toBe('v2');
    expect(read('app.conf')).toBe('v1');
    expect(read('old-only')).toBe('gone soon');
    expect(() => lstatSync(join(dir, 'new-only'))).toThrow();
    expect(readlinkSync(join(dir, '..data'))).toBe(v1);

    await staged.commit();
    expect(read('app.conf')).toBe('v2');
    expect(read('new-only')).toBe('new');
    expect(() => lstatSync(join(dir, 'old-only'))).toThrow();
    expect(versions()).toEqual([staged.versionDir.slice(dir.length + 1)]);
    expect(() => lstatSync(join(dir, '..data_tmp'))).toThrow();
  });

  it('a reader holding the old file open still reads the old bytes after the swap', async () => {
    await writeProjection(dir, [file('app.conf', 'v1')]);
    const fd = openSync(join(dir, 'app.conf'), 'r');
    try {
      await writeProjection(dir, [file('app.conf', 'v2')]);
      const buf = Buffer.alloc(8);
      expect(buf.subarray(0, readSync(fd, buf, 0, 8, 0)).toString()).toBe('v1');
      expect(read('app.conf')).toBe('v2');
    } finally {
      closeSync(fd);
    }
  });

  it('an aborted stage leaves the current version alone and removes its own', async () => {
    await writeProjection(dir, [file('app.conf', 'v1')]);
    const staged = await stageProjection(dir, [file('app.conf', 'v2')]);
    await staged.abort();
    expect(read('app.conf')).toBe('v1');
    expect(versions()).toHaveLength(1);
  });

  it('a version staged by a writer that died before its commit is removed by the next commit', async () => {
    await writeProjection(dir, [file('app.conf', 'v1')]);
    await stageProjection(dir, [file('app.conf', 'never committed')]);
    expect(versions()).toHaveLength(2);
    await writeProjection(dir, [file('app.conf', 'v3')]);
    expect(versions()).toHaveLength(1);
    expect(read('app.conf')).toBe('v3');
  });

  it.each<[string, number]>([
    ['owner read-only', 0o400],
    ['default', 0o644],
    ['executable', 0o755],
    ['group readable', 0o440],
  ])('sets the file mode exactly (%s)', async (_case, mode) => {
    await writeProjection(dir, [file('f', 'x', mode)]);
    expect(statSync(join(dir, 'f')).mode & 0o777).toBe(mode);
  });

  it('makes the volume, version and nested directories traversable by any user (0755)', async () => {
    await writeProjection(dir, [file('a/b/c.txt', 'deep', 0o400)]);
    expect(read('a/b/c.txt')).toBe('deep');
    const [version] = versions();
    for (const d of [dir, join(dir, version!), join(dir, version!, 'a'), join(dir, version!, 'a', 'b')]) {
      expect(statSync(d).mode & 0o777, d).toBe(0o755);
    }
  });

  it('writes binary data byte for byte', async () => {
    const bytes = Buffer.concat([Buffer.from([0, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a, 0x0d]), randomBytes(4096)]);
    await writeProjection(dir, [file('blob.bin', bytes)]);
    expect(readFileSync(join(dir, 'blob.bin')).equals(bytes)).toBe(true);
  });

  it('an empty payload leaves an empty volume (only the hidden entries)', async () => {
    await writeProjection(dir, [file('app.conf', 'v1')]);
    await writeProjection(dir, []);
    expect(readdirSync(dir).filter((e) => !e.startsWith('..'))).toEqual([]);
    expect(await hasProjection(dir)).toBe(true);
  });

  it.each<[string, string]>([
    ['absolute', '/etc/passwd'],
    ['climbing out', '../escape'],
    ['climbing out from a subdirectory', 'a/../../escape'],
    ['a ".." segment inside', 'a/../b'],
    ['the ..data link', '..data'],
    ['a name of the writer (starting with "..")', '..hidden'],
    ['an empty segment', 'a//b'],
    ['a "." segment', './a'],
    ['empty', ''],
  ])('refuses a path that is %s and writes nothing', async (_case, path) => {
    await expect(writeProjection(dir, [file('ok', 'x'), file(path, 'evil')])).rejects.toThrow(ProjectionPathError);
    expect(readdirSync(base)).toEqual([]);
    expect(() => checkProjectedPath(path)).toThrow(ProjectionPathError);
  });

  it.each<[string, string[]]>([
    ['twice', ['a', 'a']],
    ['both a file and a directory', ['conf', 'conf/x']],
  ])('refuses a path given %s', async (_case, paths) => {
    await expect(writeProjection(dir, paths.map((p) => file(p, 'x')))).rejects.toThrow(ProjectionPathError);
  });

  it('accepts dotfiles and dots inside names', () => {
    for (const p of ['.env', 'a.b/c..d', 'x/.y']) expect(() => checkProjectedPath(p)).not.toThrow();
  });
});

describe('resolveProjected', () => {
  it('resolves a subPath through ..data to the real file of the current version', async () => {
    await writeProjection(dir, [file('conf/app.yaml', 'x')]);
    const [version] = versions();
    expect(await resolveProjected(dir, 'conf/app.yaml')).toBe(join(dir, version!, 'conf', 'app.yaml'));
    expect(await resolveProjected(dir, 'conf')).toBe(join(dir, version!, 'conf'));
  });

  it.each<[string, string, RegExp]>([
    ['absent', 'nope', /is not among the projected files/],
    ['climbing out', '../../etc', /"\.\." segments/],
    ['absolute', '/etc/passwd', /must be relative/],
  ])('refuses a subPath that is %s', async (_case, subPath, message) => {
    await writeProjection(dir, [file('app.conf', 'x')]);
    await expect(resolveProjected(dir, subPath)).rejects.toThrow(message);
  });

  it('says there is no projection once the directory is gone', async () => {
    await writeProjection(dir, [file('app.conf', 'x')]);
    rmSync(dir, { recursive: true });
    expect(await hasProjection(dir)).toBe(false);
  });
});
