// `persys version`: this CLI's version and the API server's, as kubectl prints them
// (`Client Version: …` / `Server Version: …`, or both objects with -o json|yaml).
import type { VersionInfo } from '../../gen/persys/v1/api.js';
import { localVersionInfo } from '../../version-info.js';
import type { Command } from '../command.js';
import { bool, str } from '../command.js';
import { formatError } from '../errors.js';
import { toJson, toYaml } from '../printers/output.js';
import { UsageError } from '../usage-error.js';

/** This CLI's persys release (agents report it as their version too). */
export function clientVersion(): string {
  return localVersionInfo().version;
}

export const versionCommand: Command = {
  name: 'version',
  usage: 'persys version [--client] [-o json|yaml]',
  description: 'An unreachable server prints the client version, then the error, and exits 1.',
  flags: {
    client: { type: 'boolean', description: 'print the client version only' },
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'json or yaml instead of the two lines' },
  },
  async run(ctx) {
    const format = str(ctx.flags, 'output');
    if (format !== undefined && format !== 'json' && format !== 'yaml') {
      throw new UsageError(`--output must be 'yaml' or 'json', got "${format}"`, 'version');
    }
    const client = localVersionInfo();
    let server: VersionInfo | undefined;
    let failure: string | undefined;
    if (!bool(ctx.flags, 'client')) {
      try {
        server = await ctx.client().version();
      } catch (err) {
        failure = formatError(err, safeServer(ctx.config));
      }
    }
    if (format) {
      const value = { clientVersion: client, ...(server ? { serverVersion: server } : {}) };
      ctx.io.out(format === 'json' ? toJson(value) : toYaml(value));
    } else {
      ctx.io.out(`Client Version: ${client.version}`);
      if (server) ctx.io.out(`Server Version: ${server.version}`);
    }
    if (failure) {
      ctx.io.err(failure);
      return 1;
    }
    return 0;
  },
};

/** The configured server for the error message; undefined when the config failed (that error is the one printed). */
function safeServer(config: () => { server: string }): string | undefined {
  try {
    return config().server;
  } catch {
    return undefined;
  }
}
