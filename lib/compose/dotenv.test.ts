import { describe, expect, it } from 'vitest';
import { parseDotEnv } from './dotenv.js';

describe('parseDotEnv reads the .env format as Compose does', () => {
  it.each<[string, string, Record<string, string>, Record<string, string>?]>([
    ['KEY=VALUE lines', 'A=1\nB=two', { A: '1', B: 'two' }],
    ['blank lines and comments skipped', '# top\n\nA=1\n   # indented\n', { A: '1' }],
    ['an export prefix', 'export A=1\nexport  B=2', { A: '1', B: '2' }],
    ['spaces around = and the value trimmed', 'A = 1 \n', { A: '1' }],
    ['an inline comment after whitespace, a # inside a value kept', 'A=1 # one\nB=a#b', { A: '1', B: 'a#b' }],
    ['an empty value', 'A=\nB=""', { A: '', B: '' }],
    ['a = inside the value', 'URL=postgres://u:p@db/x?a=b', { URL: 'postgres://u:p@db/x?a=b' }],
    ['a colon as the separator', 'A: 1', { A: '1' }],
    ['single quotes literal', "A='x $B \\n # not a comment'", { A: 'x $B \\n # not a comment' }],
    ['double quotes with escapes and a comment after', 'A="line1\\nline2 \\"q\\" \\\\" # c', { A: 'line1\nline2 "q" \\' }],
    ['a quoted value across lines', 'A="one\ntwo"\nB=3', { A: 'one\ntwo', B: '3' }],
    ['expansion from the stack variables before the file\'s', 'A=file\nB=${A}-$C\nC2=${MISSING:-dflt}', { A: 'file', B: 'env-', C2: 'dflt' }, { A: 'env' }],
    ['expansion from earlier lines', 'A=1\nB=${A}2', { A: '1', B: '12' }],
    ['$$ and \\$ as a literal $ in double quotes', 'A=pa$$word\nB="c\\$d"', { A: 'pa$word', B: 'c$d' }],
    ['a bare key from the stack variables, left out when unset', 'A\nB', { A: 'from-env' }, { A: 'from-env' }],
    ['CRLF line ends', 'A=1\r\nB=2\r\n', { A: '1', B: '2' }],
  ])('%s', (_name, text, expected, env = {}) => {
    expect(parseDotEnv(text, env)).toEqual(expected);
  });

  it.each([
    ['a bad variable name, with its line', 'A=1\n\n1A=2', 'line 3: invalid variable name "1A"'],
    ['an unterminated single quote', "A='x", "line 1: unterminated single quote in the value of A"],
    ['a required variable that is unset', 'A=${NEED:?set NEED}', 'line 1: required variable NEED is missing a value: set NEED'],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parseDotEnv(text, {})).toThrow(message);
  });
});
