// The API port's TLS: the server's certificate, and client certificates asked for and checked
// against the cluster CA but not required, so that bearer-token clients (CI pipelines, programs)
// can connect. A missing or foreign certificate leaves the call without an identity, and the authz
// interceptor refuses it with UNAUTHENTICATED saying why. The certificates can be swapped in place.
import { experimental, ServerCredentials } from '@grpc/grpc-js';

type CaListener = Parameters<experimental.CertificateProvider['addCaCertificateListener']>[0];
type IdentityListener = Parameters<experimental.CertificateProvider['addIdentityCertificateListener']>[0];

/** Fixed PEMs, handed to grpc-js at once; update() replaces them for new connections. */
export class ServingCertificates implements experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(
    private caPem: Buffer,
    private certPem: Buffer,
    private keyPem: Buffer,
  ) {}

  update(pems: { caPem?: Buffer; certPem?: Buffer; keyPem?: Buffer }): void {
    this.caPem = pems.caPem ?? this.caPem;
    this.certPem = pems.certPem ?? this.certPem;
    this.keyPem = pems.keyPem ?? this.keyPem;
    for (const l of this.caListeners) l({ caCertificate: this.caPem });
    for (const l of this.identityListeners) l({ certificate: this.certPem, privateKey: this.keyPem });
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // Later, not now: grpc-js registers its own watcher only after adding this listener.
    queueMicrotask(() => this.caListeners.has(listener) && listener({ caCertificate: this.caPem }));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(() => this.identityListeners.has(listener) && listener({ certificate: this.certPem, privateKey: this.keyPem }));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

/** Server credentials that request a client certificate, verify it against the CA, and do not require one. */
export function apiPortCredentials(certs: ServingCertificates): ServerCredentials {
  return experimental.createCertificateProviderServerCredentials(certs, certs, false);
}
