// The --encryption-key-file format, a small cousin of Kubernetes' EncryptionConfiguration:
//   keys:
//     - name: key2
//       secret: <base64 of 32 random bytes>   # the first key encrypts
//     - name: key1
//       secret: <base64 of 32 random bytes>   # every key decrypts
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { KEY_BYTES, type EncryptionKey } from './cipher.js';

/** The key file cannot be used; the message names the file, the entry and what to fix. */
export class EncryptionKeyFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`encryption key file ${file}: ${message}`, options);
    this.name = new.target.name;
  }
}

const KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;
// Strict: Buffer.from(s, 'base64') ignores what it cannot read, so a typo would silently shorten a key.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const GENERATE = 'make one with: head -c 32 /dev/urandom | base64';

/** Reads and checks the key file; throws EncryptionKeyFileError. */
export function loadEncryptionKeyFile(file: string): EncryptionKey[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EncryptionKeyFileError(file, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (err as Error).message})`, { cause: err });
  }
  return parseEncryptionKeys(text, file);
}

/** Parses the key file's text; `file` only names it in errors. */
export function parseEncryptionKeys(text: string, file = '<key file>'): EncryptionKey[] {
  const fail = (message: string): never => {
    throw new EncryptionKeyFileError(file, message);
  };
  const doc = YAML.parseDocument(text);
  if (doc.errors.length) fail(`not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const root = doc.toJS() as unknown;
  if (!isMap(root)) fail(`expected a map with "keys", e.g.\nkeys:\n  - name: key1\n    secret: <base64 of ${KEY_BYTES} bytes>`);
  const r = root as Record<string, unknown>;
  for (const field of Object.keys(r)) if (field !== 'keys') fail(`unknown field "${field}" (only "keys" is read)`);
  if (!Array.isArray(r.keys) || r.keys.length === 0) fail('"keys" must be a non-empty list; the first key encrypts, every key decrypts');
  const keys: EncryptionKey[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of (r.keys as unknown[]).entries()) {
    const at = `keys[${i}]`;
    if (!isMap(entry)) fail(`${at}: expected a map with "name" and "secret"`);
    const e = entry as Record<string, unknown>;
    for (const field of Object.keys(e)) if (field !== 'name' && field !== 'secret') fail(`${at}: unknown field "${field}" (a key has "name" and "secret")`);
    const name = e.name;
    if (typeof name !== 'string' || !name) fail(`${at}.name: required`);
    const n = name as string;
    if (!KEY_NAME.test(n)) fail(`${at}.name: "${n}" may hold only letters, digits, '.', '_' and '-' (at most 64)`);
    if (seen.has(n)) fail(`${at}.name: "${n}" appears twice; key names must be unique, since stored values name their key`);
    seen.add(n);
    const secret = e.secret;
    if (typeof secret !== 'string' || !secret) fail(`${at}.secret (key "${n}"): required: ${KEY_BYTES} random bytes in base64; ${GENERATE}`);
    const s = (secret as string).trim();
    if (!BASE64.test(s)) fail(`${at}.secret (key "${n}"): not valid base64; ${GENERATE}`);
    const bytes = Buffer.from(s, 'base64');
    if (bytes.length !== KEY_BYTES) fail(`${at}.secret (key "${n}"): ${bytes.length} bytes; AES-256 needs exactly ${KEY_BYTES}; ${GENERATE}`);
    keys.push({ name: n, secret: bytes });
  }
  return keys;
}

function isMap(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
