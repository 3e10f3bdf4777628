import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesGcmCipher, DecryptError, UnknownKeyError, isEncrypted, type EncryptionKey } from './cipher.js';
import { EncryptionTransformer } from './transformer.js';

const key = (name: string): EncryptionKey => ({ name, secret: randomBytes(32) });
const aad = Buffer.from('/persys/secrets/default/db');
const plain = Buffer.from('{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}');

describe('AesGcmCipher', () => {
  it('round-trips a value under the first key, with the scheme and key name in clear in front', () => {
    const cipher = new AesGcmCipher([key('key2'), key('key1')]);
    const sealed = cipher.encrypt(plain, aad);
    expect(sealed.subarray(0, 26).toString()).toBe('persys:enc:aesgcm:v1:key2:');
    expect(sealed.includes(plain)).toBe(false);
    expect(sealed.includes(Buffer.from('aHVudGVyMg'))).toBe(false);
    expect(isEncrypted(sealed)).toBe(true);
    expect(cipher.decrypt(sealed, aad)).toEqual({ plaintext: plain, keyName: 'key2' });
  });

  it('uses a fresh nonce on every write', () => {
    const cipher = new AesGcmCipher([key('k')]);
    expect(cipher.encrypt(plain, aad).equals(cipher.encrypt(plain, aad))).toBe(false);
  });

  it('decrypts with any key of the list, so values written before a rotation stay readable', () => {
    const [k1, k2] = [key('key1'), key('key2')];
    const sealed = new AesGcmCipher([k1]).encrypt(plain, aad);
    expect(new AesGcmCipher([k2, k1]).decrypt(sealed, aad)).toEqual({ plaintext: plain, keyName: 'key1' });
  });

  it('names the key id when the value was encrypted with a key it does not hold', () => {
    const sealed = new AesGcmCipher([key('key1')]).encrypt(plain, aad);
    const err = catchErr(() => new AesGcmCipher([key('key2')]).decrypt(sealed, aad));
    expect(err).toBeInstanceOf(UnknownKeyError);
    expect((err as UnknownKeyError).keyName).toBe('key1');
    expect(err.message).toContain('encrypted with key "key1", which is not in the encryption key file (it holds "key2")');
    expect(catchErr(() => new AesGcmCipher([]).decrypt(sealed, aad)).message).toContain('has no --encryption-key-file');
  });

  it('refuses a tampered ciphertext', () => {
    const cipher = new AesGcmCipher([key('key1')]);
    const sealed = cipher.encrypt(plain, aad);
    for (const at of [30, sealed.length - 20, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x01;
      const err = catchErr(() => cipher.decrypt(bad, aad));
      expect(err).toBeInstanceOf(DecryptError);
      expect(err.message).toMatch(/does not authenticate/);
    }
    expect(catchErr(() => cipher.decrypt(sealed.subarray(0, 40), aad)).message).toMatch(/truncated/);
  });

  it('refuses a value moved to another storage key (the key is authenticated data)', () => {
    const cipher = new AesGcmCipher([key('key1')]);
    const sealed = cipher.encrypt(plain, aad);
    const err = catchErr(() => cipher.decrypt(sealed, Buffer.from('/persys/secrets/default/other')));
    expect(err).toBeInstanceOf(DecryptError);
    expect(err.message).toMatch(/copied from another key/);
  });

  it('refuses a key name that is the same but a secret that is not', () => {
    const sealed = new AesGcmCipher([key('key1')]).encrypt(plain, aad);
    expect(catchErr(() => new AesGcmCipher([key('key1')]).decrypt(sealed, aad))).toBeInstanceOf(DecryptError);
  });

  it('reports an unknown scheme by name', () => {
    const cipher = new AesGcmCipher([key('key1')]);
    expect(catchErr(() => cipher.decrypt(Buffer.from('persys:enc:kms:v2:x:abc'), aad)).message).toContain('scheme "kms"');
  });

  it('rejects keys of the wrong size, bad names and duplicates', () => {
    expect(() => new AesGcmCipher([{ name: 'k', secret: randomBytes(16) }])).toThrow(/16 bytes/);
    expect(() => new AesGcmCipher([{ name: 'a:b', secret: randomBytes(32) }])).toThrow(/may hold only/);
    expect(() => new AesGcmCipher([key('k'), key('k')])).toThrow(/twice/);
  });
});

describe('EncryptionTransformer', () => {
  const k1 = key('key1');
  const k2 = key('key2');

  it('encrypts Secrets only, by default', () => {
    const t = new EncryptionTransformer({ keys: [k1] });
    expect(isEncrypted(t.toStorage('secrets/default/db', plain, aad))).toBe(true);
    expect(t.toStorage('configmaps/default/db', plain, aad)).toBe(plain);
  });

  it('encrypts the kinds it is given', () => {
    const t = new EncryptionTransformer({ keys: [k1], kinds: ['ConfigMap'] });
    expect(isEncrypted(t.toStorage('configmaps/default/db', plain, aad))).toBe(true);
    expect(t.toStorage('secrets/default/db', plain, aad)).toBe(plain);
  });

  it('reads values stored before encryption was on, and marks them stale', () => {
    const t = new EncryptionTransformer({ keys: [k1] });
    expect(t.fromStorage('secrets/default/db', plain, aad)).toEqual({ plaintext: plain, stale: true });
    expect(t.fromStorage('configmaps/default/db', plain, aad)).toEqual({ plaintext: plain, stale: false });
  });

  it('marks values under a key that is no longer first as stale', () => {
    const sealed = new EncryptionTransformer({ keys: [k1] }).toStorage('secrets/default/db', plain, aad);
    const rotated = new EncryptionTransformer({ keys: [k2, k1] });
    expect(rotated.fromStorage('secrets/default/db', sealed, aad)).toEqual({ plaintext: plain, stale: true });
    const fresh = rotated.toStorage('secrets/default/db', plain, aad);
    expect(rotated.fromStorage('secrets/default/db', fresh, aad)).toEqual({ plaintext: plain, stale: false });
  });

  it('without keys stores in clear and fails clearly on encrypted values', () => {
    const sealed = new EncryptionTransformer({ keys: [k1] }).toStorage('secrets/default/db', plain, aad);
    const none = new EncryptionTransformer({ keys: [] });
    expect(none.toStorage('secrets/default/db', plain, aad)).toBe(plain);
    expect(catchErr(() => none.fromStorage('secrets/default/db', sealed, aad))).toBeInstanceOf(UnknownKeyError);
  });
});

function catchErr(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}
