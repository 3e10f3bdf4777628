// --help text for `persys` and each command, listing flags with their defaults and env fallbacks.
import { GLOBAL_FLAGS } from './args.js';
import type { Command, FlagSpecs } from './command.js';
import type { CommandEntry } from './commands/index.js';

export function topLevelUsage(commands: Iterable<CommandEntry>): string {
  const cmds = [...commands];
  const width = Math.max(...cmds.map((c) => c.name.length), 8) + 3;
  return [
    'persys drives Docker hosts to the state declared in manifests (a Kubernetes-style reconciler).',
    '',
    'Usage:',
    '  persys COMMAND [ARGS] [flags]',
    '',
    'Commands:',
    ...cmds.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Global flags:',
    formatFlags(GLOBAL_FLAGS),
    '',
    'Use "persys COMMAND --help" for more information about a command.',
  ].join('\n');
}

export function commandUsage(summary: string, cmd: Command): string {
  const lines = [summary, '', 'Usage:', ...cmd.usage.split('\n').map((l) => `  ${l}`)];
  if (cmd.description) lines.push('', cmd.description.trimEnd());
  if (cmd.flags && Object.keys(cmd.flags).length) lines.push('', 'Flags:', formatFlags(cmd.flags));
  lines.push('', 'Global flags:', formatFlags(GLOBAL_FLAGS));
  return lines.join('\n');
}

function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const short = s.short ? `-${s.short}, ` : '    ';
    const value = s.type === 'string' ? ` ${s.valueName ?? 'VALUE'}` : '';
    const notes: string[] = [];
    if (s.default !== undefined && s.default !== false) notes.push(`default ${JSON.stringify(s.default)}`);
    if (s.env) notes.push(`env ${s.env}`);
    if (s.multiple) notes.push('repeatable');
    return [`  ${short}--${name}${value}`, s.description + (notes.length ? ` (${notes.join('; ')})` : '')] as const;
  });
  const width = Math.max(...rows.map((r) => r[0].length)) + 3;
  return rows.map(([left, right]) => left.padEnd(width) + right).join('\n');
}
