// Runs the real `persys` binary (bin/persys.js, the build) once, without a TTY, with an environment
// the test controls entirely: no PERSYS_* variable or HOME of the machine leaks in.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '../../bin/persys.js');

export interface PersysRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runPersys(args: string[], opts: { cwd: string; env?: Record<string, string>; home: string }): Promise<PersysRun> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.home, PERSYS_LOG_LEVEL: 'warn', ...opts.env };
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: opts.cwd, env, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
