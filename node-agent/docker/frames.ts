// Docker's stdout/stderr framing of an attached stream without a TTY (8-byte headers: stream, length),
// decoded incrementally: a header or payload may be split across socket reads or several share one.
import { Transform } from 'node:stream';
import type { LogChunk } from './logs.js';

const HEADER = 8;
const STREAMS: Record<number, LogChunk['stream'] | undefined> = { 0: 'stdout', 1: 'stdout', 2: 'stderr' };

/** A frame header naming no known stream: the input is not Docker's framing. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** Takes socket reads in order; returns the complete payload pieces each read finishes or continues. */
export class FrameDecoder {
  private header = Buffer.alloc(0);
  private stream: LogChunk['stream'] = 'stdout';
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;

  push(buf: Buffer): LogChunk[] {
    const out: LogChunk[] = [];
    let at = 0;
    while (at < buf.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, buf.length - at);
        out.push({ stream: this.stream, data: buf.subarray(at, at + n) });
        this.remaining -= n;
        at += n;
        continue;
      }
      const need = HEADER - this.header.length;
      this.header = Buffer.concat([this.header, buf.subarray(at, at + need)]);
      at += Math.min(need, buf.length - at);
      if (this.header.length < HEADER) break;
      const stream = STREAMS[this.header[0]!];
      if (!stream) throw new FrameError(`unknown stream ${this.header[0]} in an exec frame header`);
      this.stream = stream;
      this.remaining = this.header.readUInt32BE(4);
      this.header = Buffer.alloc(0);
    }
    return out;
  }

  /** Whether the input so far ended on a frame boundary. */
  get atBoundary(): boolean {
    return this.remaining === 0 && this.header.length === 0;
  }
}

/** Bytes in, object-mode LogChunks out, with backpressure both ways; a raw (TTY) stream is all stdout. */
export function execOutput(opts: { tty: boolean }): Transform {
  const decoder = opts.tty ? undefined : new FrameDecoder();
  return new Transform({
    readableObjectMode: true,
    transform(buf: Buffer, _enc, done) {
      try {
        if (!decoder) return done(null, { stream: 'stdout', data: Buffer.from(buf) } satisfies LogChunk);
        for (const c of decoder.push(buf)) this.push({ stream: c.stream, data: Buffer.from(c.data) } satisfies LogChunk);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
}
