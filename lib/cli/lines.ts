// Streamed output (log chunks, exec output) written through the CLI's line-based Io: bytes are
// gathered until a newline, so a line split across chunks is printed whole.
export class LineWriter {
  private partial = '';
  private readonly decoder = new TextDecoder();

  constructor(private readonly write: (line: string) => void) {}

  push(data: Uint8Array): void {
    const text = this.partial + this.decoder.decode(data, { stream: true });
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    for (const l of lines) this.write(l);
  }

  /** Prints what is left without a trailing newline in the source. */
  flush(): void {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    if (rest) this.write(rest);
  }
}
