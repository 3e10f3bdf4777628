import { describe, expect, it } from 'vitest';
import { LineWriter } from './lines.js';

describe('LineWriter', () => {
  it('prints a line split across chunks once, whole, and flushes an unterminated tail', () => {
    const out: string[] = [];
    const w = new LineWriter((l) => out.push(l));
    w.push(Buffer.from('hel'));
    w.push(Buffer.from('lo\nwor'));
    expect(out).toEqual(['hello']);
    w.push(Buffer.from('ld\n\nend'));
    w.flush();
    expect(out).toEqual(['hello', 'world', '', 'end']);
  });

  it('keeps a multi-byte character split between chunks intact', () => {
    const out: string[] = [];
    const w = new LineWriter((l) => out.push(l));
    const bytes = Buffer.from('é\n');
    w.push(bytes.subarray(0, 1));
    w.push(bytes.subarray(1));
    expect(out).toEqual(['é']);
  });
});
