// Merged stack logs: every line carries its container's label, partial lines wait for their end.
import { describe, expect, it } from 'vitest';
import type { LogChunk } from './docker/logs.js';
import { mergeLabelledLogs } from './stack-logs.js';

async function* chunks(...parts: [LogChunk['stream'], string][]): AsyncGenerator<LogChunk> {
  for (const [stream, text] of parts) {
    await Promise.resolve();
    yield { stream, data: Buffer.from(text) };
  }
}

async function collect(gen: AsyncGenerator<LogChunk>): Promise<{ stdout: string[]; stderr: string[] }> {
  const out = { stdout: [] as string[], stderr: [] as string[] };
  for await (const c of gen) out[c.stream].push(...c.data.toString().split('\n').filter(Boolean));
  return out;
}

describe('mergeLabelledLogs', () => {
  it('prefixes each whole line with its padded label and joins lines split across chunks', async () => {
    const out = await collect(
      mergeLabelledLogs([
        { label: 'web-1', chunks: chunks(['stdout', 'hel'], ['stdout', 'lo\nsecond\n'], ['stderr', 'oops\n']) },
        { label: 'db-10', chunks: chunks(['stdout', 'ready\nno newline at end']) },
      ]),
    );
    expect(out.stdout.sort()).toEqual(['db-10 | no newline at end', 'db-10 | ready', 'web-1 | hello', 'web-1 | second']);
    expect(out.stderr).toEqual(['web-1 | oops']);
  });

  it('ends at once with no sources', async () => {
    expect(await collect(mergeLabelledLogs([]))).toEqual({ stdout: [], stderr: [] });
  });
});
