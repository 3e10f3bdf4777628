// Signing node certificates, for Join (a token vouches for the node) and for renewal over the node's
// own stream (its current certificate vouches, and the CSR must name that same node). Both record the
// serial (node-certificates.ts) before answering, so every certificate handed out can be revoked.
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RenewedCertificate } from '../../lib/gen/persys/v1/agent.js';
import { certificateInfo, CsrSubjectMismatchError, InvalidCsrError, signCsr, type CertBundle } from '../../lib/pki/index.js';
import { NODE_USER_PREFIX, NODES_GROUP } from '../api/authz.js';
import { ApiStatusError } from '../api/status.js';
import type { ResourceStore } from '../registry/store.js';
import { recordNodeCertificate } from './node-certificates.js';

/** 30 days: short enough that a lost node certificate stops working soon, long enough to ride out an outage. */
export const DEFAULT_NODE_CERT_TTL_SECONDS = 30 * 86_400;

export interface NodeSignerDeps {
  store: ResourceStore;
  /** The cluster CA with its key; undefined when this API server cannot sign. */
  ca: CertBundle | undefined;
  /** @default DEFAULT_NODE_CERT_TTL_SECONDS */
  ttlSeconds?: number;
}

/**
 * A certificate for `node` (CN system:node:NAME, O system:nodes) for the CSR's key, recorded for
 * revocation. With `renewal`, the CSR's own subject must already name that node.
 */
export async function signNodeCertificate(deps: NodeSignerDeps, node: string, csrPem: string, opts: { renewal?: boolean; identity: string }): Promise<string> {
  if (!deps.ca) throw new ApiStatusError(Code.UNAVAILABLE, 'this API server cannot sign node certificates (it was started without the CA key)');
  const commonName = `${NODE_USER_PREFIX}${node}`;
  let certificatePem: string;
  try {
    certificatePem = await signCsr(deps.ca, csrPem, {
      commonName,
      organizations: [NODES_GROUP],
      usage: 'client',
      validitySeconds: deps.ttlSeconds ?? DEFAULT_NODE_CERT_TTL_SECONDS,
      requireSubject: opts.renewal ? { commonName, organizations: [NODES_GROUP] } : undefined,
    });
  } catch (err) {
    if (err instanceof CsrSubjectMismatchError) throw new ApiStatusError(Code.PERMISSION_DENIED, `csr_pem: ${err.message}`);
    if (err instanceof InvalidCsrError) throw new ApiStatusError(Code.INVALID_ARGUMENT, `csr_pem: ${err.message}`);
    throw err;
  }
  const info = certificateInfo(certificatePem);
  await recordNodeCertificate(deps.store, node, info, { identity: opts.identity });
  return certificatePem;
}

/** The answer to a CertificateRenewal on `node`'s stream: a certificate, or the reason there is none. */
export async function renewNodeCertificate(deps: NodeSignerDeps & { log: Logger }, node: string, csrPem: string): Promise<RenewedCertificate> {
  try {
    const certificatePem = await signNodeCertificate(deps, node, csrPem, { renewal: true, identity: `${NODE_USER_PREFIX}${node}` });
    const info = certificateInfo(certificatePem);
    deps.log.info({ node, serial: info.serial, notAfter: info.notAfter.toISOString() }, 'node certificate renewed');
    return { certificatePem, caCertificatePem: deps.ca!.certPem, error: '' };
  } catch (err) {
    const code = err instanceof ApiStatusError ? Code[err.code] : 'INTERNAL';
    if (code === 'INTERNAL') deps.log.error({ err, node }, 'node certificate renewal failed');
    else deps.log.warn({ node, reason: (err as Error).message }, 'node certificate renewal refused');
    return { certificatePem: '', caCertificatePem: '', error: `${code}: ${(err as Error).message}` };
  }
}
