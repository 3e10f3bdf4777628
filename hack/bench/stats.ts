// Summary statistics for benchmark samples (latencies in ms): nearest-rank percentiles, so a
// reported p99 is a delay that was actually observed, never an interpolated one.

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of ascending-sorted samples; NaN for no samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  if (p <= 0) return sorted[0]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function summarize(samples: ArrayLike<number>): Summary {
  // A Float64Array sorts numerically and keeps 40,000 samples compact.
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    min: n ? sorted[0]! : NaN,
    mean: n ? sum / n : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1]! : NaN,
  };
}

/** Objects per second, for a count done in `ms` milliseconds. */
export function rate(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : NaN;
}

/** A number for the report: fixed decimals, or "n/a" for NaN. */
export function fmt(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

/** `v` rounded to `digits` decimals, as a number for JSON reports; NaN stays NaN. */
export function roundTo(v: number, digits = 2): number {
  return Number.isFinite(v) ? Number(v.toFixed(digits)) : NaN;
}

/** How a figure varied over the rounds of a benchmark: the median, the range and its width. */
export interface Spread {
  rounds: number;
  median: number;
  min: number;
  max: number;
  spread: number;
}

/** The Spread of the values measured (undefined ones were not); undefined when there are none. */
export function spreadOf(values: readonly (number | undefined)[], digits = 2): Spread | undefined {
  const v = values.filter((x): x is number => x !== undefined);
  if (!v.length) return undefined;
  const s = summarize(v);
  return { rounds: s.count, median: roundTo(s.p50, digits), min: roundTo(s.min, digits), max: roundTo(s.max, digits), spread: roundTo(s.max - s.min, digits) };
}
