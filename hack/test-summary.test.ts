// hack/test-summary.mjs against vitest JSON reports of the shapes that used to be miscounted.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, 'test-summary.mjs');
const dir = mkdtempSync(join(tmpdir(), 'persys-summary-'));

interface Outcome {
  stdout: string;
  code: number;
}

async function summarize(report: object, vitestExit: number): Promise<Outcome> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(report));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, path, String(vitestExit)]);
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; code: number };
    return { stdout: e.stdout, code: e.code };
  }
}

const test = (title: string, status: string, ancestors: string[] = []) => ({ title, status, ancestorTitles: ancestors });
const lastLine = (s: string) => s.trimEnd().split('\n').at(-1);

describe('hack/test-summary.mjs', () => {
  it('counts one failing test inside nested describe blocks as one failure, and names it', async () => {
    const report = {
      numFailedTestSuites: 3,
      testResults: [
        { name: join(process.cwd(), 'a.test.ts'), status: 'failed', assertionResults: [test('x', 'failed', ['outer', 'inner']), test('y', 'passed')] },
        { name: join(process.cwd(), 'b.test.ts'), status: 'passed', assertionResults: [test('z', 'passed')] },
      ],
    };
    const r = await summarize(report, 1);
    expect(lastLine(r.stdout)).toBe('2 passed, 1 failed');
    expect(r.stdout).toContain('a.test.ts > outer > inner > x');
    expect(r.code).toBe(1);
  });

  it('lists skipped and todo tests by name and does not count them as passed', async () => {
    const report = {
      testResults: [{ name: join(process.cwd(), 'c.test.ts'), status: 'passed', assertionResults: [test('s', 'skipped'), test('t', 'todo'), test('p', 'passed')] }],
    };
    const r = await summarize(report, 0);
    expect(r.stdout).toContain('2 skipped:');
    expect(r.stdout).toContain('c.test.ts > s (skipped)');
    expect(lastLine(r.stdout)).toBe('1 passed, 0 failed');
    expect(r.code).toBe(0);
  });

  it('counts a file that failed outside its tests (a failing import or beforeAll) as a failure', async () => {
    const report = {
      testResults: [{ name: join(process.cwd(), 'd.test.ts'), status: 'failed', message: 'Error: cannot find module x\n at …', assertionResults: [test('q', 'skipped')] }],
    };
    const r = await summarize(report, 1);
    expect(r.stdout).toContain('d.test.ts: Error: cannot find module x');
    expect(lastLine(r.stdout)).toBe('0 passed, 1 failed');
  });

  it('never prints "0 failed" when vitest exited non-zero (unhandled errors)', async () => {
    const report = { testResults: [{ name: join(process.cwd(), 'e.test.ts'), status: 'passed', assertionResults: [test('ok', 'passed')] }] };
    const r = await summarize(report, 1);
    expect(r.stdout).toContain('unhandled errors');
    expect(lastLine(r.stdout)).toBe('1 passed, 1 failed');
    expect(r.code).toBe(1);
  });
});
