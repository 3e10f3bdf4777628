// The logs of several containers as one stream, each line prefixed with its container's name as
// `docker compose logs` does ("web-1  | …"); lines are kept whole per container and stream.
import type { LogChunk } from './docker/logs.js';

export interface LabelledLogs {
  /** What the lines are prefixed with, e.g. "web-1". */
  label: string;
  chunks: AsyncIterable<LogChunk>;
}

/** Merges the sources as their chunks arrive; ends when all have ended or `signal` aborts. */
export async function* mergeLabelledLogs(sources: LabelledLogs[], signal?: AbortSignal): AsyncGenerator<LogChunk> {
  const width = Math.max(0, ...sources.map((s) => s.label.length));
  const iterators = sources.map((s) => ({ label: s.label.padEnd(width), it: s.chunks[Symbol.asyncIterator](), partial: { stdout: '', stderr: '' } }));
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<LogChunk> }>>();
  const pull = (i: number) => pending.set(i, iterators[i]!.it.next().then((r) => ({ i, r })));
  iterators.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0 && !signal?.aborted) {
      const { i, r } = await Promise.race(pending.values());
      const src = iterators[i]!;
      if (r.done) {
        pending.delete(i);
        for (const stream of ['stdout', 'stderr'] as const) {
          if (src.partial[stream]) yield { stream, data: Buffer.from(`${src.label} | ${src.partial[stream]}\n`) };
          src.partial[stream] = '';
        }
        continue;
      }
      const text = src.partial[r.value.stream] + r.value.data.toString('utf8');
      const lines = text.split('\n');
      src.partial[r.value.stream] = lines.pop()!;
      if (lines.length) yield { stream: r.value.stream, data: Buffer.from(lines.map((l) => `${src.label} | ${l}\n`).join('')) };
      pull(i);
    }
  } finally {
    for (const { it } of iterators) void it.return?.(undefined);
  }
}
