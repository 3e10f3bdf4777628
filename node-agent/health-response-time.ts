// A container's healthcheck response time from the probe results Docker keeps in inspect's State.Health.Log,
// so the autoscaler can scale on how slowly replicas answer without the agent sending probes of its own.

/** One entry of State.Health.Log: RFC 3339 timestamps (nanosecond precision) of one probe. */
export interface HealthProbeResult {
  Start: string;
  End: string;
}

/** Probes averaged: Docker keeps 5; the latest 3 follow a change quickly without riding on one outlier. */
export const DEFAULT_PROBES_AVERAGED = 3;

/**
 * Mean End − Start of the latest `probes` finished entries, in whole milliseconds; 0 (= unknown) when
 * there are none. Failed and timed-out probes count: a probe that hit its timeout is the slowest answer.
 * A measured time is at least 1 ms so that it never reads as unknown.
 */
export function healthResponseTimeMs(log: readonly HealthProbeResult[] | undefined, probes = DEFAULT_PROBES_AVERAGED): number {
  const durations: number[] = [];
  // Docker appends, so the latest entries are last.
  for (let i = (log?.length ?? 0) - 1; i >= 0 && durations.length < probes; i--) {
    const start = Date.parse(log![i]!.Start);
    const end = Date.parse(log![i]!.End);
    // Skips unparsable times and the zero time Docker writes for a probe that never finished.
    if (!Number.isFinite(start) || !Number.isFinite(end) || start < 0 || end < start) continue;
    durations.push(end - start);
  }
  if (durations.length === 0) return 0;
  return Math.max(1, Math.round(durations.reduce((a, b) => a + b, 0) / durations.length));
}
