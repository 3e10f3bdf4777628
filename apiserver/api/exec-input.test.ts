// Which ExecInputs after the first the API server relays to the agent, and why it refuses the others.
import { describe, expect, it } from 'vitest';
import type { ExecInput } from '../../lib/gen/persys/v1/agent.js';
import { invalidExecInput, MAX_STDIN_CHUNK } from './operations.js';

const start: ExecInput = { input: { $case: 'start', value: { kind: '', namespace: '', name: 'x', command: ['sh'], service: '', stdin: true, tty: true } } };
const stdin = (n: number): ExecInput => ({ input: { $case: 'stdin', value: Buffer.alloc(n) } });

describe('invalidExecInput', () => {
  it.each<[string, { stdin: boolean; tty: boolean }, ExecInput, RegExp | undefined]>([
    ['stdin within the limit', { stdin: true, tty: false }, stdin(MAX_STDIN_CHUNK), undefined],
    ['an empty stdin piece', { stdin: true, tty: false }, stdin(0), undefined],
    ['stdin over 64 KiB', { stdin: true, tty: false }, stdin(MAX_STDIN_CHUNK + 1), /^stdin: at most 65536 bytes per message, got 65537$/],
    ['stdin to an exec started without it', { stdin: false, tty: true }, stdin(1), /^stdin: the exec was started without standard input/],
    ['stdin close', { stdin: true, tty: false }, { input: { $case: 'stdinClose', value: true } }, undefined],
    ['a resize', { stdin: true, tty: true }, { input: { $case: 'resize', value: { width: 80, height: 24 } } }, undefined],
    ['a resize to zero rows', { stdin: true, tty: true }, { input: { $case: 'resize', value: { width: 80, height: 0 } } }, /^resize: width and height/],
    ['a second start', { stdin: true, tty: true }, start, /^start: only the first ExecInput/],
    ['an empty message', { stdin: true, tty: true }, {}, /^input: empty ExecInput/],
  ])('%s', (_, req, input, problem) => {
    const got = invalidExecInput(req, input);
    if (problem) expect(got).toMatch(problem);
    else expect(got).toBeUndefined();
  });
});
