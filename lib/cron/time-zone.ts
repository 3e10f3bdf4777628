// UTC offsets of IANA time zones from the runtime's tz database (Intl), and the instants where they
// change: what the cron schedule needs to map wall-clock times across daylight-saving transitions.

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    // Throws RangeError for an unknown zone: callers validate the zone first.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The zone's offset from UTC in milliseconds at instant `ms` (wall clock = ms + offset). */
export function offsetAt(tz: string, ms: number): number {
  if (tz === 'UTC') return 0;
  const p: Record<string, string> = {};
  for (const { type, value } of formatterFor(tz).formatToParts(ms)) p[type] = value;
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return wall - Math.floor(ms / 1000) * 1000;
}

/**
 * The first instant in (fromMs, toMs] whose offset differs from `offset`, or undefined if the offset
 * holds throughout. Probes once a day (no zone changes its offset twice within a day) and then
 * bisects to the millisecond.
 */
export function firstOffsetChange(tz: string, fromMs: number, toMs: number, offset: number): number | undefined {
  let lo = fromMs;
  let hi = Math.min(fromMs + DAY_MS, toMs);
  while (offsetAt(tz, hi) === offset) {
    if (hi >= toMs) return undefined;
    lo = hi;
    hi = Math.min(hi + DAY_MS, toMs);
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (offsetAt(tz, mid) === offset) lo = mid;
    else hi = mid;
  }
  return hi;
}
