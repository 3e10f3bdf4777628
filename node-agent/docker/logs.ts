// Docker's multiplexed log framing (non-TTY containers): 8-byte headers saying stdout or stderr and
// a length. A followed log arrives as a stream, a finished one as one Buffer; both become LogChunks.
import { PassThrough, Readable, Writable } from 'node:stream';

export interface LogChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

const HEADER = 8;
const STREAMS: Record<number, LogChunk['stream'] | undefined> = { 0: 'stdout', 1: 'stdout', 2: 'stderr' };

/** Splits a complete multiplexed buffer. Input without valid headers (a TTY log) is all stdout. */
export function demuxBuffer(buf: Buffer): LogChunk[] {
  const out: LogChunk[] = [];
  let at = 0;
  while (at + HEADER <= buf.length) {
    const stream = STREAMS[buf[at]!];
    if (!stream || buf.readUInt16BE(at + 1) !== 0 || buf[at + 3] !== 0) break;
    const len = buf.readUInt32BE(at + 4);
    out.push({ stream, data: buf.subarray(at + HEADER, at + HEADER + len) });
    at += HEADER + len;
  }
  if (at === 0 && buf.length) return [{ stream: 'stdout', data: buf }];
  return out;
}

type Demux = (source: NodeJS.ReadableStream, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream) => void;

/**
 * An object-mode stream of LogChunks from a live multiplexed stream, in arrival order, demuxed by
 * the engine client's own `modem.demuxStream`. Destroying the result destroys the source; `cancelled`
 * says whether the caller ended the follow (then a torn-down source ends the result without error).
 */
export function demuxLive(source: Readable, demux: Demux, cancelled: () => boolean = () => false): Readable {
  const out = new PassThrough({ objectMode: true });
  const sink = (stream: LogChunk['stream']) =>
    new Writable({
      write(data: Buffer, _enc, done) {
        out.write({ stream, data: Buffer.from(data) } satisfies LogChunk);
        done();
      },
    });
  demux(source, sink('stdout'), sink('stderr'));
  source.once('end', () => out.end());
  // Cancelling a follow tears the response down with a connection error: end quietly, it was asked for.
  source.once('error', (e) => (cancelled() ? out.end() : out.destroy(e)));
  source.once('close', () => {
    if (out.writableEnded || out.destroyed) return;
    if (cancelled()) out.end();
    else out.destroy(new Error('log stream closed before it ended'));
  });
  out.once('close', () => source.destroy());
  return out;
}

/** A finished log as a stream, so `logs()` has one return type whether it followed or not. */
export function chunksStream(chunks: LogChunk[]): Readable {
  return Readable.from(chunks);
}
