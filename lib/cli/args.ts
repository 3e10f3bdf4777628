// Command-line parsing on top of node:util parseArgs: finds the subcommand among global flags,
// accepts kubectl's `--flag=true|false` for booleans, applies env-var fallbacks and defaults.
import { parseArgs } from 'node:util';
import { DEFAULT_SERVER } from '../client/defaults.js';
import type { FlagSpecs, FlagValues, GlobalOptions } from './command.js';
import { UsageError } from './usage-error.js';

/** Flags every command accepts. Their env fallbacks are resolved by loadClientConfig, not here. */
export const GLOBAL_FLAGS: FlagSpecs = {
  config: {
    type: 'string',
    env: 'PERSYS_CONFIG',
    valueName: 'FILE',
    description: 'client config file (default ./.persys/config.yaml, then ~/.persys/config.yaml)',
  },
  context: { type: 'string', env: 'PERSYS_CONTEXT', valueName: 'NAME', description: 'the config file context to use (default: its currentContext)' },
  server: { type: 'string', env: 'PERSYS_SERVER', valueName: 'HOST:PORT', default: DEFAULT_SERVER, description: 'API server address' },
  'ca-cert': { type: 'string', env: 'PERSYS_CA_CERT', valueName: 'FILE', description: 'CA certificate that signed the server certificate' },
  'client-cert': { type: 'string', env: 'PERSYS_CLIENT_CERT', valueName: 'FILE', description: 'client certificate (mTLS)' },
  'client-key': { type: 'string', env: 'PERSYS_CLIENT_KEY', valueName: 'FILE', description: 'client private key (mTLS)' },
  token: {
    type: 'string',
    env: 'PERSYS_TOKEN',
    valueName: 'TOKEN',
    description: 'bearer token (persys token create --service-account), used instead of a client certificate',
  },
  namespace: { type: 'string', short: 'n', env: 'PERSYS_NAMESPACE', valueName: 'NS', default: 'default', description: 'namespace for namespaced kinds' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** Splits argv into the subcommand name (undefined if none) and every other argument. */
export function splitCommand(argv: string[]): { name?: string; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-') && a !== '-') {
      if (!a.includes('=') && takesValue(a)) i++;
      continue;
    }
    return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { rest: argv };
}

function takesValue(flag: string): boolean {
  const spec = flag.startsWith('--')
    ? GLOBAL_FLAGS[flag.slice(2)]
    : Object.values(GLOBAL_FLAGS).find((s) => s.short === flag.slice(1));
  return spec?.type === 'string';
}

export interface ParsedCommandLine {
  positionals: string[];
  flags: FlagValues;
  globals: GlobalOptions;
  help: boolean;
}

/** Parses a command's arguments strictly against its flags plus the global ones. */
export function parseCommandLine(
  args: string[],
  commandFlags: FlagSpecs,
  commandName: string,
  env: NodeJS.ProcessEnv = process.env,
): ParsedCommandLine {
  const specs: FlagSpecs = { ...GLOBAL_FLAGS, ...commandFlags };
  const explicitFalse = new Set<string>();
  const normalized: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      normalized.push(...args.slice(i));
      break;
    }
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (m && specs[m[1]!]?.type === 'boolean') {
      const v = m[2]!.toLowerCase();
      if (v === 'true') normalized.push(`--${m[1]}`);
      else if (v === 'false') explicitFalse.add(m[1]!);
      else throw new UsageError(`invalid value "${m[2]}" for --${m[1]}: use true or false`, commandName);
      continue;
    }
    normalized.push(a);
  }

  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, s] of Object.entries(specs)) {
    options[name] = { type: s.type, ...(s.short ? { short: s.short } : {}), ...(s.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: normalized, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(parseErrorMessage(err), commandName);
  }
  const values = parsed.values as FlagValues;

  const flags: FlagValues = {};
  for (const [name, s] of Object.entries(commandFlags)) {
    let v = explicitFalse.has(name) ? false : values[name];
    if (v === undefined && s.env && env[s.env] !== undefined && env[s.env] !== '') {
      const e = env[s.env]!;
      v = s.type === 'boolean' ? /^(1|true|yes)$/i.test(e) : s.multiple ? [e] : e;
    }
    if (v === undefined && s.default !== undefined) v = s.default;
    flags[name] = v;
  }
  const g = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  return {
    positionals: parsed.positionals,
    flags,
    globals: {
      config: g('config'),
      context: g('context'),
      server: g('server'),
      caCert: g('ca-cert'),
      clientCert: g('client-cert'),
      clientKey: g('client-key'),
      token: g('token'),
      namespace: g('namespace'),
    },
    help: values.help === true,
  };
}

function parseErrorMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(e.message ?? '')?.[1];
    return `unknown flag: ${flag ?? e.message}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /Option '([^']+)' argument missing/.exec(e.message ?? '');
    if (m) return `flag needs an argument: ${m[1]!.replace(/ <value>$/, '')}`;
    const b = /Option '([^']+)' does not take an argument/.exec(e.message ?? '');
    if (b) return `flag does not take a value: ${b[1]}`;
  }
  return e.message ?? String(err);
}
