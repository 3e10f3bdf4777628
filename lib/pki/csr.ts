// PKCS#10 certificate signing requests: a node agent makes a key and a CSR locally, the API server
// signs it, so the agent's private key never leaves its host.
import { generateKeyPair, privateKeyToPem, EC_P256 } from './keys.js';
import { signPublicKey, type CertBundle, type CertUsage } from './ca.js';
import { x509 } from './x509.js';

export class InvalidCsrError extends Error {
  override name = 'InvalidCsrError';
}

/** The CSR asks for another identity than the one its sender may have. */
export class CsrSubjectMismatchError extends Error {
  override name = 'CsrSubjectMismatchError';
}

export interface SignCsrOptions {
  commonName: string;
  organizations?: string[];
  /** @default 'client' */
  usage?: CertUsage;
  /** DNS names and IPs, only useful with usage 'server' or 'both'. */
  hosts?: string[];
  /** @default 365 */
  validityDays?: number;
  /** Lifetime in seconds; wins over validityDays. */
  validitySeconds?: number;
  /**
   * When set, the CSR's own subject must name exactly this CN, with no O other than these
   * (CsrSubjectMismatchError otherwise): a renewal may only ask for the identity it already has.
   */
  requireSubject?: { commonName: string; organizations?: string[] };
}

export async function createCsr(commonName: string): Promise<{ csrPem: string; keyPem: string }> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonName] }],
    keys,
    signingAlgorithm: EC_P256,
  });
  return { csrPem: csr.toString('pem'), keyPem: await privateKeyToPem(keys.privateKey) };
}

/** Signs a PEM PKCS#10 CSR (after checking its self-signature); the subject is forced to the given CN/O. */
export async function signCsr(ca: CertBundle, csrPem: string, opts: SignCsrOptions): Promise<string> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (cause) {
    throw new InvalidCsrError('CSR is not a PEM PKCS#10 request', { cause });
  }
  // The self-signature proves the requester holds the private key; without it anyone could get a
  // certificate for someone else's public key.
  let valid: boolean;
  try {
    valid = await csr.verify();
  } catch (cause) {
    throw new InvalidCsrError('CSR signature cannot be verified', { cause });
  }
  if (!valid) throw new InvalidCsrError('CSR signature is invalid');
  if (opts.requireSubject) checkSubject(csr, opts.requireSubject);
  // The requested subject and extensions are ignored: the caller decides who the key belongs to.
  return signPublicKey(ca, csr.publicKey, {
    commonName: opts.commonName,
    organizations: opts.organizations,
    hosts: opts.hosts,
    usage: opts.usage ?? 'client',
    validityDays: opts.validityDays,
    validitySeconds: opts.validitySeconds,
  });
}

function checkSubject(csr: x509.Pkcs10CertificateRequest, want: { commonName: string; organizations?: string[] }): void {
  const cn = csr.subjectName.getField('CN');
  const orgs = csr.subjectName.getField('O');
  if (cn.length !== 1 || cn[0] !== want.commonName) {
    throw new CsrSubjectMismatchError(`the CSR asks for CN=${cn.join(',') || '(none)'}, but its sender is ${want.commonName}`);
  }
  const allowed = new Set(want.organizations ?? []);
  const extra = orgs.filter((o) => !allowed.has(o));
  if (extra.length) throw new CsrSubjectMismatchError(`the CSR asks for O=${extra.join(',')}, which ${want.commonName} does not have`);
}
