// `persys apiserver`: runs one API server process against an existing etcd (for production and HA;
// `persys up` runs everything on one machine).
import { join, resolve } from 'node:path';
import { parseDuration } from '../lib/cli/duration.js';
import { str, type Command, type FlagSpecs } from '../lib/cli/command.js';
import { UsageError } from '../lib/cli/usage-error.js';
import { DATA_DIR_FLAG } from './pki.js';

export const API_SERVER_FLAGS: FlagSpecs = {
  listen: { type: 'string', env: 'PERSYS_LISTEN', valueName: 'HOST:PORT', default: '127.0.0.1:7443', description: 'gRPC API address (mTLS)' },
  'join-listen': {
    type: 'string',
    env: 'PERSYS_JOIN_LISTEN',
    valueName: 'HOST:PORT',
    description: 'join port: TLS without client certificates, for `persys agent --token` (default: the --listen port + 1)',
  },
  'advertise-address': {
    type: 'string',
    env: 'PERSYS_ADVERTISE_ADDRESS',
    valueName: 'HOST:PORT',
    description: 'API address printed in join commands (default: the --listen address)',
  },
  'metrics-listen': {
    type: 'string',
    env: 'PERSYS_METRICS_LISTEN',
    valueName: 'HOST:PORT',
    default: '127.0.0.1:7080',
    description: 'address of /metrics, /healthz and /readyz',
  },
  'etcd-prefix': { type: 'string', env: 'PERSYS_ETCD_PREFIX', valueName: 'PREFIX', default: '/persys', description: 'etcd key prefix' },
  'compaction-interval': {
    type: 'string',
    env: 'PERSYS_COMPACTION_INTERVAL',
    valueName: 'DURATION',
    default: '5m',
    description: 'how often etcd history is compacted',
  },
  'service-cluster-ip-range': {
    type: 'string',
    env: 'PERSYS_SERVICE_CLUSTER_IP_RANGE',
    valueName: 'CIDR',
    default: '10.96.0.0/16',
    description: "IPv4 range Services' cluster IPs are allocated from (only allocated: agents are to blackhole it, never route it off the node)",
  },
  'encryption-key-file': {
    type: 'string',
    env: 'PERSYS_ENCRYPTION_KEY_FILE',
    valueName: 'FILE',
    description: 'YAML list of named AES-256 keys (keys: [{name, secret}]): Secrets are encrypted in etcd with the first, read with any',
  },
  'node-cert-ttl': {
    type: 'string',
    env: 'PERSYS_NODE_CERT_TTL',
    valueName: 'DURATION',
    default: '720h',
    description: 'lifetime of node certificates signed at join and renewal (agents renew at 70-90 % of it)',
  },
  'audit-log-path': {
    type: 'string',
    env: 'PERSYS_AUDIT_LOG_PATH',
    valueName: 'FILE',
    description: 'write the audit log (JSON lines: user, verb, kind, namespace/name, decision, code, latency) to FILE',
  },
  'audit-policy-file': {
    type: 'string',
    env: 'PERSYS_AUDIT_POLICY_FILE',
    valueName: 'FILE',
    description: 'audit policy: rules of level (None, Metadata, Request) by verbs, kinds, namespaces, users, groups',
  },
  'audit-log-maxsize': { type: 'string', valueName: 'MB', default: '100', description: 'rotate the audit log at this many megabytes' },
  'audit-log-maxbackup': { type: 'string', valueName: 'N', default: '5', description: 'rotated audit logs kept' },
  'log-level': { type: 'string', env: 'PERSYS_LOG_LEVEL', valueName: 'LEVEL', default: 'info', description: 'pino log level' },
};

