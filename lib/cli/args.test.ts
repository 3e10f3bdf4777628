// Command-line parsing: command discovery, strict flags, boolean values, env fallbacks.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, splitCommand } from './args.js';
import type { FlagSpecs } from './command.js';
import { UsageError } from './usage-error.js';

const flags: FlagSpecs = {
  output: { type: 'string', short: 'o', description: 'format' },
  wait: { type: 'boolean', description: 'wait' },
  timeout: { type: 'string', default: '60s', description: 't' },
  token: { type: 'string', env: 'PERSYS_TOKEN', description: 'token' },
  filename: { type: 'string', short: 'f', multiple: true, description: 'f' },
};

describe('splitCommand', () => {
  it('finds the command after global flags and their values', () => {
    expect(splitCommand(['-n', 'shop', '--server=h:1', '--config', 'c.yaml', 'get', 'ct'])).toEqual({
      name: 'get',
      rest: ['-n', 'shop', '--server=h:1', '--config', 'c.yaml', 'ct'],
    });
  });
  it('returns no name when there are only flags', () => {
    expect(splitCommand(['--help']).name).toBeUndefined();
  });
});

describe('parseCommandLine', () => {
  it('parses command and global flags together, in any order', () => {
    const p = parseCommandLine(['ct', '-o', 'yaml', '-n', 'shop', 'web', '-f', 'a', '-f', '-'], flags, 'get', {});
    expect(p.positionals).toEqual(['ct', 'web']);
    expect(p.flags.output).toBe('yaml');
    expect(p.flags.filename).toEqual(['a', '-']);
    expect(p.globals.namespace).toBe('shop');
  });

  it('rejects an unknown flag with a usage error naming it', () => {
    expect(() => parseCommandLine(['--bogus'], flags, 'get', {})).toThrow(new UsageError('unknown flag: --bogus', 'get'));
  });

  it('rejects a string flag without its value', () => {
    expect(() => parseCommandLine(['-o'], flags, 'get', {})).toThrow(/flag needs an argument: -o, --output/);
  });

  it('accepts --flag=true and --flag=false for booleans', () => {
    expect(parseCommandLine(['--wait=true'], flags, 'delete', {}).flags.wait).toBe(true);
    expect(parseCommandLine(['--wait=false'], flags, 'delete', {}).flags.wait).toBe(false);
    expect(() => parseCommandLine(['--wait=maybe'], flags, 'delete', {})).toThrow(/invalid value "maybe" for --wait/);
  });

  it('falls back to the environment variable, then the default; a flag wins over both', () => {
    const env = { PERSYS_TOKEN: 'from-env' };
    expect(parseCommandLine([], flags, 'x', env).flags).toMatchObject({ token: 'from-env', timeout: '60s' });
    expect(parseCommandLine(['--token', 'flag', '--timeout', '5s'], flags, 'x', env).flags).toMatchObject({
      token: 'flag',
      timeout: '5s',
    });
  });

  it('reports --help', () => {
    expect(parseCommandLine(['-h'], flags, 'get', {}).help).toBe(true);
  });
});
