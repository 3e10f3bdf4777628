// Bearer tokens for ServiceAccounts: JWTs (ES256) signed with the cluster's service-account key, with
// an audience and an expiry, bound to the ServiceAccount's uid so that deleting it invalidates them.
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash, createPrivateKey, randomUUID, createPublicKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, exportPKCS8, generateKeyPair, importPKCS8, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import type { Identity } from '../../lib/pki/index.js';
import { SERVICE_ACCOUNTS_GROUP, SERVICE_ACCOUNT_USER_PREFIX } from '../../lib/rbac/builtin.js';

export const TOKEN_ISSUER = 'persys';
export const DEFAULT_AUDIENCE = 'persys';
const ALG = 'ES256';
const SA_CLAIM = 'persys.dev/serviceaccount';
/** Verified tokens remembered; a token is verified once, then only its expiry and its account are checked. */
const MAX_VERIFIED = 10_000;

export interface ServiceAccountRef {
  namespace: string;
  name: string;
  uid: string;
}

/** Why a bearer token was refused, in words that say which check failed. */
export class TokenError extends Error {
  override name = 'TokenError';
}

interface Verified {
  identity: Identity;
  expiresAtMs: number;
  account: ServiceAccountRef;
}

/** Reads the signing key, creating it (once, race-free) when the file does not exist. */
export async function loadOrCreateSigningKey(file: string): Promise<string> {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const pem = await exportPKCS8(privateKey);
  try {
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    return pem;
  } catch (err) {
    // Another API server sharing the directory wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8');
    throw err;
  }
}

export class ServiceAccountTokens {
  private readonly verified = new Map<string, Verified>();
  private readonly keyId: string;
  private readonly publicKey: KeyObject;

  private constructor(
    private readonly privateKey: CryptoKey,
    privatePem: string,
    private readonly audience: string,
    private readonly accountUid: (namespace: string, name: string) => string | undefined,
    private readonly now: () => number,
    private readonly freshAccountUid?: (namespace: string, name: string) => Promise<string | undefined>,
  ) {
    this.publicKey = createPublicKey(createPrivateKey(privatePem));
    this.keyId = createHash('sha256').update(this.publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 16);
  }

  /**
   * @param accountUid the uid of the ServiceAccount NS/NAME as it exists now, or undefined (from the watch cache)
   */
  static async create(opts: {
    privateKeyPem: string;
    audience?: string;
    accountUid: (namespace: string, name: string) => string | undefined;
    /** Reads the account from storage when the cache disagrees (it may not have seen a new account yet). */
    freshAccountUid?: (namespace: string, name: string) => Promise<string | undefined>;
    now?: () => number;
  }): Promise<ServiceAccountTokens> {
    const key = await importPKCS8(opts.privateKeyPem, ALG);
    return new ServiceAccountTokens(key, opts.privateKeyPem, opts.audience ?? DEFAULT_AUDIENCE, opts.accountUid, opts.now ?? Date.now, opts.freshAccountUid);
  }

  async issue(account: ServiceAccountRef, ttlSeconds: number, audiences: string[] = [this.audience]): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresAt = new Date((issuedAt + ttlSeconds) * 1000);
    const token = await new SignJWT({ [SA_CLAIM]: account })
      .setProtectedHeader({ alg: ALG, kid: this.keyId, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setSubject(`${SERVICE_ACCOUNT_USER_PREFIX}${account.namespace}:${account.name}`)
      .setAudience(audiences)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + ttlSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresAt };
  }

  /** The identity a token stands for; throws TokenError saying which check failed. */
  async authenticate(token: string): Promise<Identity> {
    let v = this.verified.get(token);
    if (!v) {
      v = await this.verify(token);
      if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, v);
    }
    const cached = this.accountUid(v.account.namespace, v.account.name);
    if (cached !== v.account.uid && this.freshAccountUid) {
      return this.stillValid(token, v, await this.freshAccountUid(v.account.namespace, v.account.name));
    }
    return this.stillValid(token, v, cached);
  }

  /**
   * The identity of a token authenticate() accepted before, re-checked against the cache; undefined
   * when never seen, or when the cache does not show its account as it was (authenticate() then asks
   * storage, which a just-created account may have reached before the cache).
   */
  known(token: string): Identity | undefined {
    const v = this.verified.get(token);
    if (!v) return undefined;
    if (this.now() < v.expiresAtMs && this.accountUid(v.account.namespace, v.account.name) !== v.account.uid) return undefined;
    return this.stillValid(token, v, v.account.uid);
  }

  private stillValid(token: string, v: Verified, uid: string | undefined): Identity {
    if (this.now() >= v.expiresAtMs) {
      this.verified.delete(token);
      throw new TokenError(`bearer token expired at ${new Date(v.expiresAtMs).toISOString()}: create a new one with persys token create --service-account ${v.account.namespace}/${v.account.name}`);
    }
    if (uid !== v.account.uid) {
      throw new TokenError(
        uid === undefined
          ? `bearer token of ServiceAccount ${v.account.namespace}/${v.account.name}, which no longer exists`
          : `bearer token of a deleted ServiceAccount ${v.account.namespace}/${v.account.name} (uid ${v.account.uid}); the account was created again and needs a new token`,
      );
    }
    return v.identity;
  }

  private async verify(token: string): Promise<Verified> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, {
        issuer: TOKEN_ISSUER,
        audience: this.audience,
        algorithms: [ALG],
        currentDate: new Date(this.now()),
      }));
    } catch (err) {
      throw new TokenError(tokenProblem(err, this.audience));
    }
    const account = payload[SA_CLAIM] as Partial<ServiceAccountRef> | undefined;
    if (!account?.namespace || !account.name || !account.uid || typeof payload.exp !== 'number') {
      throw new TokenError('bearer token carries no ServiceAccount claim: it was not issued by persys token create');
    }
    const identity: Identity = {
      user: `${SERVICE_ACCOUNT_USER_PREFIX}${account.namespace}:${account.name}`,
      groups: [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${account.namespace}`],
    };
    return { identity, expiresAtMs: payload.exp * 1000, account: account as ServiceAccountRef };
  }
}

function tokenProblem(err: unknown, audience: string): string {
  if (err instanceof joseErrors.JWTExpired) return `bearer token expired at ${typeof err.payload.exp === 'number' ? new Date(err.payload.exp * 1000).toISOString() : 'an unknown time'}`;
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return `bearer token is for audience ${JSON.stringify(err.payload.aud)}, not this server's "${audience}"`;
    if (err.claim === 'iss') return `bearer token was issued by ${JSON.stringify(err.payload.iss)}, not persys`;
    if (err.claim === 'nbf') return 'bearer token is not valid yet (check the clocks)';
    return `bearer token claim ${err.claim} is invalid: ${err.reason}`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "bearer token signature does not verify: it was not signed by this cluster's service-account key";
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'bearer token uses an algorithm this server does not accept (ES256 only)';
  return `bearer token is malformed: ${(err as Error).message}`;
}
