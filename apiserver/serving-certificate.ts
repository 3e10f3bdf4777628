// The API server's serving certificate, reloaded without a restart: after `persys pki rotate-server`
// (or any replacement of the files) new TLS connections get the new certificate, through Node's
// setSecureContext, while open connections — agent streams included — keep theirs and stay up.
// Reloads on reload() (SIGHUP) and when a poll sees the files change.
import { readFile, stat } from 'node:fs/promises';
import { ServerCredentials } from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import { certificateInfo, certificateMatchesKey } from '../lib/pki/index.js';

/**
 * Server credentials whose certificate can be replaced: grpc-js calls setSecureContext on its
 * listening sockets whenever updateSecureContextOptions runs (the same path its certificate
 * providers use).
 */
export class ReloadableServerCredentials extends ServerCredentials {
  /**
   * @param requestCert ask clients for a certificate. It is verified against the CA but not required:
   * a call without a valid one has no certificate identity, and the authz interceptor then accepts a
   * bearer token or refuses it with UNAUTHENTICATED saying what was wrong with the certificate.
   */
  constructor(requestCert: boolean, context: SecureContextOptions) {
    super({ requestCert, rejectUnauthorized: false }, context);
  }

  update(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }

  _equals(other: ServerCredentials): boolean {
    return this === other;
  }
}

export interface ServingPair {
  certPem: Buffer;
  keyPem: Buffer;
}

export interface ServingCertificateOptions {
  certFile: string;
  keyFile: string;
  caPem: Buffer;
  logger: Logger;
  /** How often the files are checked for a change. @default 10_000 */
  pollMs?: number;
  /** Called with each new pair that was taken into use. */
  onChange?(pair: ServingPair): void;
}

export class ServingCertificate {
  /** The API port: client certificates asked for and checked against the cluster CA; bearer tokens otherwise. */
  readonly apiCredentials: ReloadableServerCredentials;
  /** The join port: no client certificates; the chain carries the CA for nodes to pin by hash. */
  readonly joinCredentials: ReloadableServerCredentials;
  private pair: ServingPair;
  private stamp = '';
  private readonly timer: NodeJS.Timeout;
  private reloading?: Promise<boolean>;

  private constructor(private readonly opts: ServingCertificateOptions, pair: ServingPair, stamp: string) {
    this.pair = pair;
    this.stamp = stamp;
    this.apiCredentials = new ReloadableServerCredentials(true, this.apiContext(pair));
    this.joinCredentials = new ReloadableServerCredentials(false, this.joinContext(pair));
    this.timer = setInterval(() => {
      this.reload('files changed').catch((err: unknown) => opts.logger.warn({ err }, 'cannot check the serving certificate files'));
    }, opts.pollMs ?? 10_000);
    this.timer.unref();
  }

  static async load(opts: ServingCertificateOptions): Promise<ServingCertificate> {
    const [certPem, keyPem, stamp] = await Promise.all([readFile(opts.certFile), readFile(opts.keyFile), fileStamp(opts)]);
    return new ServingCertificate(opts, { certPem, keyPem }, stamp);
  }

  get current(): ServingPair {
    return this.pair;
  }

  /**
   * Reads the files again and takes the pair into use if it changed and the key matches the
   * certificate (a half-replaced pair is left alone until the next check). Resolves true on a change.
   */
  reload(why = 'asked to'): Promise<boolean> {
    this.reloading ??= this.reloadNow(why).finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async reloadNow(why: string): Promise<boolean> {
    const stamp = await fileStamp(this.opts);
    if (stamp === this.stamp && why === 'files changed') return false;
    const [certPem, keyPem] = await Promise.all([readFile(this.opts.certFile), readFile(this.opts.keyFile)]);
    if (certPem.equals(this.pair.certPem) && keyPem.equals(this.pair.keyPem)) {
      this.stamp = stamp;
      return false;
    }
    if (!certificateMatchesKey(certPem, keyPem)) {
      this.opts.logger.warn({ certFile: this.opts.certFile, keyFile: this.opts.keyFile }, 'serving certificate and key do not match (yet): keeping the current pair');
      return false;
    }
    this.pair = { certPem, keyPem };
    this.stamp = stamp;
    this.apiCredentials.update(this.apiContext(this.pair));
    this.joinCredentials.update(this.joinContext(this.pair));
    const info = certificateInfo(certPem);
    this.opts.logger.info({ why, serial: info.serial, notAfter: info.notAfter.toISOString(), hosts: info.hosts }, 'serving certificate reloaded: new connections use it');
    this.opts.onChange?.(this.pair);
    return true;
  }

  private apiContext(pair: ServingPair): SecureContextOptions {
    return { ca: this.opts.caPem, cert: [pair.certPem], key: [pair.keyPem] };
  }

  private joinContext(pair: ServingPair): SecureContextOptions {
    return { cert: [Buffer.from(`${pair.certPem.toString().trimEnd()}\n${this.opts.caPem.toString().trimEnd()}\n`)], key: [pair.keyPem] };
  }
}

/** Identity, size and time of both files: a rename or rewrite changes it. */
async function fileStamp(opts: { certFile: string; keyFile: string }): Promise<string> {
  const [c, k] = await Promise.all([stat(opts.certFile), stat(opts.keyFile)]);
  return `${c.ino}:${c.size}:${c.mtimeMs}|${k.ino}:${k.size}:${k.mtimeMs}`;
}
