// Which files a ConfigMap or Secret volume holds: tables of sources and objects, and the files they give.
import { describe, expect, it } from 'vitest';
import type { ConfigKind } from '../../lib/api/references.js';
import { MissingConfigError, ProjectionPathError } from '../docker/errors.js';
import { configVolumeSource, payloadHash, volumeDirName, volumePayload } from './payload.js';

const objects: Record<string, Record<string, string>> = {
  'ConfigMap/shop/app': { 'app.conf': 'a=1', 'log.conf': 'level=debug' },
  'Secret/shop/tls': { 'tls.key': 'KEY', 'tls.crt': 'CRT' },
};
const config = (kind: ConfigKind, ns: string, name: string) => {
  const o = objects[`${kind}/${ns}/${name}`];
  return o && new Map(Object.entries(o).map(([k, v]) => [k, Buffer.from(v)]));
};
const payload = (volume: Record<string, unknown>) =>
  volumePayload(configVolumeSource(volume)!, 'shop', config, 'volume /etc/app').map((f) => [f.path, f.data.toString(), f.mode.toString(8)]);

describe('volumePayload', () => {
  it.each<[string, Record<string, unknown>, [string, string, string][]]>([
    [
      'every key of a ConfigMap at its own name, mode 0644',
      { configMap: { name: 'app' } },
      [['app.conf', 'a=1', '644'], ['log.conf', 'level=debug', '644']],
    ],
    ['every key of a Secret with a defaultMode', { secret: { secretName: 'tls', defaultMode: 0o400 } }, [['tls.crt', 'CRT', '400'], ['tls.key', 'KEY', '400']]],
    [
      'only the listed items, at their paths, with their own modes over the default',
      { configMap: { name: 'app', defaultMode: 0o440, items: [{ key: 'app.conf', path: 'conf/app.yaml', mode: 0o600 }, { key: 'log.conf', path: 'log' }] } },
      [['conf/app.yaml', 'a=1', '600'], ['log', 'level=debug', '440']],
    ],
    ['an item without a path uses its key', { configMap: { name: 'app', items: [{ key: 'app.conf' }] } }, [['app.conf', 'a=1', '644']]],
    ['mode bits beyond 0777 are dropped', { configMap: { name: 'app', items: [{ key: 'app.conf', path: 'x', mode: 0o4755 }] } }, [['x', 'a=1', '755']]],
    ['an optional missing object is an empty volume', { configMap: { name: 'gone', optional: true } }, []],
    [
      'an optional source skips a missing item',
      { secret: { secretName: 'tls', optional: true, items: [{ key: 'nope', path: 'a' }, { key: 'tls.key', path: 'k' }] } },
      [['k', 'KEY', '644']],
    ],
  ])('%s', (_case, volume, expected) => {
    expect(payload(volume)).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a missing ConfigMap', { configMap: { name: 'gone' } }, 'volume /etc/app: ConfigMap shop/gone not found'],
    ['a missing Secret', { secret: { secretName: 'gone' } }, 'volume /etc/app: Secret shop/gone not found'],
    ['a missing listed key', { configMap: { name: 'app', items: [{ key: 'nope', path: 'x' }] } }, 'volume /etc/app: ConfigMap shop/app has no key "nope"'],
  ])('refuses %s, naming it', (_case, volume, message) => {
    expect(() => payload(volume)).toThrow(MissingConfigError);
    expect(() => payload(volume)).toThrow(message);
  });

  it.each(['../x', '/abs', 'a/../../b'])('refuses the item path %s', (path) => {
    expect(() => payload({ configMap: { name: 'app', items: [{ key: 'app.conf', path }] } })).toThrow(ProjectionPathError);
  });
});

describe('configVolumeSource', () => {
  it('is undefined for named volumes and host paths', () => {
    expect(configVolumeSource({ mountPath: '/d', volumeName: 'data' })).toBeUndefined();
    expect(configVolumeSource({ mountPath: '/d', hostPath: '/srv' })).toBeUndefined();
  });
});

describe('payloadHash', () => {
  const f = (path: string, data: string, mode = 0o644) => ({ path, data: Buffer.from(data), mode });
  it('is the same for the same files in any order, and differs with any path, byte or mode', () => {
    const h = payloadHash([f('a', '1'), f('b', '2')]);
    expect(payloadHash([f('b', '2'), f('a', '1')])).toBe(h);
    expect(payloadHash([f('a', '1'), f('b', '3')])).not.toBe(h);
    expect(payloadHash([f('a', '1'), f('c', '2')])).not.toBe(h);
    expect(payloadHash([f('a', '1'), f('b', '2', 0o400)])).not.toBe(h);
    // Boundaries between path and data are part of the hash.
    expect(payloadHash([f('ab', '')])).not.toBe(payloadHash([f('a', 'b')]));
  });
});

describe('volumeDirName', () => {
  it('names the directory after index, kind and object', () => {
    expect(volumeDirName(2, configVolumeSource({ configMap: { name: 'app' } })!)).toBe('2-configmap-app');
    expect(volumeDirName(0, configVolumeSource({ secret: { secretName: 'tls.certs' } })!)).toBe('0-secret-tls.certs');
  });
});
