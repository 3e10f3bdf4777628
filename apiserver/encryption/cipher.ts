// AES-256-GCM envelope for values at rest, with named keys so keys can rotate (Kubernetes' aesgcm
// provider): persys:enc:aesgcm:v1:KEYNAME: + 12-byte random nonce + ciphertext + 16-byte tag.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** What every encrypted value starts with; anything else was stored before encryption was on. */
export const ENCRYPTED_PREFIX = 'persys:enc:';
/** The one scheme so far; a later one gets its own prefix and old values stay readable. */
export const AESGCM_PREFIX = `${ENCRYPTED_PREFIX}aesgcm:v1:`;
/** AES-256: the only key size accepted. */
export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ENCRYPTED = Buffer.from(ENCRYPTED_PREFIX);
const AESGCM = Buffer.from(AESGCM_PREFIX);
const COLON = 0x3a;

export interface EncryptionKey {
  /** Written in clear into every value it encrypts; letters, digits, '.', '_' and '-'. */
  name: string;
  /** KEY_BYTES bytes. */
  secret: Buffer;
}

/** Why a stored value could not be decrypted; `keyName` when the value names its key. */
export class DecryptError extends Error {
  constructor(
    message: string,
    readonly keyName?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The value names a key this cipher does not hold: add the key back to the key file. */
export class UnknownKeyError extends DecryptError {
  constructor(keyName: string, known: readonly string[]) {
    super(
      known.length
        ? `it was encrypted with key "${keyName}", which is not in the encryption key file (it holds ${known.map((k) => `"${k}"`).join(', ')})`
        : `it was encrypted with key "${keyName}", but this API server has no --encryption-key-file`,
      keyName,
    );
  }
}

/** Whether `stored` carries the encrypted-value prefix (of any scheme). */
export function isEncrypted(stored: Buffer): boolean {
  // The first byte settles it for every JSON value ('{'), without a slice on the read path.
  return stored[0] === ENCRYPTED[0] && stored.length >= ENCRYPTED.length && stored.subarray(0, ENCRYPTED.length).equals(ENCRYPTED);
}

/** The first key encrypts; every key decrypts. An empty key list decrypts nothing and cannot encrypt. */
export class AesGcmCipher {
  private readonly keys: ReadonlyMap<string, EncryptionKey>;
  private readonly primary?: EncryptionKey;
  private readonly primaryPrefix?: Buffer;

  constructor(keys: readonly EncryptionKey[]) {
    const byName = new Map<string, EncryptionKey>();
    for (const key of keys) {
      if (key.secret.length !== KEY_BYTES) throw new Error(`key "${key.name}" is ${key.secret.length} bytes; AES-256 needs ${KEY_BYTES}`);
      if (!/^[A-Za-z0-9._-]+$/.test(key.name)) throw new Error(`key name "${key.name}" may hold only letters, digits, '.', '_' and '-'`);
      if (byName.has(key.name)) throw new Error(`key name "${key.name}" appears twice`);
      byName.set(key.name, key);
    }
    this.keys = byName;
    this.primary = keys[0];
    this.primaryPrefix = this.primary && Buffer.from(`${AESGCM_PREFIX}${this.primary.name}:`);
  }

  /** The name of the key new values are encrypted with; undefined without keys. */
  get primaryKeyName(): string | undefined {
    return this.primary?.name;
  }

  /** `aad` (the storage key) is authenticated, not stored: the value decrypts only under that key. */
  encrypt(plaintext: Buffer, aad: Buffer): Buffer {
    if (!this.primary) throw new Error('no encryption key');
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.primary.secret, nonce);
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([this.primaryPrefix!, nonce, body, cipher.getAuthTag()]);
  }

  /** Decrypts a value that isEncrypted(); throws UnknownKeyError or DecryptError. */
  decrypt(stored: Buffer, aad: Buffer): { plaintext: Buffer; keyName: string } {
    if (!stored.subarray(0, AESGCM.length).equals(AESGCM)) {
      const scheme = stored.subarray(ENCRYPTED.length, Math.min(stored.length, ENCRYPTED.length + 32)).toString('latin1').split(':')[0];
      throw new DecryptError(`it is encrypted with scheme "${scheme}", which this API server does not know`);
    }
    const end = stored.indexOf(COLON, AESGCM.length);
    if (end < 0) throw new DecryptError('its encryption prefix has no key name');
    const keyName = stored.subarray(AESGCM.length, end).toString('latin1');
    const key = this.keys.get(keyName);
    if (!key) throw new UnknownKeyError(keyName, [...this.keys.keys()]);
    if (stored.length < end + 1 + NONCE_BYTES + TAG_BYTES) throw new DecryptError(`its ciphertext under key "${keyName}" is truncated`, keyName);
    const nonce = stored.subarray(end + 1, end + 1 + NONCE_BYTES);
    const body = stored.subarray(end + 1 + NONCE_BYTES, stored.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key.secret, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(stored.subarray(stored.length - TAG_BYTES));
    try {
      return { plaintext: Buffer.concat([decipher.update(body), decipher.final()]), keyName };
    } catch (err) {
      // GCM says only "unable to authenticate": the bytes changed, the key under that name changed, or
      // the value was copied here from another etcd key (the key is authenticated data).
      throw new DecryptError(
        `its ciphertext under key "${keyName}" does not authenticate: the value was altered or copied from another key, or key "${keyName}" in the key file is not the key it was written with`,
        keyName,
        { cause: err },
      );
    }
  }
}
