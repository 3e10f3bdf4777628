// DesiredState's view of ConfigMaps and Secrets: the exact bytes of each key, as env and volumes read them.
import { describe, expect, it } from 'vitest';
import { DesiredState } from './desired.js';

const meta = (name: string) => ({ name, namespace: 'shop', uid: `uid-${name}` });

describe('DesiredState.configData', () => {
  const desired = new DesiredState();
  desired.replace([
    { apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: meta('app'), data: { 'app.conf': 'grüße\n' }, binaryData: { 'logo.bin': Buffer.from([0, 0xff, 0x80]).toString('base64') } },
    { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: meta('db'), type: 'Opaque', data: { password: Buffer.from('s3cret').toString('base64'), both: Buffer.from('from data').toString('base64') }, stringData: { both: 'from stringData', extra: 'plain' } },
  ]);
  const text = (m: ReadonlyMap<string, Buffer> | undefined) => Object.fromEntries([...(m ?? [])].map(([k, v]) => [k, [...v]]));

  it('decodes a ConfigMap: data as UTF-8 text, binaryData from base64', () => {
    expect(text(desired.configData('ConfigMap', 'shop', 'app'))).toEqual({
      'app.conf': [...Buffer.from('grüße\n', 'utf8')],
      'logo.bin': [0, 0xff, 0x80],
    });
  });

  it('decodes a Secret from base64, taking stringData only for keys data lacks', () => {
    const m = desired.configData('Secret', 'shop', 'db')!;
    expect(m.get('password')!.toString()).toBe('s3cret');
    expect(m.get('both')!.toString()).toBe('from data');
    expect(m.get('extra')!.toString()).toBe('plain');
  });

  it('is undefined for an object that is not desired, and never mixes kinds', () => {
    expect(desired.configData('ConfigMap', 'shop', 'db')).toBeUndefined();
    expect(desired.configData('Secret', 'other', 'db')).toBeUndefined();
  });
});
