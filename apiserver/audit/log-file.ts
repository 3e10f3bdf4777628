// The audit log file: JSON lines appended in order, rotated by size (FILE → FILE.1 → … → FILE.N, the
// oldest dropped), as kube-apiserver's --audit-log-maxsize and --audit-log-maxbackup. Writing never
// holds a request back: lines queue in memory, and beyond a bound they are dropped and counted.
import { createWriteStream, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export interface AuditLogFileOptions {
  /** Rotate once the file reaches this size. @default 100 MiB */
  maxBytes?: number;
  /** Rotated files kept. @default 5 */
  maxBackups?: number;
  /** Lines waiting for the disk beyond which new ones are dropped. @default 16 MiB */
  maxQueuedBytes?: number;
}

export class AuditLogFile {
  private stream: WriteStream;
  private size: number;
  private readonly maxBytes: number;
  private readonly maxBackups: number;
  private readonly maxQueuedBytes: number;
  /** Lines dropped because the disk did not keep up. */
  dropped = 0;

  constructor(
    readonly path: string,
    opts: AuditLogFileOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.maxBackups = opts.maxBackups ?? 5;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 16 * 1024 * 1024;
    mkdirSync(dirname(path), { recursive: true });
    this.size = 0;
    this.stream = this.open();
  }

  private open(): WriteStream {
    // Opened now, not when the stream gets to it: a rename at rotation must find the file open, so
    // the old stream's queued lines land in the renamed file.
    const fd = openSync(this.path, 'a', 0o600);
    this.size = fstatSync(fd).size;
    const s = createWriteStream('', { fd });
    // A failing disk must not crash the API server; the failure shows as dropped lines.
    s.on('error', () => this.dropped++);
    return s;
  }

  write(line: string): void {
    if (this.stream.writableLength > this.maxQueuedBytes) {
      this.dropped++;
      return;
    }
    const text = `${line}\n`;
    if (this.size > 0 && this.size + Buffer.byteLength(text) > this.maxBytes) this.rotate();
    this.stream.write(text);
    this.size += Buffer.byteLength(text);
  }

  private rotate(): void {
    // The old stream keeps its descriptor and finishes its queued lines into the renamed file.
    this.stream.end();
    if (this.maxBackups === 0) rmSync(this.path, { force: true });
    else {
      rmSync(`${this.path}.${this.maxBackups}`, { force: true });
      for (let i = this.maxBackups - 1; i >= 1; i--) {
        if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      }
      if (existsSync(this.path)) renameSync(this.path, `${this.path}.1`);
    }
    this.size = 0;
    this.stream = this.open();
  }

  /** Flushes queued lines and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
