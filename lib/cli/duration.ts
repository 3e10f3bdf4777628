// Durations given to flags such as --timeout ("60s", "2m", "1m30s", "500ms"; a bare number is seconds).
import { parseDuration as parseGoDuration } from '../api/duration.js';
import { UsageError } from './usage-error.js';

/** Milliseconds in `text`; UsageError naming `flag` when malformed. */
export function parseDuration(text: string, flag: string, command = ''): number {
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseGoDuration(text);
  if (ms === undefined) throw new UsageError(`invalid duration "${text}" for --${flag}: use e.g. 30s, 2m, 1m30s`, command);
  return ms;
}
