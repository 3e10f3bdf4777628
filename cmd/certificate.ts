// `persys certificate create --user NAME --group G …`: a client certificate signed by the cluster CA
// (CN = user, O = groups, as the API server reads identities) and a ready CLI config for that user.
// It runs where the CA key is (the server's data directory), like `persys pki init`.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseDuration } from '../lib/api/duration.js';
import { CONFIG_FILE_NAME, readConfigFile, writeClientConfig } from '../lib/client/config.js';
import { selectContext } from '../lib/client/contexts.js';
import { bool, list, str, type Command } from '../lib/cli/command.js';
import { UsageError } from '../lib/cli/usage-error.js';
import { DATA_DIR_FLAG } from './pki.js';

/** The group that bypasses every authorization check (apiserver/api/authz.ts ADMIN_GROUP). */
export const MASTERS_GROUP = 'system:masters';
const RESERVED_PREFIX = 'system:';
/** X.509's upper bound for a CN or an O value. */
const MAX_NAME_LENGTH = 64;

export interface UserCertificateRequest {
  user: string;
  groups: string[];
  ttlMs: number;
  allowMasters: boolean;
}

/** Why the request may not be issued, as a message naming the flag to fix; undefined when it may. */
export function userCertificateRequestError(req: UserCertificateRequest): string | undefined {
  const nameError = (flag: string, name: string) => {
    if (!name.trim()) return `--${flag}: must not be empty`;
    if (name.length > MAX_NAME_LENGTH) return `--${flag} ${JSON.stringify(name)}: at most ${MAX_NAME_LENGTH} characters`;
    if (/[\u0000-\u001f\u007f,=+<>#;\\"]/.test(name)) return `--${flag} ${JSON.stringify(name)}: control characters and , = + < > # ; \\ " are not allowed`;
    return undefined;
  };
  if (!req.user) return '--user is required';
  const userError = nameError('user', req.user);
  if (userError) return userError;
  if (req.user.startsWith(RESERVED_PREFIX)) {
    return `--user ${req.user}: names starting with "${RESERVED_PREFIX}" are reserved for persys' own components (nodes, controllers, API servers)`;
  }
  for (const group of req.groups) {
    const groupError = nameError('group', group);
    if (groupError) return groupError;
    if (group === MASTERS_GROUP) {
      if (!req.allowMasters) {
        return `--group ${MASTERS_GROUP}: members of this group bypass every authorization check and such a certificate cannot be revoked before it expires; add --allow-masters if that is really meant`;
      }
      continue;
    }
    if (group.startsWith(RESERVED_PREFIX)) return `--group ${group}: groups starting with "${RESERVED_PREFIX}" are reserved for persys' own components`;
  }
  if (!(req.ttlMs >= 1000)) return `--ttl must be at least 1s, got ${req.ttlMs}ms`;
  return undefined;
}

/** The files one user's credentials go to: the config given, its certificate, key and CA beside it. */
export function userCredentialFiles(configFile: string) {
  const dir = dirname(configFile);
  const base = basename(configFile).replace(/(\.config)?\.ya?ml$/, '');
  return { config: configFile, cert: join(dir, `${base}.crt`), key: join(dir, `${base}.key`), ca: join(dir, `${base}.ca.crt`) };
}

function writeFileWhole(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export const certificateCommand: Command = {
  name: 'certificate',
  usage: 'persys certificate create --user NAME [--group GROUP ...] [--ttl 720h] [-o FILE] [--server HOST:PORT] [--data-dir DIR]',
  description:
    'Signs a client certificate for a user (CN=NAME, O=each GROUP) with the cluster CA in DIR/pki (the\n' +
    "API server's data directory) and writes a CLI config for it: FILE (default NAME.config.yaml, mode 0600)\n" +
    'and beside it NAME.crt, NAME.key and NAME.ca.crt, which the config names by relative path (move the four\n' +
    'files together). The server address is --server, else the one in DIR/config.yaml.\n' +
    'Names starting with "system:" are reserved; group system:masters (which bypasses every check) needs\n' +
    '--allow-masters. A user certificate cannot be revoked: keep --ttl short.',
  flags: {
    user: { type: 'string', valueName: 'NAME', description: 'the user name (certificate CN)' },
    group: { type: 'string', multiple: true, valueName: 'GROUP', description: 'a group of the user (certificate O); repeat for several' },
    ttl: { type: 'string', valueName: 'DURATION', default: '720h', description: 'how long the certificate is valid (Go duration: 720h, 90m)' },
    output: { type: 'string', short: 'o', valueName: 'FILE', description: 'the config file to write (default NAME.config.yaml)' },
    'allow-masters': { type: 'boolean', description: `allow group ${MASTERS_GROUP}, which bypasses every authorization check` },
    'data-dir': DATA_DIR_FLAG,
  },
  async run(ctx) {
    const sub = ctx.args[0];
    if (sub !== 'create') throw new UsageError(sub ? `unknown subcommand "${sub}": use create` : 'missing subcommand: use create', 'certificate');
    if (ctx.args.length > 1) throw new UsageError(`unexpected arguments: ${ctx.args.slice(1).join(' ')}`, 'certificate');
    const user = str(ctx.flags, 'user') ?? '';
    const groups = [...new Set(list(ctx.flags, 'group'))];
    const ttlText = str(ctx.flags, 'ttl')!;
    const ttlMs = parseDuration(ttlText);
    if (ttlMs === undefined) throw new UsageError(`--ttl "${ttlText}" is not a duration: use e.g. 720h, 24h, 90m`, 'certificate');
    const problem = userCertificateRequestError({ user, groups, ttlMs, allowMasters: bool(ctx.flags, 'allow-masters') });
    if (problem) throw new UsageError(problem, 'certificate');

    const dataDir = resolve(str(ctx.flags, 'data-dir')!);
    const { pkiPaths, issueCertificate, certificateInfo } = await import('../lib/pki/index.js');
    const pki = pkiPaths(join(dataDir, 'pki'));
    if (!existsSync(pki.caCert) || !existsSync(pki.caKey)) {
      throw new UsageError(`no cluster CA in ${pki.dir} (need ca.crt and ca.key): run this where the API server keeps its data, with --data-dir`, 'certificate');
    }
    const server = ctx.globals.server ?? ctx.env.PERSYS_SERVER ?? adminServer(join(dataDir, CONFIG_FILE_NAME));
    if (!server) throw new UsageError(`--server is required: ${join(dataDir, CONFIG_FILE_NAME)} names no server`, 'certificate');

    const files = userCredentialFiles(resolve(str(ctx.flags, 'output') ?? `${user}.config.yaml`));
    const taken = Object.values(files).filter((f) => existsSync(f));
    if (taken.length) throw new UsageError(`${taken.join(', ')} already exist${taken.length === 1 ? 's' : ''}: remove or choose another -o FILE`, 'certificate');

    const caPem = readFileSync(pki.caCert, 'utf8');
    const bundle = await issueCertificate(
      { certPem: caPem, keyPem: readFileSync(pki.caKey, 'utf8') },
      { commonName: user, organizations: groups, usage: 'client', validitySeconds: Math.round(ttlMs / 1000) },
    );
    mkdirSync(dirname(files.config), { recursive: true });
    writeFileWhole(files.key, bundle.keyPem, 0o600);
    writeFileWhole(files.cert, bundle.certPem, 0o644);
    writeFileWhole(files.ca, caPem, 0o644);
    // Relative paths: the config finds them beside itself wherever the four files are moved.
    writeClientConfig(files.config, {
      server,
      caCert: basename(files.ca),
      clientCert: basename(files.cert),
      clientKey: basename(files.key),
      namespace: 'default',
    });
    chmodSync(files.config, 0o600);

    const info = certificateInfo(bundle.certPem);
    ctx.io.out(`certificate for user "${user}" (groups: ${groups.length ? groups.join(', ') : 'none'}), serial ${info.serial}, valid until ${info.notAfter.toISOString()}`);
    ctx.io.out(`config written to ${files.config} (with ${basename(files.cert)}, ${basename(files.key)}, ${basename(files.ca)} beside it)`);
    ctx.io.out(`use it: PERSYS_CONFIG=${files.config} persys get ns   (or: persys --config ${files.config} get ns)`);
    return 0;
  },
};

/** The server of the admin config `persys pki init` / `persys up` wrote, if any. */
function adminServer(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  return selectContext(readConfigFile(file), undefined)?.server;
}
