// Private keys as PEM: ECDSA P-256 generation, PKCS#8 PEM export, and import of any EC or RSA PEM
// key (PKCS#8 or the traditional "EC PRIVATE KEY"/"RSA PRIVATE KEY") so a bring-your-own CA works.
import { createPrivateKey } from 'node:crypto';
import { subtle, x509 } from './x509.js';

/** The signature algorithm used by every key persys generates: fast to make, small certificates. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface SigningKey {
  key: CryptoKey;
  /** WebCrypto signature algorithm matching the key. */
  algorithm: Algorithm | EcdsaParams;
}

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function importSigningKey(pem: string): Promise<SigningKey> {
  const node = createPrivateKey(pem);
  const der = node.export({ type: 'pkcs8', format: 'der' });
  if (node.asymmetricKeyType === 'ec') {
    const curve = node.asymmetricKeyDetails?.namedCurve;
    const namedCurve = CURVES[curve ?? ''];
    if (!namedCurve) throw new Error(`unsupported EC curve ${curve}`);
    const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash: namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256' } };
  }
  if (node.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { key, algorithm };
  }
  throw new Error(`unsupported private key type ${node.asymmetricKeyType}`);
}

// Node reports OpenSSL curve names; WebCrypto wants NIST names.
const CURVES: Record<string, string> = {
  prime256v1: 'P-256',
  'P-256': 'P-256',
  secp384r1: 'P-384',
  'P-384': 'P-384',
};
