// Bootstrap tokens the kubeadm way: "<id>.<secret>", kept as Secrets in persys-system holding only
// the secret's SHA-256, an expiry and a description; checked in constant time when a node joins.
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Resource } from '../../lib/api/resource.js';
import type { SecretObject } from '../../lib/api/typed.js';
import { SYSTEM_NAMESPACE } from '../registry/bootstrap.js';
import type { ResourceStore } from '../registry/store.js';
import { ApiStatusError } from '../api/status.js';
import { status as Code } from '@grpc/grpc-js';
import { API_VERSION } from '../../lib/api/kinds.js';

export const JOIN_TOKEN_TYPE = 'persys.dev/join-token';
export const TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
/** kubeadm's default. */
export const DEFAULT_TOKEN_TTL_SECONDS = 86_400;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const DATA_HASH = 'token-secret-sha256';
const DATA_EXPIRATION = 'expiration';
const DATA_DESCRIPTION = 'description';

/** The token was refused; the message says why, but never echoes the secret. */
export class JoinTokenError extends Error {
  override name = 'JoinTokenError';
}

export interface ParsedToken {
  id: string;
  secret: string;
}

export function parseToken(token: string): ParsedToken {
  const m = TOKEN_PATTERN.exec(token);
  if (!m) throw new JoinTokenError('malformed join token: expected "<6 lowercase letters/digits>.<16 lowercase letters/digits>"');
  return { id: m[1]!, secret: m[2]! };
}

export const tokenSecretName = (id: string) => `join-token-${id}`;

const randomString = (n: number) => Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface CreatedToken {
  token: string;
  expiresAt: string;
  secret: SecretObject;
}

/** Creates a token Secret; the token itself is returned once and stored nowhere. */
export async function createJoinToken(
  store: ResourceStore,
  opts: { ttlSeconds?: number; description?: string; identity?: string; now?: Date } = {},
): Promise<CreatedToken> {
  const ttl = opts.ttlSeconds || DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 0) throw new ApiStatusError(Code.INVALID_ARGUMENT, `ttl_seconds: must be a positive number of seconds, got ${ttl}`);
  const expiresAt = rfc3339(new Date((opts.now ?? new Date()).getTime() + ttl * 1000));
  for (let attempt = 0; ; attempt++) {
    const id = randomString(6);
    const secret = randomString(16);
    const stringData: Record<string, string> = { [DATA_HASH]: sha256Hex(secret), [DATA_EXPIRATION]: expiresAt };
    if (opts.description) stringData[DATA_DESCRIPTION] = opts.description;
    try {
      const stored = await store.create(
        { apiVersion: API_VERSION, kind: 'Secret', metadata: { name: tokenSecretName(id), namespace: SYSTEM_NAMESPACE }, type: JOIN_TOKEN_TYPE, stringData },
        { identity: opts.identity },
      );
      return { token: `${id}.${secret}`, expiresAt, secret: stored };
    } catch (err) {
      // 36^6 ids: a collision is rare but possible; pick another id.
      if (err instanceof ApiStatusError && err.code === Code.ALREADY_EXISTS && attempt < 3) continue;
      throw err;
    }
  }
}

/** When a join-token Secret expires (ms since the epoch); undefined for another Secret or an unreadable expiry. */
export function joinTokenExpiration(secret: Resource): number | undefined {
  if (secret['type'] !== JOIN_TOKEN_TYPE) return undefined;
  const data = (secret['data'] ?? {}) as Record<string, string>;
  const text = data[DATA_EXPIRATION] ? Buffer.from(data[DATA_EXPIRATION], 'base64').toString('utf8') : '';
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

/** Resolves when `token` names a stored, unexpired token whose secret matches; JoinTokenError otherwise. */
export async function verifyJoinToken(store: ResourceStore, token: string, now = new Date()): Promise<void> {
  const { id, secret } = parseToken(token);
  let stored: SecretObject;
  try {
    stored = await store.get('Secret', SYSTEM_NAMESPACE, tokenSecretName(id));
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === Code.NOT_FOUND) throw new JoinTokenError(`join token "${id}" is unknown (never issued, or deleted)`);
    throw err;
  }
  if (stored.type !== JOIN_TOKEN_TYPE) throw new JoinTokenError(`join token "${id}" is unknown`);
  const data = stored.data ?? {};
  const field = (k: string) => (data[k] ? Buffer.from(data[k], 'base64').toString('utf8') : '');
  const want = Buffer.from(field(DATA_HASH), 'hex');
  const got = createHash('sha256').update(secret).digest();
  if (want.length !== got.length || !timingSafeEqual(want, got)) throw new JoinTokenError(`join token "${id}": wrong secret`);
  const expiration = Date.parse(field(DATA_EXPIRATION));
  if (Number.isNaN(expiration)) throw new JoinTokenError(`join token "${id}" has no valid expiration; create a new one`);
  if (expiration <= now.getTime()) throw new JoinTokenError(`join token "${id}" expired at ${field(DATA_EXPIRATION)}; create a new one`);
}
