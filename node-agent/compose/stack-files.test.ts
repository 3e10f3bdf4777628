import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ComposeFileMount, ComposeService } from '../../lib/compose/model.js';
import { fileContent, StackFiles } from './stack-files.js';

const mount = (source: ComposeFileMount['source'], target = '/etc/app.conf', mode = 0o444): ComposeFileMount => ({
  origin: 'configs.app',
  target,
  mode,
  uid: 0,
  gid: 0,
  source,
});

const objects = new Map<string, Map<string, Buffer>>([
  ['ConfigMap/shop/one', new Map([['app.conf', Buffer.from('a=1\n')]])],
  ['ConfigMap/shop/two', new Map([['x', Buffer.from('x')], ['y', Buffer.from('y')]])],
  ['Secret/shop/tls', new Map([['key', Buffer.from([0, 1, 2, 255])]])],
]);
const lookup = (kind: string, ns: string, name: string) => objects.get(`${kind}/${ns}/${name}`);

describe('fileContent', () => {
  it.each([
    ['inline content', mount({ kind: 'inline', content: 'hello' }), 'hello'],
    ['the only key of a ConfigMap', mount({ kind: 'ConfigMap', name: 'one' }), 'a=1\n'],
    ['the key x-persys-key names', mount({ kind: 'ConfigMap', name: 'two', key: 'y' }), 'y'],
  ])('reads %s', (_name, m, want) => {
    expect(fileContent(m, 'shop', lookup).toString()).toBe(want);
  });

  it('keeps binary Secret bytes exact', () => {
    expect([...fileContent(mount({ kind: 'Secret', name: 'tls' }), 'shop', lookup)]).toEqual([0, 1, 2, 255]);
  });

  it.each([
    ['a missing object', mount({ kind: 'ConfigMap', name: 'nope' }), 'configs.app: ConfigMap shop/nope not found'],
    ['a missing key', mount({ kind: 'ConfigMap', name: 'two', key: 'z' }), 'configs.app: ConfigMap shop/two has no key "z"'],
    ['several keys and no x-persys-key', mount({ kind: 'ConfigMap', name: 'two' }), 'has 2 keys; name the one to mount with x-persys-key'],
  ])('names %s', (_name, m, message) => {
    expect(() => fileContent(m, 'shop', lookup)).toThrow(message);
  });
});

describe('StackFiles', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes each file with its mode, and a change into the same inode so bind mounts see it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'persys-stack-files-'));
    const files = new StackFiles(dir);
    const service = { name: 'web', fileMounts: [mount({ kind: 'ConfigMap', name: 'one' }, '/etc/app.conf', 0o440)] } as ComposeService;
    const first = await files.sync('shop', 'st', service, lookup);
    const path = first.get('/etc/app.conf')!;
    expect(readFileSync(path, 'utf8')).toBe('a=1\n');
    expect(statSync(path).mode & 0o777).toBe(0o440);
    const inode = statSync(path).ino;

    objects.set('ConfigMap/shop/one', new Map([['app.conf', Buffer.from('a=2\n')]]));
    const second = await files.sync('shop', 'st', service, lookup);
    expect(second.get('/etc/app.conf')).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe('a=2\n');
    expect(statSync(path).ino).toBe(inode);

    await files.remove('shop', 'st');
    expect(() => statSync(path)).toThrow();
  });
});
