// The certificates each node holds and which of them are revoked: one ConfigMap per node in
// persys-system, "node-certificates-NAME", whose data maps each serial (lower-case hex) to JSON
// {notAfter, revokedAt?}. Join and renewal record what they sign; a stream whose certificate is not
// recorded (issued before records existed) is recorded on connect. Every API server sees the records
// through its ConfigMap watch cache; entries go once their certificate has expired.
import { status as Code } from '@grpc/grpc-js';
import { API_VERSION } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import { ApiStatusError } from '../api/status.js';
import { SYSTEM_NAMESPACE } from '../registry/bootstrap.js';
import type { ResourceStore } from '../registry/store.js';

/** On every record, naming its node: the garbage collector lists records by it. */
export const NODE_CERTIFICATES_LABEL = 'persys.dev/node-certificates';
export const nodeCertificatesName = (node: string) => `node-certificates-${node}`;

export interface CertificateEntry {
  /** RFC 3339. */
  notAfter: string;
  /** RFC 3339; set once the certificate is revoked. */
  revokedAt?: string;
}

export type CertificateEntries = Record<string, CertificateEntry>;

const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const isCode = (err: unknown, ...codes: Code[]) => err instanceof ApiStatusError && codes.includes(err.code);

/** The entries of a record; malformed ones are skipped (they deny nothing and are pruned). */
export function entriesOf(record: Resource | undefined): CertificateEntries {
  const out: CertificateEntries = {};
  for (const [serial, text] of Object.entries((record?.['data'] ?? {}) as Record<string, string>)) {
    try {
      const e = JSON.parse(text) as CertificateEntry;
      if (typeof e.notAfter === 'string') out[serial] = e;
    } catch {
      // not ours to interpret
    }
  }
  return out;
}

/** The entries whose certificates are still valid at `now`. */
export function unexpired(entries: CertificateEntries, now: Date): CertificateEntries {
  return Object.fromEntries(Object.entries(entries).filter(([, e]) => Date.parse(e.notAfter) > now.getTime()));
}

/**
 * Read-modify-write of a node's record with compare-and-swap: `mutate` returns the new entries, or
 * undefined for "no change". A record left with no entries is deleted.
 */
async function updateRecord(
  store: ResourceStore,
  node: string,
  identity: string,
  mutate: (entries: CertificateEntries) => CertificateEntries | undefined,
): Promise<CertificateEntries> {
  const name = nodeCertificatesName(node);
  for (let attempt = 0; ; attempt++) {
    const cur = await store.get('ConfigMap', SYSTEM_NAMESPACE, name).catch((err: unknown) => {
      if (isCode(err, Code.NOT_FOUND)) return undefined;
      throw err;
    });
    const before = entriesOf(cur);
    const after = mutate(before);
    if (!after) return before;
    const data = Object.fromEntries(Object.entries(after).map(([serial, e]) => [serial, JSON.stringify(e)]));
    try {
      if (!cur) {
        if (Object.keys(data).length) {
          await store.create(
            {
              apiVersion: API_VERSION,
              kind: 'ConfigMap',
              metadata: { name, namespace: SYSTEM_NAMESPACE, labels: { [NODE_CERTIFICATES_LABEL]: node } },
              data,
            },
            { identity },
          );
        }
      } else if (!Object.keys(data).length) {
        await store.delete('ConfigMap', SYSTEM_NAMESPACE, name, { identity, resourceVersion: cur.metadata.resourceVersion });
      } else {
        await store.update({ ...cur, data }, { identity });
      }
      return after;
    } catch (err) {
      if (attempt < 8 && isCode(err, Code.ABORTED, Code.ALREADY_EXISTS, Code.NOT_FOUND)) continue;
      throw err;
    }
  }
}

/** Records a certificate just signed for `node` (and drops the node's expired entries on the way). */
export async function recordNodeCertificate(
  store: ResourceStore,
  node: string,
  cert: { serial: string; notAfter: Date },
  opts: { identity: string; now?: Date },
): Promise<void> {
  const now = opts.now ?? new Date();
  await updateRecord(store, node, opts.identity, (entries) => {
    if (entries[cert.serial]) return undefined;
    return { ...unexpired(entries, now), [cert.serial]: { notAfter: rfc3339(cert.notAfter) } };
  });
}

/** Marks every unexpired certificate of `node` revoked at `now`; returns the serials now denied. */
export async function revokeNodeCertificates(
  store: ResourceStore,
  node: string,
  opts: { identity: string; now?: Date },
): Promise<{ serials: string[]; revokedAt: string }> {
  const now = opts.now ?? new Date();
  const revokedAt = rfc3339(now);
  const after = await updateRecord(store, node, opts.identity, (entries) => {
    const live = unexpired(entries, now);
    if (!Object.keys(live).length) {
      throw new ApiStatusError(
        Code.NOT_FOUND,
        `node "${node}" holds no certificate that is still valid (never joined, or all its certificates have expired): nothing to revoke`,
      );
    }
    return Object.fromEntries(Object.entries(live).map(([serial, e]) => [serial, { ...e, revokedAt: e.revokedAt ?? revokedAt }]));
  });
  return { serials: Object.keys(after).sort(), revokedAt };
}

/** Drops the expired entries of a record (deleting it when none remain); whether it wrote. */
export async function pruneNodeCertificates(store: ResourceStore, record: Resource, opts: { identity: string; now?: Date }): Promise<boolean> {
  const now = opts.now ?? new Date();
  const node = record.metadata.labels?.[NODE_CERTIFICATES_LABEL];
  if (!node) return false;
  const entries = entriesOf(record);
  const live = unexpired(entries, now);
  if (Object.keys(live).length === Object.keys((record['data'] ?? {}) as object).length) return false;
  await updateRecord(store, node, opts.identity, (cur) => {
    const keep = unexpired(cur, now);
    return Object.keys(keep).length === Object.keys(cur).length && Object.keys(cur).length > 0 ? undefined : keep;
  });
  return true;
}
