// Joining a cluster the kubeadm way: trust the CA the join port presents only if its hash matches
// --ca-cert-hash, then trade the join token and a CSR for a node certificate kept in the data dir.
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { AgentsClient, type JoinResponse } from '../lib/gen/persys/v1/agent.js';
import { silentLogger } from '../lib/observability/logger.js';
import { splitHostPort } from './address.js';

export interface NodeCredentials {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export interface JoinOptions {
  dataDir: string;
  nodeName: string;
  /** The join port (TLS, server auth only): HOST:PORT. */
  joinServer: string;
  token?: string;
  /** sha256:<hex> of the CA's SubjectPublicKeyInfo. */
  caCertHash?: string;
  /** @default 10_000 */
  timeoutMs?: number;
  logger?: Logger;
}

/** The CA the join port presented is not the one --ca-cert-hash names: possibly someone in the middle. */
export class CaPinMismatchError extends Error {
  override readonly name = 'CaPinMismatchError';
}

/** Joining failed: no credentials, token refused, or an unusable answer. */
export class JoinError extends Error {
  override readonly name = 'JoinError';
}

export function credentialPaths(dataDir: string) {
  return { cert: join(dataDir, 'node.crt'), key: join(dataDir, 'node.key'), ca: join(dataDir, 'ca.crt') };
}

const commonName = (pem: string) => /(?:^|\n)CN=([^\n]*)/.exec(new X509Certificate(pem).subject)?.[1] ?? '';

/** The stored node credentials, or undefined when the node has not joined yet. */
export function loadCredentials(dataDir: string): NodeCredentials | undefined {
  finishRenewedCredentials(dataDir);
  const p = credentialPaths(dataDir);
  if (![p.cert, p.key, p.ca].every((f) => existsSync(f))) return undefined;
  return { certPem: readFileSync(p.cert, 'utf8'), keyPem: readFileSync(p.key, 'utf8'), caPem: readFileSync(p.ca, 'utf8') };
}

/** Stored credentials if present (they must be this node's), else joins and stores them. */
export async function ensureNodeCredentials(opts: JoinOptions): Promise<NodeCredentials> {
  const log = opts.logger ?? silentLogger();
  const stored = loadCredentials(opts.dataDir);
  if (stored) {
    const cn = commonName(stored.certPem);
    if (cn !== `system:node:${opts.nodeName}`) {
      throw new JoinError(
        `${credentialPaths(opts.dataDir).cert} is the certificate of ${cn}, not of node ${opts.nodeName}: use that --node-name or another --data-dir`,
      );
    }
    const notAfter = new X509Certificate(stored.certPem).validTo;
    if (Date.parse(notAfter) > Date.now()) {
      log.info({ dataDir: opts.dataDir, notAfter }, 'using stored node certificate');
      return stored;
    }
    // Expired (the agent was off past its renewal): only a new token brings the node back.
    if (!opts.token) {
      throw new JoinError(
        `the node certificate in ${credentialPaths(opts.dataDir).cert} expired at ${notAfter}: start the agent with a new --token (and --ca-cert-hash) to join again`,
      );
    }
    log.warn({ dataDir: opts.dataDir, notAfter }, 'stored node certificate has expired; joining again with the token');
  }
  if (!opts.token) throw new JoinError(`no node certificate in ${opts.dataDir} and no --token to join with`);
  if (!opts.caCertHash) throw new JoinError('--ca-cert-hash is required to join: it is how the agent knows the cluster CA');
  const caPem = await fetchPinnedCa(opts.joinServer, opts.caCertHash, opts.timeoutMs);
  // Loaded only to join: an agent that restarts with its certificate never needs it (and stays smaller).
  const { caCertHash, createCsr } = await import('../lib/pki/index.js');
  log.info({ joinServer: opts.joinServer, caCertHash: opts.caCertHash }, 'join port presented the pinned CA; joining');
  const { csrPem, keyPem } = await createCsr(`system:node:${opts.nodeName}`);
  const res = await callJoin(opts.joinServer, caPem, { token: opts.token, nodeName: opts.nodeName, csrPem }, opts.timeoutMs ?? 10_000);
  if (!res.certificatePem) throw new JoinError('the join answer carries no certificate');
  if (res.caCertificatePem && caCertHash(res.caCertificatePem) !== caCertHash(caPem)) {
    throw new CaPinMismatchError('the join answer names a different CA than the pinned one; refusing it');
  }
  const creds = { certPem: res.certificatePem, keyPem, caPem };
  storeCredentials(opts.dataDir, creds);
  log.info({ node: opts.nodeName, dataDir: opts.dataDir }, 'joined the cluster; node certificate stored');
  return creds;
}

/**
 * Opens TLS to `address` without verifying it (the CA is not known yet), and returns the CA
 * certificate (PEM) from the presented chain whose public-key hash is `expectedHash`.
 */
export async function fetchPinnedCa(address: string, expectedHash: string, timeoutMs = 10_000): Promise<string> {
  const { host, port } = splitHostPort(address);
  const chain = await new Promise<X509Certificate[]>((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) });
    const timer = setTimeout(() => socket.destroy(new JoinError(`no TLS handshake with ${address} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const certs: X509Certificate[] = [];
      const seen = new Set<string>();
      // The issuer links follow the chain as the peer sent it; a self-signed root points to itself.
      for (let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw; c = c.issuerCertificate) {
        const fp = c.fingerprint256;
        if (seen.has(fp)) break;
        seen.add(fp);
        certs.push(new X509Certificate(c.raw));
      }
      socket.end();
      resolve(certs);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e instanceof JoinError ? e : new JoinError(`cannot reach the join port ${address}: ${e.message}`, { cause: e }));
    });
  });
  const { caCertHash } = await import('../lib/pki/index.js');
  const want = expectedHash.toLowerCase();
  // The leaf is skipped: pinning a server certificate would not make the rest of the chain trustworthy.
  const cas = chain.slice(1).filter((c) => c.ca);
  const match = cas.find((c) => caCertHash(c.toString()) === want);
  if (match) return match.toString();
  const seenHashes = cas.map((c) => caCertHash(c.toString()));
  throw new CaPinMismatchError(
    `the join port ${address} presented ${seenHashes.length ? `CA ${seenHashes.join(', ')}` : 'no CA certificate'}, ` +
      `not the CA pinned by --ca-cert-hash ${expectedHash}; refusing to join`,
  );
}

function callJoin(
  address: string,
  caPem: string,
  req: { token: string; nodeName: string; csrPem: string },
  timeoutMs: number,
): Promise<JoinResponse> {
  const client = new AgentsClient(address, credentials.createSsl(Buffer.from(caPem)));
  return new Promise<JoinResponse>((resolve, reject) => {
    client.join(req, { deadline: Date.now() + timeoutMs } as never, (err: ServiceError | null, res: JoinResponse) => {
      if (!err) return resolve(res);
      const why = err.code === Status.UNAUTHENTICATED ? 'the join token was refused' : `join failed (${Status[err.code]})`;
      reject(new JoinError(`${why}: ${err.details || err.message}`, { cause: err }));
    });
  }).finally(() => client.close());
}

const pendingPaths = (dataDir: string) => {
  const p = credentialPaths(dataDir);
  return { cert: `${p.cert}.new`, key: `${p.key}.new` };
};

function writeSynced(path: string, data: string, mode: number): void {
  writeFileSync(path, data, { mode });
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces node.key and node.crt with a renewed pair so that no crash leaves a key without its
 * certificate: both are first written whole as *.new, then renamed key first; whatever a crash
 * interrupts is completed (or dropped) by finishRenewedCredentials on the next load.
 */
export function storeRenewedCredentials(dataDir: string, creds: NodeCredentials): void {
  const p = credentialPaths(dataDir);
  const n = pendingPaths(dataDir);
  writeSynced(n.key, creds.keyPem, 0o600);
  writeSynced(n.cert, creds.certPem, 0o644);
  renameSync(n.key, p.key);
  renameSync(n.cert, p.cert);
}

const sameKey = (certPem: string, keyPem: string) => {
  try {
    const a = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    return a.equals(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
};

/** Completes a renewed pair a crash left half-renamed, or drops one left half-written. */
function finishRenewedCredentials(dataDir: string): void {
  const p = credentialPaths(dataDir);
  const n = pendingPaths(dataDir);
  if (!existsSync(n.cert)) {
    rmSync(n.key, { force: true }); // a key whose certificate was never written whole
    return;
  }
  const keyFile = existsSync(n.key) ? n.key : p.key;
  if (existsSync(keyFile) && sameKey(readFileSync(n.cert, 'utf8'), readFileSync(keyFile, 'utf8'))) {
    if (keyFile === n.key) renameSync(n.key, p.key);
    renameSync(n.cert, p.cert);
    return;
  }
  rmSync(n.cert, { force: true });
  rmSync(n.key, { force: true });
}

/** Each file lands whole (write, then rename), the key readable by its owner only. */
function storeCredentials(dataDir: string, creds: NodeCredentials): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const p = credentialPaths(dataDir);
  const put = (path: string, data: string, mode: number) => {
    writeFileSync(`${path}.tmp`, data, { mode });
    renameSync(`${path}.tmp`, path);
  };
  put(p.key, creds.keyPem, 0o600);
  put(p.ca, creds.caPem, 0o644);
  // Written last: the three files exist only once the set is complete.
  put(p.cert, creds.certPem, 0o644);
}
