// PKCS#10 certificate signing requests: a node agent makes a key and a CSR locally, the API server
// signs it, so the agent's private key never leaves its host.
import { generateKeyPair, privateKeyToPem, EC_P256 } from './keys.js';
import { signPublicKey, type CertBundle, type CertUsage } from './ca.js';
import { x509 } from './x509.js';

export class InvalidCsrError extends Error {
  override name = 'InvalidCsrError';
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
  // The requested subject and extensions are ignored: the caller decides who the key belongs to.
  return signPublicKey(ca, csr.publicKey, {
    commonName: opts.commonName,
    organizations: opts.organizations,
    hosts: opts.hosts,
    usage: opts.usage ?? 'client',
    validityDays: opts.validityDays,
  });
}
