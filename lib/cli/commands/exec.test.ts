// `persys exec` flags as kubectl spells them (-i, -t, -it, --stdin, --tty=false), what they come to
// with and without a terminal, and standard input cut into pieces the API server takes.
import { describe, expect, it } from 'vitest';
import { MAX_STDIN_CHUNK, stdinInputs } from '../../client/operations.js';
import { parseCommandLine } from '../args.js';
import { execCommand, execMode, NO_TTY_WARNING } from './exec.js';

const parse = (args: string[]) => {
  const p = parseCommandLine(args, execCommand.flags!, 'exec', {});
  return { stdin: p.flags.stdin === true, tty: p.flags.tty === true, positionals: p.positionals, namespace: p.globals.namespace };
};

describe('exec flags', () => {
  it.each<[string[], { stdin: boolean; tty: boolean }]>([
    [['container/web', '--', 'sh'], { stdin: false, tty: false }],
    [['-i', 'container/web', '--', 'cat'], { stdin: true, tty: false }],
    [['-t', 'container/web', '--', 'sh'], { stdin: false, tty: true }],
    [['-it', 'container/web', '--', 'sh'], { stdin: true, tty: true }],
    [['-ti', 'container/web', '--', 'sh'], { stdin: true, tty: true }],
    [['-i', '-t', 'container/web', '--', 'sh'], { stdin: true, tty: true }],
    [['--stdin', '--tty', 'container/web', '--', 'sh'], { stdin: true, tty: true }],
    [['-it', '--tty=false', 'container/web', '--', 'sh'], { stdin: true, tty: false }],
    [['container/web', '-it', '-n', 'shop', '--', 'sh'], { stdin: true, tty: true }],
  ])('%j', (args, want) => {
    expect(parse(args)).toMatchObject(want);
  });

  it('leaves flags after -- to the command', () => {
    expect(parse(['-i', 'container/web', '--', 'ls', '-it'])).toMatchObject({ stdin: true, tty: false, positionals: ['container/web', 'ls', '-it'] });
  });

  it('takes -n together with -it', () => {
    expect(parse(['-it', '-n', 'shop', 'container/web', '--', 'sh'])).toMatchObject({ namespace: 'shop', stdin: true, tty: true });
  });
});

describe('execMode', () => {
  it.each<[string, { stdin: boolean; tty: boolean }, boolean, ReturnType<typeof execMode>]>([
    ['neither', { stdin: false, tty: false }, true, { stdin: false, tty: false }],
    ['-i', { stdin: true, tty: false }, false, { stdin: true, tty: false }],
    ['-it on a terminal', { stdin: true, tty: true }, true, { stdin: true, tty: true }],
    ['-it on a pipe: warned, no TTY', { stdin: true, tty: true }, false, { stdin: true, tty: false, warning: NO_TTY_WARNING }],
    ['-t without -i (kubectl drops it)', { stdin: false, tty: true }, true, { stdin: false, tty: false }],
  ])('%s', (_, flags, terminal, want) => {
    expect(execMode(flags, terminal)).toEqual(want);
  });
});

describe('stdinInputs', () => {
  it.each<[string, number, number[]]>([
    ['nothing', 0, []],
    ['one byte', 1, [1]],
    ['exactly the limit', MAX_STDIN_CHUNK, [MAX_STDIN_CHUNK]],
    ['one byte over', MAX_STDIN_CHUNK + 1, [MAX_STDIN_CHUNK, 1]],
    ['three and a half pieces', 3.5 * MAX_STDIN_CHUNK, [MAX_STDIN_CHUNK, MAX_STDIN_CHUNK, MAX_STDIN_CHUNK, MAX_STDIN_CHUNK / 2]],
  ])('cuts %s into pieces of at most 64 KiB, in order', (_, size, pieces) => {
    const data = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
    const inputs = stdinInputs(data);
    expect(inputs.map((i) => (i.input?.$case === 'stdin' ? i.input.value.length : -1))).toEqual(pieces);
    expect(Buffer.concat(inputs.map((i) => (i.input as { value: Buffer }).value))).toEqual(data);
  });

  it('sends text as UTF-8', () => {
    expect(stdinInputs('héllo')).toEqual([{ input: { $case: 'stdin', value: Buffer.from('héllo') } }]);
  });
});
