// Who an mTLS peer is: the user is the client certificate's CN and the groups its O values, the
// same mapping Kubernetes uses (CN=admin, O=system:masters).
import type { PeerCertificate } from 'node:tls';

/** The identity of an mTLS peer as the server sees it: { user: CN, groups: O[] }. */
export interface Identity {
  user: string;
  groups: string[];
}

export function identityFromPeerCertificate(cert: PeerCertificate | undefined): Identity | undefined {
  // Node returns an empty object, not undefined, when the peer sent no certificate.
  if (!cert?.raw || !cert.subject) return undefined;
  // Node gives a string for a single value and an array when an attribute repeats.
  const cn = values(cert.subject.CN);
  // Several CNs would make the user ambiguous; refuse rather than guess which one counts.
  if (cn.length !== 1 || !cn[0]) return undefined;
  return { user: cn[0], groups: values(cert.subject.O) };
}

function values(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === 'string');
  return [];
}
