// The one place @peculiar/x509 is loaded: after the Reflect polyfill it needs, and wired to
// Node's WebCrypto so every certificate operation in this folder uses the same provider.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
export const subtle = webcrypto.subtle;
