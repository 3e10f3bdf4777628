// Public face of the cluster PKI: CA and certificates for mTLS between the API server, admins and
// node agents, and the mapping from a client certificate to a user and groups.
export { createCa, issueCertificate, caCertHash, type CertBundle, type CertUsage, type LeafOptions } from './ca.js';
export { createCsr, signCsr, InvalidCsrError, CsrSubjectMismatchError, type SignCsrOptions } from './csr.js';
export { initPki, pkiPaths, rotateServerCertificate, PkiError, type PkiPaths, type InitPkiOptions, type RotatedServerCertificate } from './files.js';
export { certificateInfo, certificateMatchesKey, normalizeSerial, type CertificateInfo } from './certificate-info.js';
export { identityFromPeerCertificate, type Identity } from './identity.js';
