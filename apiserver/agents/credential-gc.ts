// Expired node credentials collected on a timer: join-token Secrets past their expiration are deleted
// in batches, and node certificate records drop entries past their certificate's notAfter (a revoked
// certificate no longer needs denying once TLS refuses it as expired). Every API server runs it; the
// deletes are compare-and-swap, so two doing the same pass only skip each other's work.
import type { Logger } from 'pino';
import { SYSTEM_NAMESPACE } from '../registry/bootstrap.js';
import type { ResourceStore } from '../registry/store.js';
import { NODE_CERTIFICATES_LABEL, pruneNodeCertificates } from './node-certificates.js';
import { joinTokenExpiration } from './tokens.js';

const IDENTITY = 'system:credential-collector';
/** Deletes per storage transaction, as the namespace garbage collector does. */
const BATCH = 128;

export interface CredentialCollector {
  /** One pass now; resolves with what it removed. */
  sweep(now?: Date): Promise<{ tokens: number; certificateRecords: number }>;
  stop(): void;
}

export function startCredentialCollector(store: ResourceStore, opts: { logger: Logger; intervalMs?: number }): CredentialCollector {
  const log = opts.logger.child({ component: 'credential-collector' });
  let running: Promise<{ tokens: number; certificateRecords: number }> | undefined;

  async function pass(now: Date): Promise<{ tokens: number; certificateRecords: number }> {
    const { items: secrets } = await store.list('Secret', { namespace: SYSTEM_NAMESPACE });
    const expired = secrets.filter((s) => {
      const at = joinTokenExpiration(s);
      return at !== undefined && at <= now.getTime() && !s.metadata.deletionTimestamp;
    });
    let tokens = 0;
    for (let i = 0; i < expired.length; i += BATCH) {
      tokens += (await store.deleteMany(expired.slice(i, i + BATCH), { identity: IDENTITY })).deleted;
    }
    if (tokens) log.info({ count: tokens }, `deleted ${tokens} expired join token${tokens === 1 ? '' : 's'}`);

    const { items: records } = await store.list('ConfigMap', { namespace: SYSTEM_NAMESPACE, labelSelector: NODE_CERTIFICATES_LABEL });
    let certificateRecords = 0;
    for (const record of records) {
      try {
        if (await pruneNodeCertificates(store, record, { identity: IDENTITY, now })) certificateRecords++;
      } catch (err) {
        log.warn({ err, record: record.metadata.name }, 'cannot prune a node certificate record; next pass retries');
      }
    }
    if (certificateRecords) log.info({ count: certificateRecords }, 'pruned expired entries of node certificate records');
    return { tokens, certificateRecords };
  }

  const sweep = (now = new Date()) => {
    running ??= pass(now).finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => log.error({ err }, 'credential collection pass failed'));
  }, opts.intervalMs ?? 60_000);
  timer.unref();

  return {
    sweep,
    stop() {
      clearInterval(timer);
    },
  };
}
