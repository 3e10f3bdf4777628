// Revoked node certificates, refused at the door: the authorization interceptor asks this check first and
// answers UNAUTHENTICATED to a node certificate whose serial its node's record (agents/
// node-certificates.ts, read from the watch cache) marks revoked. Only node certificates are looked
// up; a node makes one call (its stream) per connection, so the check costs nothing on hot paths.
import type { PeerCertificate } from 'node:tls';
import type { Resource } from '../../lib/api/resource.js';
import { normalizeSerial } from '../../lib/pki/certificate-info.js';
import { entriesOf } from '../agents/node-certificates.js';
import { callerIdentity, nodeNameOf } from './authz.js';

/** The record of a node's certificates as the watch cache holds it (undefined: none). */
export type NodeCertificatesLookup = (node: string) => Resource | undefined;

/** Why the certificate `serial` of `node` is refused, or undefined when it is not revoked. */
export function revocationRefusal(lookup: NodeCertificatesLookup, node: string, serial: string, now = new Date()): string | undefined {
  const entry = entriesOf(lookup(node))[normalizeSerial(serial)];
  if (!entry?.revokedAt) return undefined;
  // Past notAfter TLS refuses the certificate anyway; the entry is pruned then.
  if (Date.parse(entry.notAfter) <= now.getTime()) return undefined;
  return `certificate serial ${normalizeSerial(serial)} of node ${node} was revoked at ${entry.revokedAt}: the node must join again with a new token`;
}

type CallWithAuth = { getAuthContext(): { sslPeerCertificate?: PeerCertificate } | undefined };

/** The node and certificate serial of a call made with a node certificate; undefined for any other caller. */
export function nodeCertificateOf(call: CallWithAuth): { node: string; serial: string } | undefined {
  const id = callerIdentity(call);
  const node = id && nodeNameOf(id);
  if (!node) return undefined;
  const serial = call.getAuthContext()?.sslPeerCertificate?.serialNumber;
  return serial ? { node, serial: normalizeSerial(serial) } : undefined;
}

/** The refusal of a call made with a revoked node certificate (authzInterceptor's certificateRefusal), or undefined. */
export function revokedCertificate(lookup: NodeCertificatesLookup, onRefused?: (path: string, node: string) => void): (call: unknown, path: string) => string | undefined {
  return (call, path) => {
    const cert = nodeCertificateOf(call as CallWithAuth);
    const refusal = cert && revocationRefusal(lookup, cert.node, cert.serial);
    if (refusal) onRefused?.(path, cert.node);
    return refusal || undefined;
  };
}
