import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EncryptionKeyFileError, loadEncryptionKeyFile, parseEncryptionKeys } from './key-file.js';

const k32 = Buffer.alloc(32, 7).toString('base64');
const k32b = Buffer.alloc(32, 9).toString('base64');

describe('parseEncryptionKeys', () => {
  it('reads the keys in order: the first encrypts', () => {
    const keys = parseEncryptionKeys(`keys:\n  - name: key2\n    secret: ${k32b}\n  - name: key1\n    secret: ${k32}\n`);
    expect(keys.map((k) => k.name)).toEqual(['key2', 'key1']);
    expect(keys[0]!.secret).toEqual(Buffer.alloc(32, 9));
  });

  const bad: Array<[string, string, RegExp]> = [
    ['empty file', '', /expected a map with "keys"/],
    ['not YAML', 'keys: [\n', /not valid YAML/],
    ['a list at the top', '- a\n', /expected a map/],
    ['no keys', 'other: 1\n', /unknown field "other"/],
    ['empty key list', 'keys: []\n', /"keys" must be a non-empty list/],
    ['keys not a list', 'keys: key1\n', /"keys" must be a non-empty list/],
    ['an entry not a map', 'keys: [key1]\n', /keys\[0\]: expected a map/],
    ['no name', `keys: [{secret: ${k32}}]\n`, /keys\[0\]\.name: required/],
    ['a name with a colon', `keys: [{name: "a:b", secret: ${k32}}]\n`, /keys\[0\]\.name: "a:b" may hold only/],
    ['duplicate names', `keys: [{name: k, secret: ${k32}}, {name: k, secret: ${k32b}}]\n`, /keys\[1\]\.name: "k" appears twice/],
    ['no secret', 'keys: [{name: k}]\n', /keys\[0\]\.secret \(key "k"\): required/],
    ['secret not base64', 'keys: [{name: k, secret: "not*base64!"}]\n', /keys\[0\]\.secret \(key "k"\): not valid base64/],
    ['secret too short', `keys: [{name: k, secret: ${Buffer.alloc(16).toString('base64')}}]\n`, /16 bytes; AES-256 needs exactly 32/],
    ['secret too long', `keys: [{name: k, secret: ${Buffer.alloc(33).toString('base64')}}]\n`, /33 bytes; AES-256 needs exactly 32/],
    ['unknown field in a key', `keys: [{name: k, secret: ${k32}, provider: aesgcm}]\n`, /keys\[0\]: unknown field "provider"/],
  ];
  it.each(bad)('refuses %s', (_, text, message) => {
    let err: unknown;
    try {
      parseEncryptionKeys(text, '/etc/persys/keys.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EncryptionKeyFileError);
    expect((err as Error).message).toMatch(/^encryption key file \/etc\/persys\/keys\.yaml: /);
    expect((err as Error).message).toMatch(message);
  });

  it('never repeats a secret in its messages', () => {
    const secret = Buffer.alloc(31, 5).toString('base64');
    expect(() => parseEncryptionKeys(`keys: [{name: k, secret: ${secret}}]`)).toThrow(/31 bytes/);
    try {
      parseEncryptionKeys(`keys: [{name: k, secret: ${secret}}]`);
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });
});

describe('loadEncryptionKeyFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'persys-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names a missing file', () => {
    expect(() => loadEncryptionKeyFile(join(dir, 'nope.yaml'))).toThrow(`encryption key file ${join(dir, 'nope.yaml')}: no such file`);
  });

  it('reads a file', () => {
    const file = join(dir, 'keys.yaml');
    writeFileSync(file, `keys:\n  - name: key1\n    secret: ${k32}\n`);
    expect(loadEncryptionKeyFile(file).map((k) => k.name)).toEqual(['key1']);
  });
});
