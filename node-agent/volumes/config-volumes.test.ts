// ConfigVolumes on a real temp directory: what a container's create binds, updates in place only on
// change, subPath snapshots that survive an update, missing objects, and removal of a uid's files.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigKind } from '../../lib/api/references.js';
import type { Resource } from '../../lib/api/resource.js';
import { MissingConfigError } from '../docker/errors.js';
import { ConfigVolumes, mountsConfig } from './config-volumes.js';

const UID = '0f6c1f7e-1111-2222-3333-444455556666';
let root: string;
let objects: Record<string, Record<string, string>>;
let volumes: ConfigVolumes;

const config = (kind: ConfigKind, ns: string, name: string) => {
  const o = objects[`${kind}/${ns}/${name}`];
  return o && new Map(Object.entries(o).map(([k, v]) => [k, Buffer.from(v)]));
};

function container(volumesSpec: Record<string, unknown>[], uid = UID): Resource {
  return { apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'web', namespace: 'shop', uid }, spec: { image: 'img:1', volumes: volumesSpec } };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'persys-config-volumes-'));
  objects = { 'ConfigMap/shop/app': { 'app.conf': 'v1' }, 'Secret/shop/tls': { 'tls.key': 'KEY' } };
  volumes = new ConfigVolumes({ root, config });
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('ConfigVolumes', () => {
  it('projects each ConfigMap and Secret volume into <root>/<uid>/<index>-<kind>-<name> and returns them by index', async () => {
    const c = container([
      { mountPath: '/data', volumeName: 'data' },
      { mountPath: '/etc/app', configMap: { name: 'app' } },
      { mountPath: '/run/tls', secret: { secretName: 'tls', defaultMode: 0o400 } },
    ]);
    const sources = await volumes.prepare(c);
    expect([...sources]).toEqual([
      [1, join(root, UID, '1-configmap-app')],
      [2, join(root, UID, '2-secret-tls')],
    ]);
    expect(readFileSync(join(sources.get(1)!, 'app.conf'), 'utf8')).toBe('v1');
    expect(statSync(join(sources.get(2)!, 'tls.key')).mode & 0o777).toBe(0o400);
    expect(mountsConfig(c)).toBe(true);
    expect(mountsConfig(container([{ mountPath: '/data', volumeName: 'data' }]))).toBe(false);
  });

  it('rewrites a volume on refresh only when its object changed', async () => {
    const c = container([{ mountPath: '/etc/app', configMap: { name: 'app' } }]);
    const dir = (await volumes.prepare(c)).get(0)!;
    const version = () => readdirSync(dir).find((e) => e.startsWith('..2'));
    const before = version();
    expect(await volumes.refresh(c)).toBe(0);
    expect(version()).toBe(before);

    objects['ConfigMap/shop/app'] = { 'app.conf': 'v2' };
    expect(await volumes.refresh(c)).toBe(1);
    expect(readFileSync(join(dir, 'app.conf'), 'utf8')).toBe('v2');
    expect(version()).not.toBe(before);
    expect(await volumes.refresh(c)).toBe(0);
  });

  it('writes the files again when they were removed behind its back', async () => {
    const c = container([{ mountPath: '/etc/app', configMap: { name: 'app' } }]);
    const dir = (await volumes.prepare(c)).get(0)!;
    rmSync(dir, { recursive: true });
    expect(await volumes.refresh(c)).toBe(1);
    expect(readFileSync(join(dir, 'app.conf'), 'utf8')).toBe('v1');
  });

  it('binds a subPath as a snapshot that an update neither changes nor breaks', async () => {
    objects['ConfigMap/shop/app'] = { 'app.conf': 'v1', other: 'o' };
    const c = container([{ mountPath: '/etc/nginx/nginx.conf', configMap: { name: 'app', items: [{ key: 'app.conf', path: 'conf/app.conf', mode: 0o600 }] }, subPath: 'conf/app.conf' }]);
    const snapshot = (await volumes.prepare(c)).get(0)!;
    expect(snapshot).toBe(join(root, UID, '0-configmap-app.subpath'));
    expect(readFileSync(snapshot, 'utf8')).toBe('v1');
    expect(statSync(snapshot).mode & 0o777).toBe(0o600);

    objects['ConfigMap/shop/app'] = { 'app.conf': 'v2' };
    expect(await volumes.refresh(c)).toBe(0);
    // A restart of the same container binds the same path: it must still exist.
    expect(readFileSync(snapshot, 'utf8')).toBe('v1');
    // A new container (prepare again) gets the new content.
    await volumes.prepare(c);
    expect(readFileSync(snapshot, 'utf8')).toBe('v2');
  });

  it('refuses a subPath that is not among the projected files', async () => {
    const c = container([{ mountPath: '/etc/x', configMap: { name: 'app' }, subPath: 'nope' }]);
    await expect(volumes.prepare(c)).rejects.toThrow(/"nope" is not among the projected files/);
  });

  it('writes nothing when one of the objects is missing', async () => {
    const c = container([
      { mountPath: '/etc/app', configMap: { name: 'app' } },
      { mountPath: '/run/db', secret: { secretName: 'db' } },
    ]);
    await expect(volumes.prepare(c)).rejects.toThrow(MissingConfigError);
    await expect(volumes.prepare(c)).rejects.toThrow('volume /run/db: Secret shop/db not found');
    expect(existsSync(join(root, UID))).toBe(false);
  });

  it('projects an optional missing object as an empty directory, and empties it when an optional object goes', async () => {
    const c = container([
      { mountPath: '/etc/opt', configMap: { name: 'later', optional: true } },
      { mountPath: '/etc/app', configMap: { name: 'app', optional: true } },
    ]);
    const sources = await volumes.prepare(c);
    expect(readdirSync(sources.get(0)!).filter((e) => !e.startsWith('..'))).toEqual([]);
    delete objects['ConfigMap/shop/app'];
    objects['ConfigMap/shop/later'] = { k: 'arrived' };
    expect(await volumes.refresh(c)).toBe(2);
    expect(readFileSync(join(sources.get(0)!, 'k'), 'utf8')).toBe('arrived');
    expect(readdirSync(sources.get(1)!).filter((e) => !e.startsWith('..'))).toEqual([]);
  });

  it('keeps the last files of a non-optional object that disappeared, updates the other volumes, and says why', async () => {
    const c = container([
      { mountPath: '/etc/app', configMap: { name: 'app' } },
      { mountPath: '/run/tls', secret: { secretName: 'tls' } },
    ]);
    const sources = await volumes.prepare(c);
    delete objects['ConfigMap/shop/app'];
    objects['Secret/shop/tls'] = { 'tls.key': 'KEY2' };
    await expect(volumes.refresh(c)).rejects.toThrow('volume /etc/app: ConfigMap shop/app not found');
    expect(readFileSync(join(sources.get(0)!, 'app.conf'), 'utf8')).toBe('v1');
    expect(readFileSync(join(sources.get(1)!, 'tls.key'), 'utf8')).toBe('KEY2');
  });

  it('drops the volumes of an earlier spec when the container is prepared again', async () => {
    await volumes.prepare(container([{ mountPath: '/etc/app', configMap: { name: 'app' } }]));
    await volumes.prepare(container([{ mountPath: '/run/tls', secret: { secretName: 'tls' } }]));
    expect(readdirSync(join(root, UID))).toEqual(['0-secret-tls']);
  });

  it('removes a uid\'s files, and sweeps the uids it is not told to keep', async () => {
    const other = '9a9a9a9a-0000-0000-0000-000000000000';
    const gone = 'dddddddd-0000-0000-0000-000000000000';
    for (const uid of [UID, other, gone]) await volumes.prepare(container([{ mountPath: '/etc/app', configMap: { name: 'app' } }], uid));
    await volumes.remove(UID);
    expect(readdirSync(root).sort()).toEqual([other, gone].sort());
    expect(await volumes.sweep((uid) => uid === other)).toEqual([gone]);
    expect(readdirSync(root)).toEqual([other]);
    // A removed uid projected again is written, not skipped as unchanged.
    const again = await volumes.prepare(container([{ mountPath: '/etc/app', configMap: { name: 'app' } }], gone));
    expect(readFileSync(join(again.get(0)!, 'app.conf'), 'utf8')).toBe('v1');
  });

  it('sweeps nothing when the root does not exist yet', async () => {
    const fresh = new ConfigVolumes({ root: join(root, 'not-yet'), config });
    expect(await fresh.sweep(() => false)).toEqual([]);
  });

  it('refuses a uid that would name a path outside the root', () => {
    for (const uid of ['../x', 'a/b', '..', '']) expect(() => volumes.dirOf(uid)).toThrow(/cannot name a volume directory/);
  });
});
