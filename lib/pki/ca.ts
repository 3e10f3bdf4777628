// The cluster certificate authority: a self-signed CA and the leaf certificates it signs for
// servers (API server), clients (admin, node agents) or both; plus the kubeadm-style CA pin.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { generateKeyPair, importSigningKey, privateKeyToPem, EC_P256 } from './keys.js';
import { x509 } from './x509.js';

export interface CertBundle {
  certPem: string;
  keyPem: string;
}

export type CertUsage = 'server' | 'client' | 'both';

export interface LeafOptions {
  commonName: string;
  organizations?: string[];
  /** DNS names and IP addresses, written as subject alternative names. */
  hosts?: string[];
  usage: CertUsage;
  /** @default 365 */
  validityDays?: number;
  /** Lifetime in seconds; wins over validityDays (node certificates live days, test ones seconds). */
  validitySeconds?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Certificates start slightly in the past so a peer whose clock runs behind still accepts them.
const BACKDATE_MS = 5 * 60 * 1000;

export async function createCa(commonName = 'persys-ca', validityDays = 3650): Promise<CertBundle> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [commonName] }],
    ...validity(validityDays),
    signingAlgorithm: EC_P256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyToPem(keys.privateKey) };
}

export async function issueCertificate(ca: CertBundle, opts: LeafOptions): Promise<CertBundle> {
  const keys = await generateKeyPair();
  const cert = await signPublicKey(ca, keys.publicKey, opts);
  return { certPem: cert, keyPem: await privateKeyToPem(keys.privateKey) };
}

/** Signs a leaf certificate for a public key the CA never sees the private half of (CSR flow). */
export async function signPublicKey(
  ca: CertBundle,
  publicKey: CryptoKey | x509.PublicKey,
  opts: LeafOptions,
): Promise<string> {
  if (!opts.commonName) throw new Error('commonName is required');
  const caCert = new x509.X509Certificate(ca.certPem);
  const signer = await importSigningKey(ca.keyPem);
  const leafKey = publicKey instanceof x509.PublicKey ? publicKey : await x509.PublicKey.create(publicKey);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(keyUsageFor(leafKey), true),
    new x509.ExtendedKeyUsageExtension(extendedKeyUsagesFor(opts.usage), false),
    await x509.SubjectKeyIdentifierExtension.create(leafKey),
    await authorityKeyIdentifier(caCert),
  ];
  if (opts.hosts?.length) {
    extensions.push(new x509.SubjectAlternativeNameExtension(opts.hosts.map(subjectAltName), false));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(opts.commonName, opts.organizations ?? []),
    issuer: caCert.subjectName,
    ...validity(opts.validityDays ?? 365, opts.validitySeconds),
    signingAlgorithm: signer.algorithm,
    publicKey: leafKey,
    signingKey: signer.key,
    extensions,
  });
  return cert.toString('pem');
}

/** kubeadm-style pin of the CA: "sha256:" + hex SHA-256 of the CA certificate's DER SubjectPublicKeyInfo. */
export function caCertHash(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return 'sha256:' + createHash('sha256').update(spki).digest('hex');
}

// Organizations first, then CN, as in Kubernetes client certificates (O=system:masters, CN=admin).
function subjectName(commonName: string, organizations: string[]): x509.JsonName {
  return [...organizations.map((o) => ({ O: [o] })), { CN: [commonName] }];
}

function subjectAltName(host: string): x509.JsonGeneralName {
  return isIP(host) ? { type: 'ip', value: host } : { type: 'dns', value: host };
}

function extendedKeyUsagesFor(usage: CertUsage): string[] {
  switch (usage) {
    case 'server':
      return [x509.ExtendedKeyUsage.serverAuth];
    case 'client':
      return [x509.ExtendedKeyUsage.clientAuth];
    case 'both':
      return [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  }
}

// keyEncipherment only means something for RSA key transport; EC keys only sign.
function keyUsageFor(key: x509.PublicKey): number {
  const rsa = key.algorithm.name.startsWith('RSA');
  return x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0);
}

async function authorityKeyIdentifier(caCert: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);
}

function validity(days: number, seconds?: number): { notBefore: Date; notAfter: Date } {
  if (seconds !== undefined && !(seconds > 0)) throw new Error(`validitySeconds must be positive, got ${seconds}`);
  if (seconds === undefined && !(days > 0)) throw new Error(`validityDays must be positive, got ${days}`);
  const lifetimeMs = seconds !== undefined ? seconds * 1000 : days * DAY_MS;
  const now = Date.now();
  // A short-lived certificate is backdated by a tenth of its life at most: a holder renewing at 70-90 %
  // of notBefore → notAfter must not find a 60 s certificate already due.
  const backdate = Math.min(BACKDATE_MS, lifetimeMs / 10);
  return { notBefore: new Date(now - backdate), notAfter: new Date(now + lifetimeMs) };
}

// 126 random bits: unique per certificate, and always a positive, minimally encoded INTEGER.
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}
