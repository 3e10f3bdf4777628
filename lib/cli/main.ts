// Entry point of the `persys` CLI: finds the subcommand, parses its flags, runs it with a lazily
// connected client and turns errors into kubectl-style messages and exit codes. The client, the
// config loader and the error formatter are imported when a command runs, so --help stays light.
import type { ClientConfig } from '../client/config.js';
import { parseCommandLine, splitCommand } from './args.js';
import type { CliClient, Command, CommandContext } from './command.js';
import { CLIENT_COMMANDS, findCommand, type CommandEntry } from './commands/index.js';
import { processIo, type Io } from './io.js';
import { UsageError } from './usage-error.js';
import { commandUsage, topLevelUsage } from './usage.js';

/** What main() may be given instead of the real thing (tests, embedding). */
export interface MainDeps {
  newClient?: (config: ClientConfig) => CliClient;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  /** The commands there are. @default CLIENT_COMMANDS (cmd/commands.ts adds those that run persys' processes) */
  commands?: readonly CommandEntry[];
}

/** Runs one CLI invocation; returns the process exit code. Never throws. */
export async function main(argv: string[], io: Io = processIo, deps: MainDeps = {}): Promise<number> {
  const commands = deps.commands ?? CLIENT_COMMANDS;
  const { name, rest } = splitCommand(argv);
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? rest.find((a) => !a.startsWith('-')) : undefined;
    const entry = topic ? findCommand(commands, topic) : undefined;
    if (topic && !entry) return unknownCommand(io, topic);
    if (!topic && rest.length && !rest.some((a) => a === '--help' || a === '-h')) {
      io.err('error: no command given');
      io.err(`Run 'persys --help' for usage.`);
      return 1;
    }
    io.out(entry ? commandUsage(entry.summary, await entry.load()) : topLevelUsage(commands));
    return 0;
  }
  const entry = findCommand(commands, name);
  if (!entry) return unknownCommand(io, name);
  return runCommand(entry, rest, io, deps, commands);
}

function connect(ApiClient: typeof import('../client/client.js').ApiClient, config: ClientConfig): CliClient {
  try {
    return new ApiClient(config);
  } catch (err) {
    throw new Error(
      `cannot load client credentials (ca ${config.caCert}, ${config.token ? 'a bearer token' : `cert ${config.clientCert}, key ${config.clientKey}`}): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function unknownCommand(io: Io, name: string): number {
  io.err(`error: unknown command "${name}" for "persys"`);
  io.err(`Run 'persys --help' for usage.`);
  return 1;
}

async function runCommand(entry: CommandEntry, args: string[], io: Io, deps: MainDeps, commands: readonly CommandEntry[]): Promise<number> {
  const cmd: Command = await entry.load();
  let config: ClientConfig | undefined;
  let client: CliClient | undefined;
  try {
    const parsed = parseCommandLine(args, cmd.flags ?? {}, cmd.name, deps.env ?? process.env);
    if (parsed.help) {
      io.out(commandUsage(entry.summary, cmd));
      return 0;
    }
    const [{ ApiClient }, { loadClientConfig }] = await Promise.all([import('../client/client.js'), import('../client/config.js')]);
    const g = parsed.globals;
    const ctx: CommandContext = {
      io,
      args: parsed.positionals,
      flags: parsed.flags,
      globals: g,
      commands,
      config: () =>
        (config ??= loadClientConfig({
          config: g.config,
          context: g.context,
          server: g.server,
          caCert: g.caCert,
          clientCert: g.clientCert,
          clientKey: g.clientKey,
          token: g.token,
          namespace: g.namespace,
        })),
      namespace: () => g.namespace ?? ctx.config().namespace,
      client: () => (client ??= deps.newClient ? deps.newClient(ctx.config()) : connect(ApiClient, ctx.config())),
      sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      now: deps.now ?? (() => new Date()),
      env: deps.env ?? process.env,
    };
    return await cmd.run(ctx);
  } catch (err) {
    const { formatError } = await import('./errors.js');
    io.err(formatError(err, config?.server));
    if (err instanceof UsageError) io.err(`See 'persys ${err.command ? err.command + ' ' : ''}--help' for usage.`);
    return cmd.errorExitCode ?? 1;
  } finally {
    client?.close();
  }
}
