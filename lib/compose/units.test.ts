// The value formats compose borrows from Go: shell words, durations and byte sizes.
import { describe, expect, it } from 'vitest';
import { parseComposeBytes } from './bytes.js';
import { parseDuration } from '../api/duration.js';
import { ShellWordsError, splitShellWords } from './shell-words.js';

describe('splitShellWords', () => {
  it.each([
    ['words on whitespace', 'nginx -g  daemon', ['nginx', '-g', 'daemon']],
    ['single quotes literally', `sh -c 'echo "$HOME" \\n'`, ['sh', '-c', 'echo "$HOME" \\n']],
    ['double quotes with escapes', 'echo "a \\"b\\" c"', ['echo', 'a "b" c']],
    ['a backslash-escaped space', 'ls my\\ dir', ['ls', 'my dir']],
    ['an empty quoted word', `printf '' x`, ['printf', '', 'x']],
    ['adjacent quoted parts as one word', `a'b'"c"d`, ['abcd']],
    ['shell operators as plain words (no shell runs)', 'a && b | c', ['a', '&&', 'b', '|', 'c']],
    ['nothing from blank input', '   ', []],
  ])('splits %s', (_name, line, words) => {
    expect(splitShellWords(line)).toEqual(words);
  });

  it('refuses an unterminated quote', () => {
    expect(() => splitShellWords(`sh -c 'echo`)).toThrow(ShellWordsError);
    expect(() => splitShellWords(`sh -c "echo`)).toThrow('unterminated double quote');
  });
});

describe('parseDuration', () => {
  it.each([
    ['5s', 5000], ['1m30s', 90_000], ['500ms', 500], ['1h', 3_600_000], ['1.5s', 1500], ['250us', 0.25], ['0', 0], ['2h1m0.5s', 7_260_500],
  ])('reads %s as %d ms', (s, ms) => expect(parseDuration(s)).toBe(ms));

  it.each(['', '5', '10x', '-5s', '1m 30s', 's'])('rejects %j', (s) => expect(parseDuration(s)).toBeUndefined());
});

describe('parseComposeBytes', () => {
  it.each<[unknown, number]>([
    ['512M', 512 * 1024 ** 2], ['1g', 1024 ** 3], ['100k', 102_400], ['2GiB', 2 * 1024 ** 3], ['64mb', 64 * 1024 ** 2],
    ['1.5g', 1.5 * 1024 ** 3], ['100', 100], ['10b', 10], [4096, 4096],
  ])('reads %j as %d bytes', (v, n) => expect(parseComposeBytes(v)).toBe(n));

  it.each<unknown>(['10XB', 'abc', '-1m', 1.5, -1, true, ''])('rejects %j', (v) => expect(parseComposeBytes(v)).toBeUndefined());
});
