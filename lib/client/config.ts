// Where the CLI and other clients find the API server and their credentials: flags, then environment
// variables, then a config file (written by `persys up` / `persys pki init`).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import { DEFAULT_SERVER } from './defaults.js';

export interface ClientConfig {
  /** host:port of an API server. */
  server: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
  /** Default namespace for namespaced kinds. */
  namespace: string;
}

export const CONFIG_FILE_NAME = 'config.yaml';

/** Config file search order: explicit path, $PERSYS_CONFIG, ./.persys/config.yaml, ~/.persys/config.yaml. */
export function findConfigFile(explicit?: string): string | undefined {
  if (explicit) return explicit;
  const candidates = [
    process.env.PERSYS_CONFIG,
    join(process.cwd(), '.persys', CONFIG_FILE_NAME),
    join(homedir(), '.persys', CONFIG_FILE_NAME),
  ];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

export interface ConfigOverrides {
  config?: string;
  server?: string;
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  namespace?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Resolves the effective config; flags win over PERSYS_* environment variables, which win over the file. */
export function loadClientConfig(overrides: ConfigOverrides = {}): ClientConfig {
  const file = findConfigFile(overrides.config);
  let fromFile: Partial<ClientConfig> = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`);
    const parsed = YAML.parse(readFileSync(file, 'utf8')) ?? {};
    const base = dirname(resolve(file));
    const abs = (p: unknown) => (typeof p === 'string' && p && !isAbsolute(p) ? join(base, p) : (p as string));
    fromFile = {
      server: parsed.server,
      caCert: abs(parsed.caCert),
      clientCert: abs(parsed.clientCert),
      clientKey: abs(parsed.clientKey),
      namespace: parsed.namespace,
    };
  }
  const env = process.env;
  const cfg: ClientConfig = {
    server: overrides.server ?? env.PERSYS_SERVER ?? fromFile.server ?? DEFAULT_SERVER,
    caCert: overrides.caCert ?? env.PERSYS_CA_CERT ?? fromFile.caCert ?? '',
    clientCert: overrides.clientCert ?? env.PERSYS_CLIENT_CERT ?? fromFile.clientCert ?? '',
    clientKey: overrides.clientKey ?? env.PERSYS_CLIENT_KEY ?? fromFile.clientKey ?? '',
    namespace: overrides.namespace ?? env.PERSYS_NAMESPACE ?? fromFile.namespace ?? 'default',
  };
  if (!cfg.caCert || !cfg.clientCert || !cfg.clientKey) {
    throw new ConfigError(
      'no credentials: run `persys up` (or `persys pki init`) to write a config file, or pass --config, ' +
        'or set PERSYS_CA_CERT, PERSYS_CLIENT_CERT and PERSYS_CLIENT_KEY',
    );
  }
  return cfg;
}

export function writeClientConfig(path: string, cfg: ClientConfig): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, YAML.stringify(cfg), { mode: 0o600 });
}
