// `persys config`: kubectl's context verbs over the client config file (get-contexts, current-context,
// use-context, set-context, delete-context, view). Contexts hold paths to certificates, never their content.
import { resolve } from 'node:path';
import {
  configFileForWrite,
  findConfigFile,
  readConfigFile,
  resolveContextPaths,
  writeConfigFile,
} from '../../client/config.js';
import {
  currentContextName,
  deleteContext,
  emptyConfigFile,
  setContext,
  useContext,
  type ConfigFileContent,
  type ContextSettings,
} from '../../client/contexts.js';
import { bool, str, type Command, type CommandContext } from '../command.js';
import { toJson, toYaml } from '../printers/output.js';
import { columnWidths, formatRow } from '../printers/table.js';
import { UsageError } from '../usage-error.js';

const VERBS = ['get-contexts', 'current-context', 'use-context', 'set-context', 'delete-context', 'view'] as const;
type Verb = (typeof VERBS)[number];

export const configCommand: Command = {
  name: 'config',
  usage: [
    'persys config get-contexts [NAME] [-o name]',
    'persys config current-context',
    'persys config use-context NAME',
    'persys config set-context NAME|--current [--server HOST:PORT] [--ca-cert FILE] [--client-cert FILE] [--client-key FILE] [--token TOKEN] [-n NS]',
    'persys config delete-context NAME',
    'persys config view [-o yaml|json] [--minify]',
  ].join('\n'),
  description: [
    'The file is --config, else $PERSYS_CONFIG, else ./.persys/config.yaml if it exists, else ~/.persys/config.yaml.',
    'A file in the flat format `persys up` writes is one context named "default"; the first change',
    'through set-context, use-context or delete-context turns it into that context.',
    'set-context stores certificate paths made absolute; --context NAME (or PERSYS_CONTEXT) picks a',
    'context for one command without changing the current one.',
  ].join('\n'),
  flags: {
    current: { type: 'boolean', description: 'set-context: change the current context' },
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'get-contexts: name; view: yaml (default) or json' },
    minify: { type: 'boolean', description: 'view: only the context in use' },
  },
  async run(ctx) {
    const verb = ctx.args[0] as Verb;
    if (!VERBS.includes(verb)) throw new UsageError(`config needs one of ${VERBS.join(', ')}${verb ? `, got "${verb}"` : ''}`, 'config');
    const args = ctx.args.slice(1);
    switch (verb) {
      case 'get-contexts':
        return getContexts(ctx, args);
      case 'current-context':
        return currentContext(ctx, args);
      case 'use-context':
        return change(ctx, args, 'use-context', (c, name) => ({ content: useContext(c, name), message: `Switched to context "${name}".` }));
      case 'set-context':
        return setContextVerb(ctx, args);
      case 'delete-context':
        return change(ctx, args, 'delete-context', (c, name, file) => {
          if (!c.contexts.some((x) => x.name === name)) throw new Error(`cannot delete context ${name}, not in ${file}`);
          const { content, wasCurrent } = deleteContext(c, name);
          if (wasCurrent) ctx.io.err('warning: this removed your active context, use "persys config use-context" to select a different one');
          return { content, message: `deleted context ${name} from ${file}` };
        });
      case 'view':
        return view(ctx, args);
    }
  },
};

function noMoreArgs(args: string[], from: number): void {
  if (args.length > from) throw new UsageError(`unexpected arguments: ${args.slice(from).join(' ')}`, 'config');
}

/** The file read by the read-only verbs (undefined: none exists) and its content. */
function readForDisplay(ctx: CommandContext): { file?: string; content: ConfigFileContent } {
  const file = findConfigFile(ctx.globals.config);
  return { file, content: file ? readConfigFile(file) : emptyConfigFile() };
}

/** The context in effect: --context, else PERSYS_CONTEXT, else the file's current one. */
function effectiveCurrent(ctx: CommandContext, content: ConfigFileContent): string | undefined {
  return ctx.globals.context || process.env.PERSYS_CONTEXT || currentContextName(content);
}

