// Between the storage's serialized objects and the bytes in etcd (Kubernetes' value.Transformer):
// values of the encrypted kinds are sealed on write and opened on every read path.
import { findKind } from '../../lib/api/kinds.js';
import { AesGcmCipher, isEncrypted, type EncryptionKey } from './cipher.js';

export interface ValueTransformer {
  /** The bytes to store under `key` (relative to the storage root); `aad` is the full etcd key. */
  toStorage(key: string, plaintext: Buffer, aad: Buffer): Buffer;
  /**
   * The serialized object stored under `key`. `stale` when writing the same object again would store
   * other bytes (encrypted under a key that is no longer first, or not encrypted yet): such a value
   * is rewritten even by an update that changes nothing. Throws DecryptError.
   */
  fromStorage(key: string, stored: Buffer, aad: Buffer): { plaintext: Buffer; stale: boolean };
}

export interface EncryptionOptions {
  /** The first key encrypts, every key decrypts; none: values are stored in clear (and encrypted ones cannot be read). */
  keys: readonly EncryptionKey[];
  /** The kinds whose values are encrypted. @default ['Secret'] */
  kinds?: readonly string[];
}

/** Encrypts the values of some kinds with AES-256-GCM; every other value passes through. */
export class EncryptionTransformer implements ValueTransformer {
  private readonly cipher: AesGcmCipher;
  private readonly prefixes: readonly string[];

  constructor(opts: EncryptionOptions) {
    this.cipher = new AesGcmCipher(opts.keys);
    this.prefixes = (opts.kinds ?? ['Secret']).map((kind) => {
      const info = findKind(kind);
      if (!info) throw new Error(`cannot encrypt unknown kind "${kind}"`);
      return `${info.plural}/`;
    });
  }

  /** The key new values are encrypted with; undefined without keys. */
  get primaryKeyName(): string | undefined {
    return this.cipher.primaryKeyName;
  }

  /** Whether new values under `key` are encrypted. */
  encrypts(key: string): boolean {
    return this.cipher.primaryKeyName !== undefined && this.prefixes.some((p) => key.startsWith(p));
  }

  toStorage(key: string, plaintext: Buffer, aad: Buffer): Buffer {
    return this.encrypts(key) ? this.cipher.encrypt(plaintext, aad) : plaintext;
  }

  fromStorage(key: string, stored: Buffer, aad: Buffer): { plaintext: Buffer; stale: boolean } {
    // Checked on every key, not only the encrypted kinds': a value sealed by a server configured
    // otherwise must fail clearly, not as unreadable JSON.
    if (!isEncrypted(stored)) return { plaintext: stored, stale: this.encrypts(key) };
    const { plaintext, keyName } = this.cipher.decrypt(stored, aad);
    return { plaintext, stale: !this.encrypts(key) || keyName !== this.cipher.primaryKeyName };
  }
}
