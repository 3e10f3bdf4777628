// Where the CLI and other clients find the API server and their credentials: flags, then environment
// variables, then the selected context of a config file (written by `persys up` / `persys pki init`
// and `persys config`; contexts.ts describes its format).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import {
  CONTEXT_SETTINGS,
  ConfigFileError,
  ContextNotFoundError,
  emptyConfigFile,
  parseConfigFile,
  selectContext,
  serializeConfigFile,
  setContext,
  type ConfigContext,
  type ConfigFileContent,
} from './contexts.js';
import { DEFAULT_SERVER } from './defaults.js';

export interface ClientConfig {
  /** host:port of an API server. */
  server: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
  /** A bearer token (a ServiceAccount's), sent instead of a client certificate when set. */
  token?: string;
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
  /** The context of the config file to use instead of its current one (--context, else PERSYS_CONTEXT). */
  context?: string;
  server?: string;
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  token?: string;
  namespace?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Resolves the effective config; flags win over PERSYS_* environment variables, which win over the file. */
export function loadClientConfig(overrides: ConfigOverrides = {}): ClientConfig {
  const env = process.env;
  const file = findConfigFile(overrides.config);
  const contextName = overrides.context || env.PERSYS_CONTEXT || undefined;
  let fromFile: Partial<ClientConfig> = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`);
    const chosen = selectOrThrow(readConfigFile(file), contextName);
    if (chosen) fromFile = resolveContextPaths(chosen, file);
  } else if (contextName) {
    throw new ConfigError(new ContextNotFoundError(contextName).message);
  }
  const cfg: ClientConfig = {
    server: overrides.server ?? env.PERSYS_SERVER ?? fromFile.server ?? DEFAULT_SERVER,
    caCert: overrides.caCert ?? env.PERSYS_CA_CERT ?? fromFile.caCert ?? '',
    clientCert: overrides.clientCert ?? env.PERSYS_CLIENT_CERT ?? fromFile.clientCert ?? '',
    clientKey: overrides.clientKey ?? env.PERSYS_CLIENT_KEY ?? fromFile.clientKey ?? '',
    namespace: overrides.namespace ?? env.PERSYS_NAMESPACE ?? fromFile.namespace ?? 'default',
  };
  const token = overrides.token ?? env.PERSYS_TOKEN ?? fromFile.token;
  if (token) cfg.token = token;
  if (!cfg.caCert || (!cfg.token && (!cfg.clientCert || !cfg.clientKey))) {
    throw new ConfigError(
      'no credentials: run `persys up` (or `persys pki init`) to write a config file, or pass --config, ' +
        'or set PERSYS_CA_CERT with PERSYS_CLIENT_CERT and PERSYS_CLIENT_KEY (or PERSYS_TOKEN)',
    );
  }
  return cfg;
}

function selectOrThrow(content: ConfigFileContent, name: string | undefined): ConfigContext | undefined {
  try {
    return selectContext(content, name);
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err });
  }
}

/** The context with its certificate paths made absolute: relative ones are relative to the file's folder. */
export function resolveContextPaths(c: ConfigContext, file: string): ConfigContext {
  const base = dirname(resolve(file));
  const abs = (p: string | undefined) => (p && !isAbsolute(p) ? join(base, p) : p);
  const out: ConfigContext = { ...c };
  for (const key of ['caCert', 'clientCert', 'clientKey'] as const) if (c[key]) out[key] = abs(c[key]);
  return out;
}

/** The parsed config file; a missing file is an empty one. Throws ConfigError on a malformed file. */
export function readConfigFile(file: string): ConfigFileContent {
  if (!existsSync(file)) return emptyConfigFile();
  try {
    return parseConfigFile(YAML.parse(readFileSync(file, 'utf8')), file);
  } catch (err) {
    // ConfigFileError names the file already; a YAML syntax error does not.
    throw new ConfigError(err instanceof ConfigFileError ? err.message : `${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** The file `persys config` writes: --config, $PERSYS_CONFIG, the file in use, else ~/.persys/config.yaml. */
export function configFileForWrite(explicit?: string): string {
  return explicit || process.env.PERSYS_CONFIG || findConfigFile() || join(homedir(), '.persys', CONFIG_FILE_NAME);
}

/**
 * Replaces the file's content at once (a temporary file beside it, then rename), so a reader never
 * sees half a file; an existing file keeps its mode, a new one is private (0600).
 */
export function writeConfigFile(file: string, content: ConfigFileContent): void {
  writeFileAtomically(file, YAML.stringify(serializeConfigFile(content)));
}

function writeFileAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const mode = existsSync(file) ? statSync(file).mode & 0o7777 : 0o600;
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, text, { mode });
    chmodSync(tmp, mode); // the umask may have narrowed it
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes the settings `persys up` / `persys pki init` made. A file that already has contexts keeps
 * them: the settings go into its context "default" rather than replacing the file.
 */
export function writeClientConfig(path: string, cfg: ClientConfig): void {
  const existing = existsSync(path) ? readConfigFile(path) : undefined;
  if (existing && !existing.flat && existing.contexts.length) {
    const settings = Object.fromEntries(CONTEXT_SETTINGS.map((k) => [k, cfg[k]]));
    writeConfigFile(path, setContext(existing, 'default', settings).content);
    return;
  }
  writeFileAtomically(path, YAML.stringify(cfg));
}
