// What the completion scripts are built from: each command's flags and the first-argument choices
// read from its usage lines.
import { describe, expect, it } from 'vitest';
import { GLOBAL_FLAGS } from './args.js';
import type { Command } from './command.js';
import { CLIENT_COMMANDS } from './commands/index.js';
import { bashCompletion, completionSpec, firstArgChoices, KIND_ARGS } from './completion.js';

const commands = await Promise.all(CLIENT_COMMANDS.map((e) => e.load()));
const byName = (name: string) => commands.find((c) => c.name === name)!;

describe('firstArgChoices', () => {
  it.each([
    ['get', [KIND_ARGS, 'all']],
    ['describe', [KIND_ARGS]],
    ['delete', [KIND_ARGS]],
    ['rollout', ['status', 'history', 'undo', 'restart']],
    ['top', ['nodes', 'containers']],
    ['config', ['get-contexts', 'current-context', 'use-context', 'set-context', 'delete-context', 'view']],
    ['completion', ['bash', 'zsh']],
    ['logs', []],
    ['cordon', []],
    ['apply', []],
  ])('persys %s takes %j', (name, expected) => {
    expect(firstArgChoices(byName(name))).toEqual(expected);
  });
});

describe('completionSpec', () => {
  const spec = completionSpec(commands, GLOBAL_FLAGS);

  it('lists every command, with its long and short flags and which take a value', () => {
    expect(spec.commands.map((c) => c.name)).toEqual(CLIENT_COMMANDS.map((e) => e.name));
    const get = spec.commands.find((c) => c.name === 'get')!;
    expect(get.flags).toEqual(expect.arrayContaining(['--output', '-o', '--watch', '-w', '--all-namespaces', '-A']));
    expect(get.valueFlags).toContain('-o');
    expect(get.valueFlags).not.toContain('-w');
    expect(spec.globalValueFlags).toEqual(expect.arrayContaining(['--context', '-n', '--server']));
  });

  it('names every kind by kind, singular, plural and short name', () => {
    expect(spec.kinds).toEqual(expect.arrayContaining(['ContainerSet', 'containerset', 'containersets', 'cs', 'svc', 'eps']));
  });

  it('refuses to put a word that is not a plain name into a script', () => {
    const bad: Command = { name: 'x', usage: 'persys x', flags: { "a'; rm -rf ~": { type: 'boolean', description: '' } }, run: async () => 0 };
    expect(() => bashCompletion(completionSpec([bad], {}))).toThrow('not a completion word');
  });
});
