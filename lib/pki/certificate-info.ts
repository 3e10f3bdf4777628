// What a PEM certificate says about itself, read with Node's own X509Certificate (no x509 stack):
// serial, validity, subject and hosts — for renewal deadlines, revocation lists and re-issuing.
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';

export interface CertificateInfo {
  /** Lower-case hex without separators, as persys stores it in revocation records. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  commonName: string;
  organizations: string[];
  /** DNS names and IP addresses of the subject alternative names. */
  hosts: string[];
}

/** Serials as persys compares them: lower-case hex, no leading zero bytes' ambiguity, no colons. */
export const normalizeSerial = (serial: string): string => serial.replace(/:/g, '').toLowerCase().replace(/^(00)+(?=.)/, '');

export function certificateInfo(pem: string | Buffer): CertificateInfo {
  const cert = new X509Certificate(pem);
  const fields = cert.subject.split('\n');
  const values = (key: string) => fields.filter((f) => f.startsWith(`${key}=`)).map((f) => f.slice(key.length + 1));
  const hosts = (cert.subjectAltName ?? '')
    .split(', ')
    .filter(Boolean)
    .map((entry) => {
      const i = entry.indexOf(':');
      return [entry.slice(0, i), entry.slice(i + 1)] as const;
    })
    .filter(([type]) => type === 'DNS' || type === 'IP Address')
    .map(([, value]) => value);
  return {
    serial: normalizeSerial(cert.serialNumber),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    commonName: values('CN')[0] ?? '',
    organizations: values('O'),
    hosts,
  };
}

/** Whether `keyPem` is the private half of the certificate's public key. */
export function certificateMatchesKey(certPem: string | Buffer, keyPem: string | Buffer): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    const fromCert = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
    return fromKey.equals(fromCert);
  } catch {
    return false;
  }
}
