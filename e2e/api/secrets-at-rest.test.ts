// Secrets at rest against real etcd and real API servers: what etcd holds (ciphertext under the key
// id, the storage key as authenticated data), what the API and its watches serve (plaintext), values
// stored before encryption, key rotation through `persys pki rotate-encryption-key`, and the errors
// of values a server cannot decrypt.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AesGcmCipher } from '../../apiserver/encryption/cipher.js';
import { main } from '../../cmd/commands.js';
import type { Resource } from '../../lib/api/resource.js';
import { ApiClient, type ClientWatchEvent } from '../../lib/client/client.js';
import { ApiError } from '../../lib/client/errors.js';
import { captureIo } from '../../lib/cli/io.js';
import { initPki, type PkiPaths } from '../../lib/pki/index.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

const endpoint = inject('etcdEndpoint');
const prefix = `/test-secrets-at-rest-${randomBytes(4).toString('hex')}`;
const KEYS: Record<string, Buffer> = { key1: randomBytes(32), key2: randomBytes(32), key3: randomBytes(32) };
const b64 = (s: string) => Buffer.from(s).toString('base64');

let dir: string;
let pki: PkiPaths;
let raw: Etcd3;
let api: TestApiServer | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'persys-secrets-at-rest-'));
  pki = await initPki(join(dir, 'pki'));
  raw = new Etcd3({ hosts: endpoint });
});
afterAll(async () => {
  await api?.stop();
  await raw?.delete().prefix(`${prefix}/`);
  raw?.close();
  rmSync(dir, { recursive: true, force: true });
});

function keyFile(...names: string[]): string {
  const file = join(dir, `keys-${names.join('-')}.yaml`);
  writeFileSync(file, `keys:\n${names.map((n) => `  - name: ${n}\n    secret: ${KEYS[n]!.toString('base64')}\n`).join('')}`, { mode: 0o600 });
  return file;
}

/** Stops the running API server and starts one over the same etcd prefix with these keys (none: no key file). */
async function restart(...keyNames: string[]): Promise<TestApiServer> {
  await api?.stop();
  api = undefined;
  api = await startTestApiServer(endpoint, { etcdPrefix: prefix, pki, encryptionKeyFile: keyNames.length ? keyFile(...keyNames) : undefined });
  return api;
}

const etcdKey = (name: string, plural = 'secrets') => `${prefix}/${plural}/default/${name}`;
const stored = async (name: string, plural = 'secrets') => (await raw.get(etcdKey(name, plural)).buffer())!;

const secretManifest = (name: string, password: string) =>
  `apiVersion: persys.dev/v1\nkind: Secret\nmetadata:\n  name: ${name}\ndata:\n  password: ${b64(password)}\n`;

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

