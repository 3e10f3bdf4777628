// The PKI directory the API server starts from: CA, server and admin certificates as PEM files,
// created on first start and kept afterwards, so a restart never changes the cluster's identity.
import { access, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createCa, issueCertificate, type CertBundle } from './ca.js';
import { certificateInfo } from './certificate-info.js';

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
}

export interface InitPkiOptions {
  /** Extra DNS names and IPs for the server certificate, on top of localhost and this host's name. */
  serverHosts?: string[];
}

export class PkiError extends Error {
  override name = 'PkiError';
}

export function pkiPaths(dir: string): PkiPaths {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
  };
}

/** Creates <dir>/ca.{crt,key}, server.{crt,key} (SANs: localhost, 127.0.0.1, ::1, os.hostname(), plus opts.serverHosts),
 *  admin.{crt,key} (CN=admin, O=system:masters). Idempotent: existing files are kept (a missing server/admin cert
 *  is issued from the existing CA). Keys written mode 0600. */
export async function initPki(dir: string, opts: InitPkiOptions = {}): Promise<PkiPaths> {
  const paths = pkiPaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const [hasCaCert, hasCaKey] = await Promise.all([exists(paths.caCert), exists(paths.caKey)]);
  if (hasCaKey && !hasCaCert) throw new PkiError(`${paths.caKey} exists without ${paths.caCert}`);
  const newCa = !hasCaCert;
  // A CA certificate without its key is fine (an offline CA) as long as nothing needs signing.
  let ca: CertBundle | undefined;
  if (newCa) {
    ca = await createCa();
    await writePair(paths.caCert, paths.caKey, ca);
  } else if (hasCaKey) {
    ca = { certPem: await readFile(paths.caCert, 'utf8'), keyPem: await readFile(paths.caKey, 'utf8') };
  }

  const leaves = [
    {
      cert: paths.serverCert,
      key: paths.serverKey,
      issue: (ca: CertBundle) =>
        issueCertificate(ca, {
          commonName: 'persys-apiserver',
          // Also a client certificate: an API server relays a node request to the peer holding the node's stream.
          organizations: ['system:apiservers'],
          hosts: dedupe(['localhost', '127.0.0.1', '::1', hostname(), ...(opts.serverHosts ?? [])]),
          usage: 'both',
        }),
    },
    {
      cert: paths.adminCert,
      key: paths.adminKey,
      issue: (ca: CertBundle) =>
        issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' }),
    },
  ];
  for (const leaf of leaves) {
    // Certificates signed by a CA that no longer exists would be useless, so a new CA reissues all.
    if (!newCa && (await exists(leaf.cert)) && (await exists(leaf.key))) continue;
    if (!ca) throw new PkiError(`cannot issue ${leaf.cert}: ${paths.caKey} is missing`);
    await writePair(leaf.cert, leaf.key, await leaf.issue(ca));
  }
  return paths;
}

export interface RotatedServerCertificate {
  certFile: string;
  keyFile: string;
  hosts: string[];
  serial: string;
  notAfter: Date;
}

/**
 * Re-issues DIR/server.{crt,key} from DIR/ca.{crt,key}: the same CN, O and hosts as the current
 * certificate (plus `extraHosts`), a new key, `validityDays` from now. Each file is replaced whole
 * (temporary file, then rename); a running API server picks the pair up once both match.
 */
export async function rotateServerCertificate(dir: string, opts: { validityDays?: number; extraHosts?: string[] } = {}): Promise<RotatedServerCertificate> {
  const paths = pkiPaths(dir);
  for (const f of [paths.caCert, paths.caKey, paths.serverCert]) {
    if (!(await exists(f))) throw new PkiError(`${f} does not exist: run \`persys pki init\` first (or point --data-dir at the server's data directory)`);
  }
  const ca = { certPem: await readFile(paths.caCert, 'utf8'), keyPem: await readFile(paths.caKey, 'utf8') };
  const current = certificateInfo(await readFile(paths.serverCert, 'utf8'));
  const hosts = dedupe([...current.hosts, ...(opts.extraHosts ?? [])]);
  const bundle = await issueCertificate(ca, {
    commonName: current.commonName || 'persys-apiserver',
    organizations: current.organizations.length ? current.organizations : ['system:apiservers'],
    hosts,
    usage: 'both',
    validityDays: opts.validityDays,
  });
  await writePair(paths.serverCert, paths.serverKey, bundle);
  const info = certificateInfo(bundle.certPem);
  return { certFile: paths.serverCert, keyFile: paths.serverKey, hosts, serial: info.serial, notAfter: info.notAfter };
}

// Key first, each file written whole and renamed into place: a crash leaves a pair that is either
// complete or missing its certificate, and a missing certificate is reissued on the next start.
async function writePair(certPath: string, keyPath: string, bundle: CertBundle): Promise<void> {
  await writeAtomic(keyPath, bundle.keyPem, 0o600);
  await writeAtomic(certPath, bundle.certPem, 0o644);
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode); // writeFile's mode is ignored if a stale temp file already exists
  await rename(tmp, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function dedupe(hosts: string[]): string[] {
  return [...new Set(hosts.filter((h) => h.length > 0))];
}
