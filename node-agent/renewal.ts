// The node certificate, renewed before it expires with no downtime and no manual step: at 70-90 %
// (jittered) of its life the agent makes a new key and CSR, asks over its own stream, stores the new
// pair whole, and reconnects with it once no log or exec is being answered. Containers keep running.
import type { Logger } from 'pino';
import type { RenewedCertificate } from '../lib/gen/persys/v1/agent.js';
import { silentLogger } from '../lib/observability/logger.js';
import { storeRenewedCredentials, type NodeCredentials } from './join.js';
import type { AgentMetrics } from './metrics.js';

/** The part of AgentConnection renewal uses. */
export interface RenewalChannel {
  readonly connected: boolean;
  requestCertificate(csrPem: string): Promise<RenewedCertificate>;
  useCredentials(creds: NodeCredentials): void;
  reconnectWhenIdle(): Promise<void>;
}

export interface CertificateRenewerOptions {
  nodeName: string;
  credentials: NodeCredentials;
  connection: RenewalChannel;
  /** Where node.crt and node.key live; undefined keeps renewed credentials in memory only (hollow nodes). */
  dataDir?: string;
  /** Renew this long after the current certificate was loaded or renewed, instead of at 70-90 % of its life (tests). */
  renewAfterMs?: number;
  /** Wait before asking again after a refusal or while not connected. @default 60_000 */
  retryMs?: number;
  /** @default Math.random */
  random?: () => number;
  logger?: Logger;
  metrics?: Pick<AgentMetrics, 'certificateExpiry' | 'certificateRenewals'>;
}

/** setTimeout's limit (about 24.8 days) is below a 30-day certificate's renewal time: wake up at most daily. */
const MAX_TIMER_MS = 86_400_000;

/** When to renew: notBefore + (70 % + 20 % × random) of notBefore → notAfter, as the kubelet does. */
export function renewalTime(notBefore: Date, notAfter: Date, random: () => number = Math.random): Date {
  const life = notAfter.getTime() - notBefore.getTime();
  return new Date(notBefore.getTime() + Math.round(life * (0.7 + 0.2 * Math.min(1, Math.max(0, random())))));
}

export class CertificateRenewer {
  private creds: NodeCredentials;
  private timer?: NodeJS.Timeout;
  private renewAt = new Date(0);
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly opts: CertificateRenewerOptions) {
    this.creds = opts.credentials;
    this.log = opts.logger ?? silentLogger();
  }

  /** The credentials in use (the latest renewed). */
  get credentials(): NodeCredentials {
    return this.creds;
  }

  /** When the next renewal is due. */
  get nextRenewal(): Date {
    return this.renewAt;
  }

  async start(): Promise<void> {
    await this.planFor(this.creds.certPem);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async planFor(certPem: string): Promise<void> {
    const { certificateInfo } = await import('../lib/pki/certificate-info.js');
    const info = certificateInfo(certPem);
    this.opts.metrics?.certificateExpiry.set(Math.floor(info.notAfter.getTime() / 1000));
    this.renewAt =
      this.opts.renewAfterMs !== undefined ? new Date(Date.now() + this.opts.renewAfterMs) : renewalTime(info.notBefore, info.notAfter, this.opts.random);
    this.log.info({ serial: info.serial, notAfter: info.notAfter.toISOString(), renewAt: this.renewAt.toISOString() }, 'node certificate renewal planned');
    this.wakeAt(this.renewAt.getTime());
  }

  private wakeAt(at: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (Date.now() < this.renewAt.getTime()) return this.wakeAt(this.renewAt.getTime());
    const retry = () => this.wakeAt(Date.now() + (this.opts.retryMs ?? 60_000));
    if (!this.opts.connection.connected) {
      this.log.debug('certificate renewal due, but not connected; trying again later');
      return retry();
    }
    try {
      await this.renew();
    } catch (err) {
      this.opts.metrics?.certificateRenewals.inc({ result: 'failed' });
      this.log.warn({ err, retryInMs: this.opts.retryMs ?? 60_000 }, 'node certificate renewal failed; the current certificate stays in use');
      retry();
    }
  }

  /** One renewal: new key and CSR, the stream's answer checked, stored, used for the next stream. */
  private async renew(): Promise<void> {
    const { createCsr, certificateInfo, certificateMatchesKey, caCertHash } = await import('../lib/pki/index.js');
    const cn = `system:node:${this.opts.nodeName}`;
    const { csrPem, keyPem } = await createCsr(cn);
    const answer = await this.opts.connection.requestCertificate(csrPem);
    if (answer.error || !answer.certificatePem) {
      this.opts.metrics?.certificateRenewals.inc({ result: 'refused' });
      throw new Error(`the API server refused the renewal: ${answer.error || 'no certificate in the answer'}`);
    }
    const info = certificateInfo(answer.certificatePem);
    if (info.commonName !== cn) throw new Error(`the renewed certificate names ${info.commonName}, not ${cn}; keeping the current one`);
    if (!certificateMatchesKey(answer.certificatePem, keyPem)) throw new Error('the renewed certificate is not for the key sent; keeping the current one');
    if (answer.caCertificatePem && caCertHash(answer.caCertificatePem) !== caCertHash(this.creds.caPem)) {
      throw new Error('the renewal answer names another CA than the one this node joined; keeping the current certificate');
    }
    const next: NodeCredentials = { certPem: answer.certificatePem, keyPem, caPem: this.creds.caPem };
    if (this.opts.dataDir) storeRenewedCredentials(this.opts.dataDir, next);
    this.creds = next;
    this.opts.connection.useCredentials(next);
    this.opts.metrics?.certificateRenewals.inc({ result: 'renewed' });
    this.log.info({ serial: info.serial, notAfter: info.notAfter.toISOString() }, 'node certificate renewed and stored');
    await this.planFor(next.certPem);
    // The open stream stays on the old certificate, still valid; the next one uses the new.
    void this.opts.connection.reconnectWhenIdle();
  }
}
