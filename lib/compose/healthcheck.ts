// Compose `healthcheck:` → Docker's form: test as ["CMD", …], ["CMD-SHELL", "…"] or ["NONE"], durations in ms.
import { parseDuration } from '../api/duration.js';
import { HEALTHCHECK_KEYS } from './keys.js';
import type { ComposeHealthcheck } from './model.js';
import { checkKeys, child, readBoolean, readCount, readMap, readScalarString, readString, wrongType, type Problems } from './raw.js';

function durationMs(v: unknown, path: string, p: Problems): number | undefined {
  const s = readString(v, path, p);
  if (s === undefined) return undefined;
  const ms = parseDuration(s);
  if (ms === undefined) p.at(path, `invalid duration ${JSON.stringify(s)}: use a Go duration such as "1m30s", "5s" or "500ms"`);
  return ms;
}

function testCommand(v: unknown, path: string, p: Problems): string[] | undefined {
  if (typeof v === 'string') return ['CMD-SHELL', v];
  if (!Array.isArray(v)) {
    wrongType(p, path, 'a string or a list', v);
    return undefined;
  }
  const test = v.map((x, i) => readScalarString(x, `${path}[${i}]`, p) ?? '');
  const [kind] = test;
  if (kind === 'NONE' || ((kind === 'CMD' || kind === 'CMD-SHELL') && test.length > 1)) return test;
  p.at(path, 'must start with "CMD" or "CMD-SHELL" followed by the command, or be ["NONE"]');
  return undefined;
}

export function parseHealthcheck(v: unknown, path: string, p: Problems): ComposeHealthcheck | undefined {
  const m = readMap(v, path, p);
  if (!m) return undefined;
  checkKeys(m, path, HEALTHCHECK_KEYS, p);
  if (readBoolean(m['disable'], child(path, 'disable'), p)) {
    if (m['test'] !== undefined) p.at(path, 'test and disable: true are mutually exclusive');
    return { test: ['NONE'] };
  }
  // Without test the image's HEALTHCHECK command stays and only its timings change; Docker's
  // API spells "inherit the command" as an empty test.
  const test = m['test'] === undefined || m['test'] === null ? [] : testCommand(m['test'], child(path, 'test'), p);
  if (!test) return undefined;
  const hc: ComposeHealthcheck = { test };
  const interval = durationMs(m['interval'], child(path, 'interval'), p);
  const timeout = durationMs(m['timeout'], child(path, 'timeout'), p);
  const startPeriod = durationMs(m['start_period'], child(path, 'start_period'), p);
  durationMs(m['start_interval'], child(path, 'start_interval'), p);
  const retries = readCount(m['retries'], child(path, 'retries'), p);
  if (interval !== undefined) hc.intervalMs = interval;
  if (timeout !== undefined) hc.timeoutMs = timeout;
  if (retries !== undefined) hc.retries = retries;
  if (startPeriod !== undefined) hc.startPeriodMs = startPeriod;
  return hc;
}
