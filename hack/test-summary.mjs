// Reads vitest's JSON report and prints the truth about a run, ending with the one line CI reads:
// "N passed, N failed". Failed counts tests, not suites: a failing test inside two describe blocks
// is one failure. A file that failed with no failing test (an import error, a failing beforeAll) is
// one failure, and so is an exit code vitest gave with nothing failed (unhandled errors). Skipped
// and todo tests are listed by name, never hidden.
// Usage: node hack/test-summary.mjs REPORT.json VITEST_EXIT_CODE; exits 1 when anything failed.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [reportPath, exitArg] = process.argv.slice(2);
const vitestExit = Number(exitArg ?? 0);
const report = JSON.parse(readFileSync(reportPath, 'utf8'));

const failedTests = [];
const failedFiles = [];
const skipped = [];
let passed = 0;
for (const file of report.testResults ?? []) {
  const name = relative(process.cwd(), file.name);
  let failedHere = 0;
  for (const t of file.assertionResults ?? []) {
    const title = `${name} > ${[...(t.ancestorTitles ?? []), t.title].join(' > ')}`;
    if (t.status === 'passed') passed++;
    else if (t.status === 'failed') {
      failedHere++;
      failedTests.push(title);
    } else skipped.push(`${title} (${t.status})`);
  }
  if (file.status === 'failed' && failedHere === 0) failedFiles.push(`${name}: ${firstLine(file.message) || 'failed outside any test'}`);
}

const lines = [];
if (skipped.length > 0) lines.push(`${skipped.length} skipped:`, ...skipped.map((s) => `  ${s}`));
if (failedTests.length > 0) lines.push(`${failedTests.length} failed tests:`, ...failedTests.map((s) => `  ${s}`));
if (failedFiles.length > 0) lines.push(`${failedFiles.length} files failed outside their tests:`, ...failedFiles.map((s) => `  ${s}`));
let failed = failedTests.length + failedFiles.length;
if (vitestExit !== 0 && failed === 0) {
  lines.push(`vitest exited with ${vitestExit} although no test failed: unhandled errors (see "Unhandled Errors" above)`);
  failed = 1;
}
for (const line of lines) console.log(line);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

function firstLine(text) {
  return String(text ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}
