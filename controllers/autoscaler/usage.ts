// Per-container usage for the autoscaler: one Operations.Top call serves every set reconciled in the
// same round, keyed by Container uid and converted from the wire's int64 strings and zero-means-unknown fields.
import type { ContainerUsage } from '../../lib/gen/persys/v1/agent.js';
import type { Clock } from '../../lib/queue/clock.js';
import type { UsageSample } from './hpa.js';

/** Fetches the usage of every container the agents report (e.g. OperationsClient.top('containers')). */
export type UsageSource = () => Promise<ContainerUsage[]>;

/** A healthcheck response time of 0 means unknown: left out, so hpa counts the replica as missing, not as fast. */
export function toUsageSample(u: ContainerUsage): UsageSample {
  const sample: UsageSample = {
    cpuPercent: Number(u.cpuPercent) || 0,
    memoryBytes: Number(u.memoryBytes) || 0,
    memoryLimitBytes: Number(u.memoryLimitBytes) || 0,
    networkBytesPerSecond: (Number(u.networkRxBytesPerSecond) || 0) + (Number(u.networkTxBytesPerSecond) || 0),
  };
  const responseTimeMs = Number(u.healthResponseTimeMs) || 0;
  if (responseTimeMs > 0) sample.responseTimeMs = responseTimeMs;
  return sample;
}

/** Usage by Container uid, fetched at most once per maxAgeMs; concurrent callers share one fetch. */
export class UsageSnapshot {
  private at = -Infinity;
  private byUid = new Map<string, UsageSample>();
  private inFlight?: Promise<Map<string, UsageSample>>;

  constructor(
    private readonly source: UsageSource,
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
  ) {}

  /** Rejects when the fetch fails: a round without usage must not be mistaken for idle replicas. */
  async get(): Promise<Map<string, UsageSample>> {
    if (this.clock.now() - this.at < this.maxAgeMs) return this.byUid;
    this.inFlight ??= this.source()
      .then((list) => {
        const byUid = new Map<string, UsageSample>();
        for (const u of list) if (u.uid) byUid.set(u.uid, toUsageSample(u));
        this.byUid = byUid;
        this.at = this.clock.now();
        return byUid;
      })
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }
}
