// What a `persys` subcommand is: its flags (with env-var fallbacks shown in --help) and a run
// function that gets the parsed command line, the streams and a lazily built API client.
import type { ApiClient } from '../client/client.js';
import type { ClientConfig, ConfigOverrides } from '../client/config.js';
import type { CommandEntry } from './commands/index.js';
import type { Io } from './io.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in --help; for string flags, the value the command uses when the flag is absent. */
  default?: string | boolean;
  /** Environment variable consulted when the flag is absent. */
  env?: string;
  /** Placeholder for the value in --help, e.g. FILE. */
  valueName?: string;
  description: string;
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** The API surface the CLI uses; an ApiClient, or a fake in unit tests. */
export type CliClient = Pick<
  ApiClient,
  'create' | 'get' | 'list' | 'update' | 'delete' | 'apply' | 'watch' | 'listKinds' | 'version' | 'checkAccess' | 'createServiceAccountToken' | 'close'
>;

/** Options every command accepts (connection and namespace); -n is undefined when not given. */
export type GlobalOptions = ConfigOverrides;

export interface CommandContext {
  io: Io;
  /** Positional arguments after the command name. */
  args: string[];
  /** The command's own flags, after env-var fallbacks and defaults. */
  flags: FlagValues;
  globals: GlobalOptions;
  /** Every command of this CLI (for `persys completion`). */
  commands: readonly CommandEntry[];
  /** The resolved client config (flags > PERSYS_* env > config file); throws ConfigError. */
  config(): ClientConfig;
  /** The effective namespace: -n, else the config's default. */
  namespace(): string;
  /** A client connected to the configured server, built on first use and closed when the command ends. */
  client(): CliClient;
  sleep(ms: number): Promise<void>;
  now(): Date;
  /** The environment (the process's, or a test's): EDITOR and the like. */
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** The name it is run by; its one-line summary is in the command table (commands/index.ts). */
  name: string;
  /** Usage line(s), e.g. "persys get KIND [NAME...] [flags]". */
  usage: string;
  /** More help text shown by `persys CMD --help`. */
  description?: string;
  flags?: FlagSpecs;
  /** Exit code when run() throws; 1 unless the command has its own convention (diff: 2). */
  errorExitCode?: number;
  run(ctx: CommandContext): Promise<number>;
}

export const str = (flags: FlagValues, name: string): string | undefined => {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
};

export const bool = (flags: FlagValues, name: string): boolean => flags[name] === true;

export const list = (flags: FlagValues, name: string): string[] => {
  const v = flags[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
};
