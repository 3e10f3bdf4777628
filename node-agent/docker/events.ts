// Decoding of the engine's event stream: newline-delimited JSON whose objects may be split across
// chunks or several to a chunk (and a multi-byte character may be split too).
import { StringDecoder } from 'node:string_decoder';

/** One engine event (the fields persys reads; the engine sends more). */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope?: string;
  time: number;
  timeNano: number;
  [field: string]: unknown;
}

export async function* decodeJsonLines<T = DockerEvent>(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<T> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield JSON.parse(line) as T;
    }
  }
  const rest = (pending + decoder.end()).trim();
  if (rest) yield JSON.parse(rest) as T;
}
