// EtcdStorage with every value encrypted passes the same conformance suite: encryption changes the
// bytes in etcd, never the storage semantics (revisions, conditional writes, lists, watches).
import { randomBytes, randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { expect, inject, it } from 'vitest';
import { AesGcmCipher, isEncrypted } from '../encryption/cipher.js';
import type { ValueTransformer } from '../encryption/transformer.js';
import { storageConformance } from './conformance.js';
import { EtcdStorage } from './etcd.js';

const endpoint = inject('etcdEndpoint');
const filePrefix = `/persys-test/storage-etcd-encrypted-${randomUUID()}`;
const cipher = new AesGcmCipher([{ name: 'k', secret: randomBytes(32) }]);
const everything: ValueTransformer = {
  toStorage: (_key, plaintext, aad) => cipher.encrypt(plaintext, aad),
  fromStorage: (_key, stored, aad) => ({ plaintext: cipher.decrypt(stored, aad).plaintext, stale: false }),
};

storageConformance('etcd, every value encrypted', async () => {
  const prefix = `${filePrefix}/${randomUUID()}`;
  const storage = new EtcdStorage({ endpoints: [endpoint], prefix, transformer: everything });
  return {
    storage,
    async cleanup() {
      await storage.close();
      const raw = new Etcd3({ hosts: endpoint });
      await raw.delete().prefix(`${prefix}/`);
      raw.close();
    },
  };
});

it('stores ciphertext under the prefix', async () => {
  const prefix = `${filePrefix}/raw`;
  const storage = new EtcdStorage({ endpoints: [endpoint], prefix, transformer: everything });
  const raw = new Etcd3({ hosts: endpoint });
  try {
    await storage.create('items/a', { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'a' }, data: { k: 'dmFsdWU=' } });
    const value = (await raw.get(`${prefix}/items/a`).buffer())!;
    expect(isEncrypted(value)).toBe(true);
    expect(value.includes(Buffer.from('dmFsdWU='))).toBe(false);
  } finally {
    await storage.close();
    await raw.delete().prefix(`${prefix}/`);
    raw.close();
  }
});
