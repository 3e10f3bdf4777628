// Incremental decoding of Docker's stdout/stderr framing, however the socket splits it.
import { describe, expect, it } from 'vitest';
import { execOutput, FrameDecoder } from './frames.js';
import type { LogChunk } from './logs.js';

const frame = (stream: number, text: string) => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

/** Joins consecutive pieces of the same stream, so cases compare what was said, not how it was cut. */
const merged = (chunks: LogChunk[]) =>
  chunks.reduce<[string, string][]>((acc, c) => {
    const last = acc.at(-1);
    if (last && last[0] === c.stream) last[1] += c.data.toString();
    else acc.push([c.stream, c.data.toString()]);
    return acc;
  }, []);

const wire = Buffer.concat([frame(1, 'hello\n'), frame(2, 'oops\n'), frame(1, ''), frame(1, 'bye')]);
const want: [string, string][] = [
  ['stdout', 'hello\n'],
  ['stderr', 'oops\n'],
  ['stdout', 'bye'],
];

describe('FrameDecoder', () => {
  const cases: { name: string; reads: Buffer[] }[] = [
    { name: 'all frames in one read', reads: [wire] },
    { name: 'one byte per read', reads: [...wire].map((b) => Buffer.from([b])) },
    { name: 'a read ending inside a header', reads: [wire.subarray(0, 3), wire.subarray(3)] },
    { name: 'a read ending inside a payload', reads: [wire.subarray(0, 11), wire.subarray(11, 20), wire.subarray(20)] },
    { name: 'reads of 7 bytes', reads: Array.from({ length: Math.ceil(wire.length / 7) }, (_, i) => wire.subarray(i * 7, i * 7 + 7)) },
  ];
  it.each(cases)('decodes $name', ({ reads }) => {
    const d = new FrameDecoder();
    expect(merged(reads.flatMap((r) => d.push(r)))).toEqual(want);
    expect(d.atBoundary).toBe(true);
  });

  it('says when the input stopped inside a frame', () => {
    const d = new FrameDecoder();
    d.push(frame(1, 'abc').subarray(0, 9));
    expect(d.atBoundary).toBe(false);
  });

  it('refuses a header naming no stream', () => {
    expect(() => new FrameDecoder().push(Buffer.from([7, 0, 0, 0, 0, 0, 0, 1, 65]))).toThrow(/unknown stream 7/);
  });
});

describe('execOutput', () => {
  const run = async (tty: boolean, reads: Buffer[]) => {
    const t = execOutput({ tty });
    const out: LogChunk[] = [];
    t.on('data', (c: LogChunk) => out.push(c));
    for (const r of reads) t.write(r);
    t.end();
    await new Promise((r) => t.on('end', r));
    return merged(out);
  };

  it('demuxes framed output without a TTY', async () => {
    expect(await run(false, [wire.subarray(0, 5), wire.subarray(5)])).toEqual(want);
  });

  it('passes a TTY stream through as stdout, bytes untouched', async () => {
    expect(await run(true, [Buffer.from('\x1b[1mhi'), Buffer.from('\r\n')])).toEqual([['stdout', '\x1b[1mhi\r\n']]);
  });
});