function getContexts(ctx: CommandContext, args: string[]): number {
  noMoreArgs(args, 1);
  const output = str(ctx.flags, 'output');
  if (output !== undefined && output !== 'name') throw new UsageError(`--output must be 'name' for get-contexts, got "${output}"`, 'config');
  const { content } = readForDisplay(ctx);
  const name = args[0];
  const contexts = name ? content.contexts.filter((c) => c.name === name) : content.contexts;
  if (name && !contexts.length) throw new Error(`context ${name} not found`);
  if (output === 'name') {
    if (contexts.length) ctx.io.out(contexts.map((c) => c.name).join('\n'));
    return 0;
  }
  const current = effectiveCurrent(ctx, content);
  const rows = [
    ['CURRENT', 'NAME', 'SERVER', 'NAMESPACE'],
    ...contexts.map((c) => [c.name === current ? '*' : '', c.name, c.server ?? '', c.namespace ?? '']),
  ];
  const widths = columnWidths(rows);
  ctx.io.out(rows.map((r) => formatRow(r, widths).trimEnd()).join('\n'));
  return 0;
}

function currentContext(ctx: CommandContext, args: string[]): number {
  noMoreArgs(args, 0);
  const name = effectiveCurrent(ctx, readForDisplay(ctx).content);
  if (!name) throw new Error('current-context is not set');
  ctx.io.out(name);
  return 0;
}

/** Reads the file to change, applies `edit`, writes the result atomically, then says what changed. */
function change(
  ctx: CommandContext,
  args: string[],
  verb: string,
  edit: (content: ConfigFileContent, name: string, file: string) => { content: ConfigFileContent; message: string },
): number {
  const name = args[0];
  if (!name) throw new UsageError(`${verb} needs a context NAME`, 'config');
  noMoreArgs(args, 1);
  const file = configFileForWrite(ctx.globals.config);
  const { content, message } = edit(readConfigFile(file), name, file);
  writeConfigFile(file, content);
  ctx.io.out(message);
  return 0;
}

function setContextVerb(ctx: CommandContext, args: string[]): number {
  const g = ctx.globals;
  const settings: ContextSettings = {};
  if (g.server) settings.server = g.server;
  // Relative paths would otherwise be read relative to the config file's folder.
  if (g.caCert) settings.caCert = resolve(g.caCert);
  if (g.clientCert) settings.clientCert = resolve(g.clientCert);
  if (g.clientKey) settings.clientKey = resolve(g.clientKey);
  if (g.token) settings.token = g.token;
  if (g.namespace) settings.namespace = g.namespace;
  const file = configFileForWrite(g.config);
  const content = readConfigFile(file);
  let name: string | undefined = args[0];
  if (bool(ctx.flags, 'current')) {
    if (name) throw new UsageError('give a context NAME or --current, not both', 'config');
    name = currentContextName(content);
    if (!name) throw new Error('no current context is set');
  }
  if (!name) throw new UsageError('set-context needs a context NAME or --current', 'config');
  noMoreArgs(args, bool(ctx.flags, 'current') ? 0 : 1);
  const { content: next, created } = setContext(content, name, settings);
  writeConfigFile(file, next);
  ctx.io.out(`Context "${name}" ${created ? 'created' : 'modified'}.`);
  return 0;
}

function view(ctx: CommandContext, args: string[]): number {
  noMoreArgs(args, 0);
  const output = str(ctx.flags, 'output') ?? 'yaml';
  if (output !== 'yaml' && output !== 'json') throw new UsageError(`--output must be 'yaml' or 'json' for view, got "${output}"`, 'config');
  const { file, content } = readForDisplay(ctx);
  const current = effectiveCurrent(ctx, content);
  let contexts = content.contexts.map((c) => (file ? resolveContextPaths(c, file) : c));
  if (bool(ctx.flags, 'minify')) {
    contexts = contexts.filter((c) => c.name === current);
    if (!contexts.length) throw new Error(current ? `context was not found for specified context: ${current}` : 'current-context is not set');
  }
  // Only the known keys: those hold names, addresses and paths; other keys in the file are not shown.
  const value = { ...(current ? { currentContext: current } : {}), contexts };
  ctx.io.out(output === 'json' ? toJson(value) : toYaml(value));
  return 0;
}
