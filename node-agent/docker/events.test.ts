// The engine's event stream: JSON objects split or joined across chunks must come out whole, once each.
import { describe, expect, it } from 'vitest';
import { decodeJsonLines } from './events.js';

async function decode(chunks: (string | Buffer)[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const e of decodeJsonLines(
    (async function* () {
      yield* chunks;
    })(),
  ))
    out.push(e);
  return out;
}

const a = { Type: 'container', Action: 'start', id: 'a' };
const b = { Type: 'container', Action: 'die', id: 'b', Actor: { Attributes: { name: 'é' } } };
const lines = `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`;

describe('decodeJsonLines', () => {
  it.each<[string, (string | Buffer)[]]>([
    ['one object per chunk', [`${JSON.stringify(a)}\n`, `${JSON.stringify(b)}\n`]],
    ['two objects joined in one chunk', [lines]],
    ['an object split across chunks', [lines.slice(0, 10), lines.slice(10, 50), lines.slice(50)]],
    ['a final object without a newline', [`${JSON.stringify(a)}\n${JSON.stringify(b)}`]],
    ['blank lines between objects', [`\n${JSON.stringify(a)}\n\n`, `${JSON.stringify(b)}\n`]],
  ])('decodes %s', async (_case, chunks) => {
    expect(await decode(chunks)).toEqual([a, b]);
  });

  it('keeps a multi-byte character split between two Buffer chunks intact', async () => {
    const bytes = Buffer.from(lines);
    const at = bytes.indexOf(Buffer.from('é')) + 1; // inside the two-byte é
    expect(await decode([bytes.subarray(0, at), bytes.subarray(at)])).toEqual([a, b]);
  });
});
