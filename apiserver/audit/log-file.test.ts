// The audit log file on a real file system: appended lines, rotation by size, backups kept.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLogFile } from './log-file.js';

describe('AuditLogFile', () => {
  it('rotates at the size limit and keeps only maxBackups older files, losing no line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persys-audit-'));
    const path = join(dir, 'audit.log');
    const log = new AuditLogFile(path, { maxBytes: 1000, maxBackups: 2 });
    const line = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(80) });
    for (let i = 0; i < 40; i++) log.write(line(i));
    await log.close();
    expect(readdirSync(dir).sort()).toEqual(['audit.log', 'audit.log.1', 'audit.log.2']);
    const kept = ['audit.log.2', 'audit.log.1', 'audit.log'].flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
    const numbers = kept.map((l) => (JSON.parse(l) as { i: number }).i);
    // The newest lines, in order, with nothing missing between the oldest kept and the last.
    expect(numbers.at(-1)).toBe(39);
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, k) => 40 - numbers.length + k));
    for (const f of ['audit.log', 'audit.log.1']) expect(readFileSync(join(dir, f)).length).toBeLessThanOrEqual(1000);
  });

  it('appends to an existing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persys-audit-'));
    const path = join(dir, 'audit.log');
    const first = new AuditLogFile(path);
    first.write('{"a":1}');
    await first.close();
    const second = new AuditLogFile(path);
    second.write('{"a":2}');
    await second.close();
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
  });
});
