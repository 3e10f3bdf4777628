// `persys pki init`: creates the cluster CA, the API server's certificate and an admin client
// certificate under DATA_DIR/pki, and writes DATA_DIR/config.yaml for the CLI.
import { join, resolve } from 'node:path';
import { CONFIG_FILE_NAME, writeClientConfig } from '../lib/client/config.js';
import { DEFAULT_SERVER } from '../lib/client/defaults.js';
import type { PkiPaths } from '../lib/pki/index.js';
import { readFileSync } from 'node:fs';
import { list, str, type Command } from '../lib/cli/command.js';
import { UsageError } from '../lib/cli/usage-error.js';

export const DATA_DIR_FLAG = {
  type: 'string',
  env: 'PERSYS_DATA_DIR',
  valueName: 'DIR',
  default: './.persys',
  description: 'where persys keeps its state (etcd data, PKI, CLI config)',
} as const;

/** Creates the PKI (idempotent) and the CLI config pointing at `server` with the admin identity. */
export async function initClusterPki(dataDir: string, server: string, serverHosts: string[] = []): Promise<{ pki: PkiPaths; configFile: string }> {
  // Loaded on use: the x509 stack is heavy and most commands never need it.
  const { initPki } = await import('../lib/pki/index.js');
  const pki = await initPki(join(dataDir, 'pki'), { serverHosts });
  const configFile = join(dataDir, CONFIG_FILE_NAME);
  writeClientConfig(configFile, {
    server,
    caCert: pki.caCert,
    clientCert: pki.adminCert,
    clientKey: pki.adminKey,
    namespace: 'default',
  });
  return { pki, configFile };
}

export const pkiCommand: Command = {
  name: 'pki',
  usage: 'persys pki init [--data-dir DIR] [--server-host NAME_OR_IP ...]\npersys pki rotate-server [--data-dir DIR] [--server-host NAME_OR_IP ...]\npersys pki rotate-encryption-key',
  description:
    'init creates DIR/pki/{ca,server,admin}.{crt,key} (kept when they exist) and DIR/config.yaml, ' +
    'which the CLI finds by itself in ./.persys or through --config / PERSYS_CONFIG.\n' +
    'rotate-server replaces DIR/pki/server.{crt,key} with a new key and certificate for the same names ' +
    '(plus any --server-host); a running API server reloads it without dropping connections.\n' +
    'rotate-encryption-key rewrites, through the API, every Secret not stored under the first key of the ' +
    "API servers' --encryption-key-file, and counts them (README: Secrets at rest).",
  flags: {
    'data-dir': DATA_DIR_FLAG,
    'server-host': { type: 'string', multiple: true, valueName: 'HOST', description: 'extra DNS name or IP for the server certificate' },
    'advertise-address': {
      type: 'string',
      valueName: 'HOST:PORT',
      default: DEFAULT_SERVER,
      description: 'API server address written into the CLI config',
    },
  },
  async run(ctx) {
    if (ctx.args[0] === 'rotate-encryption-key') return (await import('./rotate-encryption-key.js')).runRotateEncryptionKey(ctx);
    if (ctx.args[0] === 'rotate-server') return (await import('./pki-rotate.js')).rotateServerCertificateCommand(ctx);
    if (ctx.args[0] !== 'init') throw new UsageError('unknown or missing subcommand: use "persys pki init", "persys pki rotate-server" or "persys pki rotate-encryption-key"', 'pki');
    const dataDir = resolve(str(ctx.flags, 'data-dir')!);
    const { pki, configFile } = await initClusterPki(dataDir, str(ctx.flags, 'advertise-address')!, list(ctx.flags, 'server-host'));
    ctx.io.out(`PKI in ${pki.dir}`);
    const { caCertHash } = await import('../lib/pki/index.js');
    ctx.io.out(`CA certificate hash: ${caCertHash(readFileSync(pki.caCert, 'utf8'))}`);
    ctx.io.out(`CLI config written to ${configFile}`);
    return 0;
  },
};