async function collect(stream: AsyncGenerator<ClientWatchEvent>, count: number): Promise<ClientWatchEvent[]> {
  const got: ClientWatchEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out with ${got.length}/${count} events`)), 15_000);
  });
  try {
    while (got.length < count) {
      const next = await Promise.race([stream.next(), timeout]);
      if (next.done) break;
      if (next.value.type !== 'BOOKMARK') got.push(next.value);
    }
  } finally {
    clearTimeout(timer);
    void stream.return(undefined);
  }
  return got;
}

async function persys(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const c = api!.config;
  const code = await main([...args, '--server', c.server, '--ca-cert', c.caCert, '--client-cert', c.clientCert, '--client-key', c.clientKey], io, {
    newClient: (config) => new ApiClient(config),
    env: {},
  });
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('Secrets at rest', () => {
  it('reads a Secret stored before encryption was turned on', async () => {
    const a = await restart();
    await a.client.apply(secretManifest('legacy', 'before-encryption'));
    expect((await stored('legacy')).toString()).toContain(b64('before-encryption'));

    const b = await restart('key1');
    expect((await b.client.get('Secret', 'legacy', 'default')).data).toEqual({ password: b64('before-encryption') });
  });

  it('stores a Secret encrypted under the key id, and serves it decrypted to gets, lists and watches', async () => {
    const client = api!.client;
    const { resourceVersion } = await client.list('Secret');
    const events = collect(client.watch('Secret', { resourceVersion }), 1);
    // apply: the last-applied annotation repeats the data, and must be encrypted with it.
    const { object } = await client.apply(secretManifest('db', 'hunter2'));

    const value = await stored('db');
    expect(value.subarray(0, 26).toString()).toBe('persys:enc:aesgcm:v1:key1:');
    for (const clear of ['hunter2', b64('hunter2'), '"db"', 'Secret']) expect(value.includes(Buffer.from(clear))).toBe(false);

    expect((await client.get('Secret', 'db', 'default')).data).toEqual({ password: b64('hunter2') });
    const listed = await client.list('Secret');
    expect(Object.fromEntries(listed.items.map((s) => [s.metadata.name, s.data]))).toEqual({
      db: { password: b64('hunter2') },
      legacy: { password: b64('before-encryption') },
    });
    const [added] = await events;
    expect(added!.type).toBe('ADDED');
    expect(added!.object!.metadata.resourceVersion).toBe(object.metadata.resourceVersion);
    expect(added!.object!.data).toEqual({ password: b64('hunter2') });

    // Only Secrets: other kinds stay in clear.
    await client.create({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name: 'plain' }, data: { k: 'visible' } } as Resource);
    expect((await stored('plain', 'configmaps')).toString()).toContain('visible');
    // Not yet rewritten: the legacy Secret is still in clear until rotation.
    expect((await stored('legacy')).toString()).toContain(b64('before-encryption'));
  });

  it('rotates: with a new key first, rotate-encryption-key rewrites every Secret under it and watches see the rewrites', async () => {
    const { client } = await restart('key2', 'key1');
    const before = await client.get('Secret', 'db', 'default');
    expect(before.data).toEqual({ password: b64('hunter2') });
    const { resourceVersion } = await client.list('Secret');
    const events = collect(client.watch('Secret', { resourceVersion }), 2);

    const run = await persys('pki', 'rotate-encryption-key');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain('2 Secrets rewritten under the current encryption key, 0 already under it');

    for (const name of ['db', 'legacy']) expect((await stored(name)).subarray(0, 26).toString()).toBe('persys:enc:aesgcm:v1:key2:');
    const modified = await events;
    expect(modified.map((e) => `${e.type} ${e.object!.metadata.name}`).sort()).toEqual(['MODIFIED db', 'MODIFIED legacy']);
    expect(modified.find((e) => e.object!.metadata.name === 'db')!.object!.data).toEqual({ password: b64('hunter2') });
    const after = await client.get('Secret', 'db', 'default');
    expect(after.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion);
    expect(after.metadata.generation).toBe(before.metadata.generation);

    const again = await persys('pki', 'rotate-encryption-key');
    expect(again.out).toContain('0 Secrets rewritten under the current encryption key, 2 already under it');
    expect((await client.get('Secret', 'db', 'default')).metadata.resourceVersion).toBe(after.metadata.resourceVersion);
  });

  it('reads everything after the old key is dropped', async () => {
    const { client } = await restart('key2');
    expect((await client.get('Secret', 'legacy', 'default')).data).toEqual({ password: b64('before-encryption') });
    expect((await client.list('Secret')).items).toHaveLength(2);
  });

  it('refuses to start without the key the stored Secrets were encrypted with, naming it and the values', async () => {
    await api!.stop();
    api = undefined;
    const err = await startTestApiServer(endpoint, { etcdPrefix: prefix, pki, encryptionKeyFile: keyFile('key3') }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^cannot start: 2 stored values cannot be decrypted/);
    expect(err?.message).toContain(`${etcdKey('db')}: it was encrypted with key "key2", which is not in the encryption key file (it holds "key3")`);
    expect(err?.message).toContain(etcdKey('legacy'));
    expect(err?.message).toContain('add key "key2" back to --encryption-key-file');
  });

  it('refuses to start with a bad key file, naming the problem', async () => {
    const missing = join(dir, 'missing.yaml');
    await expect(startTestApiServer(endpoint, { etcdPrefix: prefix, pki, encryptionKeyFile: missing })).rejects.toThrow(
      `encryption key file ${missing}: no such file`,
    );
    const short = join(dir, 'short.yaml');
    writeFileSync(short, `keys:\n  - name: k\n    secret: ${randomBytes(16).toString('base64')}\n`);
    await expect(startTestApiServer(endpoint, { etcdPrefix: prefix, pki, encryptionKeyFile: short })).rejects.toThrow(
      /keys\[0\]\.secret \(key "k"\): 16 bytes; AES-256 needs exactly 32/,
    );
  });

  it('fails only the reads of a value it cannot decrypt, naming the key id, and keeps serving the rest', async () => {
    const { client } = await restart('key2');
    // As another API server with a key this one lacks would write it, and a value copied between keys.
    const foreign = Buffer.from(JSON.stringify({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'foreign', namespace: 'default' }, type: 'Opaque', data: {} }));
    await raw.put(etcdKey('foreign')).value(new AesGcmCipher([{ name: 'key9', secret: randomBytes(32) }]).encrypt(foreign, Buffer.from(etcdKey('foreign'))));
    await raw.put(etcdKey('moved')).value(await stored('db'));
    try {
      const unknownKey = await apiError(client.get('Secret', 'foreign', 'default'));
      expect(unknownKey.code).toBe(Code.FAILED_PRECONDITION);
      expect(unknownKey.message).toContain(`${etcdKey('foreign')}: it was encrypted with key "key9", which is not in the encryption key file`);
      expect(unknownKey.message).toContain('add key "key9" back to --encryption-key-file');

      const moved = await apiError(client.get('Secret', 'moved', 'default'));
      expect(moved.code).toBe(Code.DATA_LOSS);
      expect(moved.message).toMatch(/does not authenticate: the value was altered or copied from another key/);

      const list = await apiError(client.list('Secret'));
      expect(list.message).toMatch(/^2 stored values cannot be decrypted/);
      expect(list.message).toContain(etcdKey('foreign'));
      expect(list.message).toContain(etcdKey('moved'));

      // The rest is served as before.
      expect((await client.get('Secret', 'db', 'default')).data).toEqual({ password: b64('hunter2') });
      expect((await client.list('ConfigMap')).items.map((c) => c.metadata.name)).toEqual(['plain']);
    } finally {
      await raw.delete().key(etcdKey('foreign'));
      await raw.delete().key(etcdKey('moved'));
    }
    expect((await client.list('Secret')).items.map((s) => s.metadata.name)).toEqual(['db', 'legacy']);
  });

  it('returns, and tells watchers, the last value of a deleted Secret decrypted', async () => {
    const client = api!.client;
    const { resourceVersion } = await client.list('Secret');
    const events = collect(client.watch('Secret', { resourceVersion }), 1);
    const deleted = await client.delete('Secret', 'db', 'default');
    expect(deleted.data).toEqual({ password: b64('hunter2') });
    const [event] = await events;
    expect(event!.type).toBe('DELETED');
    expect(event!.object!.data).toEqual({ password: b64('hunter2') });
    expect(await raw.get(etcdKey('db')).buffer()).toBeNull();
  });
});
