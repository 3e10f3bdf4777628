// Demultiplexing Docker's log framing, for finished logs (one Buffer) and live ones (a stream).
import { PassThrough } from 'node:stream';
import Dockerode from 'dockerode';
import { describe, expect, it, vi } from 'vitest';
import { demuxBuffer, demuxLive, type LogChunk } from './logs.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const data = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

const text = (chunks: LogChunk[]) => chunks.map((c) => `${c.stream}:${c.data.toString()}`);

describe('demuxBuffer', () => {
  it('splits frames into stdout and stderr chunks in order', () => {
    const buf = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]);
    expect(text(demuxBuffer(buf))).toEqual(['stdout:out 1\n', 'stderr:err 1\n', 'stdout:out 2\n']);
  });

  it('returns nothing for an empty log', () => {
    expect(demuxBuffer(Buffer.alloc(0))).toEqual([]);
  });

  it('treats a log without frame headers (a TTY container) as stdout', () => {
    expect(text(demuxBuffer(Buffer.from('plain text\n')))).toEqual(['stdout:plain text\n']);
  });
});

describe('demuxLive', () => {
  const modem = new Dockerode({ socketPath: '/nonexistent' }).modem;
  const demux = modem.demuxStream.bind(modem);

  it('demuxes frames split across chunks and ends when the source ends', async () => {
    const source = new PassThrough();
    const out = demuxLive(source, demux);
    const bytes = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(1, 'world\n')]);
    // Cuts inside a header, inside a payload, and between frames.
    const cuts = [0, 3, 11, 17, bytes.length];
    for (let i = 1; i < cuts.length; i++) source.write(bytes.subarray(cuts[i - 1], cuts[i]));
    source.end();
    const chunks: LogChunk[] = [];
    for await (const c of out) chunks.push(c as LogChunk);
    expect(text(chunks).join('')).toBe('stdout:hello stderr:oops\nstdout:world\n');
  });

  it('destroys the source when the consumer stops reading', async () => {
    const source = new PassThrough();
    const out = demuxLive(source, demux);
    source.write(frame(1, 'line\n'));
    for await (const _ of out) break;
    await vi.waitFor(() => expect(source.destroyed).toBe(true));
  });
});