/** The audit options of `persys apiserver` and `persys up`, checked. */
export function auditOptions(flags: Record<string, unknown>, command: string) {
  const path = flags['audit-log-path'] as string | undefined;
  const policy = flags['audit-policy-file'] as string | undefined;
  if (policy && !path) throw new UsageError('--audit-policy-file needs --audit-log-path', command);
  const whole = (name: string, min: number): number => {
    const v = Number(flags[name]);
    if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be a whole number >= ${min}, got ${String(flags[name])}`, command);
    return v;
  };
  return {
    auditLogPath: path,
    auditPolicyFile: policy,
    auditLogMaxBytes: whole('audit-log-maxsize', 1) * 1024 * 1024,
    auditLogMaxBackups: whole('audit-log-maxbackup', 0),
  };
}

/** --node-cert-ttl in whole seconds, at least 1 minute. */
export function nodeCertTtlSeconds(flags: Record<string, unknown>, command: string): number {
  const ms = parseDuration(String(flags['node-cert-ttl'] ?? '720h'), 'node-cert-ttl', command);
  if (ms < 60_000) throw new UsageError(`--node-cert-ttl must be at least 1m, got ${flags['node-cert-ttl']}`, command);
  return Math.round(ms / 1000);
}

/** Reloads the serving certificate on every SIGHUP until the returned function is called. */
export function reloadOnSighup(reload: () => Promise<boolean>, log: { info(o: object, m: string): void; error(o: object, m: string): void }): () => void {
  const onHup = () => {
    reload().then(
      (changed) => log.info({ changed }, 'SIGHUP: serving certificate checked'),
      (err: unknown) => log.error({ err }, 'SIGHUP: cannot reload the serving certificate'),
    );
  };
  process.on('SIGHUP', onHup);
  return () => process.off('SIGHUP', onHup);
}

/** Resolves once SIGINT or SIGTERM arrives (or the signal aborts). */
export function untilStopped(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    // A stop asked for while the process was still starting counts too.
    if (signal?.aborted) done('abort');
    else signal?.addEventListener('abort', () => done('abort'), { once: true });
  });
}

export const apiserverCommand: Command = {
  name: 'apiserver',
  usage: 'persys apiserver --etcd-servers URL[,URL] [--data-dir DIR | --tls-* FILES] [flags]',
  flags: {
    ...API_SERVER_FLAGS,
    'etcd-servers': { type: 'string', env: 'PERSYS_ETCD_SERVERS', valueName: 'URLS', description: 'comma-separated etcd client URLs' },
    'data-dir': DATA_DIR_FLAG,
    'tls-ca-file': { type: 'string', env: 'PERSYS_TLS_CA_FILE', valueName: 'FILE', description: 'CA of client certificates (default DATA_DIR/pki/ca.crt)' },
    'tls-cert-file': { type: 'string', env: 'PERSYS_TLS_CERT_FILE', valueName: 'FILE', description: 'server certificate (default DATA_DIR/pki/server.crt)' },
    'tls-key-file': { type: 'string', env: 'PERSYS_TLS_KEY_FILE', valueName: 'FILE', description: 'server key (default DATA_DIR/pki/server.key)' },
    'ca-key-file': {
      type: 'string',
      env: 'PERSYS_CA_KEY_FILE',
      valueName: 'FILE',
      description: 'CA key, to sign node certificates when nodes join (default DATA_DIR/pki/ca.key when present)',
    },
  },
  async run(ctx) {
    const etcd = str(ctx.flags, 'etcd-servers');
    if (!etcd) throw new UsageError('--etcd-servers is required', 'apiserver');
    // Server code is loaded on use, so client commands start fast.
    const { startApiServer } = await import('../apiserver/server.js');
    const { pkiPaths } = await import('../lib/pki/files.js');
    const pki = pkiPaths(join(resolve(str(ctx.flags, 'data-dir')!), 'pki'));
    const logger = (await import('../lib/observability/logger.js')).createLogger('apiserver', str(ctx.flags, 'log-level'));
    const server = await startApiServer({
      etcdEndpoints: etcd.split(','),
      etcdPrefix: str(ctx.flags, 'etcd-prefix'),
      listen: str(ctx.flags, 'listen'),
      metricsListen: str(ctx.flags, 'metrics-listen'),
      caCertFile: str(ctx.flags, 'tls-ca-file') ?? pki.caCert,
      serverCertFile: str(ctx.flags, 'tls-cert-file') ?? pki.serverCert,
      serverKeyFile: str(ctx.flags, 'tls-key-file') ?? pki.serverKey,
      caKeyFile: str(ctx.flags, 'ca-key-file') ?? pki.caKey,
      joinListen: str(ctx.flags, 'join-listen'),
      advertiseAddress: str(ctx.flags, 'advertise-address'),
      compactionIntervalMs: parseDuration(str(ctx.flags, 'compaction-interval')!, 'compaction-interval', 'apiserver'),
      encryptionKeyFile: str(ctx.flags, 'encryption-key-file'),
      serviceClusterIpRange: str(ctx.flags, 'service-cluster-ip-range'),
      nodeCertTtlSeconds: nodeCertTtlSeconds(ctx.flags, 'apiserver'),
      ...auditOptions(ctx.flags, 'apiserver'),
      logger,
    });
    const stopReloading = reloadOnSighup(() => server.reloadServingCertificate(), logger);
    await untilStopped(ctx.io.signal);
    stopReloading();
    await server.stop();
    return 0;
  },
};
