// status.autoscale of a ContainerSet from a decision, and whether a new one is worth writing: usage
// jitters every round, and writing every wobble would be the old scheduler's etcd-filling mistake.
import { TOLERANCE, type AutoscaleDecision, type MetricName } from './hpa.js';

/** ContainerSetStatus.autoscale in its proto-JSON form. */
export interface AutoscaleStatus {
  currentCpuUtilizationPercent?: number;
  currentMemoryUtilizationPercent?: number;
  /** int64 as a string, as the proto JSON mapping has it. */
  currentNetworkBytesPerSecond?: string;
  currentResponseTimeMs?: number;
  desiredReplicas?: number;
  lastScaleTime?: string;
  lastScaleReason?: string;
  replicas?: { name: string; class: string; cpuPercent?: number; memoryPercent?: number }[];
}

export interface LastScale {
  time: string;
  reason: string;
}

export function autoscaleStatus(d: AutoscaleDecision, previous: AutoscaleStatus | undefined, scaled?: LastScale): AutoscaleStatus {
  const current = (m: MetricName) => {
    const r = d.metrics.find((x) => x.metric === m);
    return r ? Math.round(r.current) : undefined;
  };
  const network = current('network');
  const out: AutoscaleStatus = {
    currentCpuUtilizationPercent: current('cpu'),
    currentMemoryUtilizationPercent: current('memory'),
    currentNetworkBytesPerSecond: network === undefined ? undefined : String(network),
    currentResponseTimeMs: current('responseTime'),
    desiredReplicas: d.desiredReplicas,
    lastScaleTime: scaled?.time ?? previous?.lastScaleTime,
    lastScaleReason: scaled?.reason ?? previous?.lastScaleReason,
    replicas: d.replicas.map((r) => ({ ...r })),
  };
  for (const k of Object.keys(out) as (keyof AutoscaleStatus)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/**
 * True when `next` says something `prev` does not: another size, scaling decision, replica or class, or
 * a metric that moved by more than the tolerance band of its target (smaller moves cannot change a
 * decision). Targets come from the set's spec.autoscale.
 */
export function autoscaleStatusChanged(prev: AutoscaleStatus | undefined, next: AutoscaleStatus, targets: Record<string, unknown>): boolean {
  if (!prev) return true;
  if ((prev.desiredReplicas ?? 0) !== (next.desiredReplicas ?? 0)) return true;
  if ((prev.lastScaleTime ?? '') !== (next.lastScaleTime ?? '') || (prev.lastScaleReason ?? '') !== (next.lastScaleReason ?? '')) return true;
  // Proto JSON omits zeros, so a stored figure that is absent reads as 0.
  const moved = (a: number | string | undefined, b: number | string | undefined, target: unknown) => {
    const band = Math.max(1, TOLERANCE * Number(target ?? 0));
    return Math.abs(Number(a ?? 0) - Number(b ?? 0)) > band;
  };
  if (moved(prev.currentCpuUtilizationPercent, next.currentCpuUtilizationPercent, targets['targetCpuUtilizationPercent'])) return true;
  if (moved(prev.currentMemoryUtilizationPercent, next.currentMemoryUtilizationPercent, targets['targetMemoryUtilizationPercent'])) return true;
  if (moved(prev.currentNetworkBytesPerSecond, next.currentNetworkBytesPerSecond, targets['targetNetworkBytesPerSecond'])) return true;
  if (moved(prev.currentResponseTimeMs, next.currentResponseTimeMs, targets['targetResponseTimeMs'])) return true;
  const a = prev.replicas ?? [];
  const b = next.replicas ?? [];
  if (a.length !== b.length) return true;
  return a.some((r, i) => {
    const s = b[i]!;
    return (
      r.name !== s.name ||
      r.class !== s.class ||
      moved(r.cpuPercent, s.cpuPercent, targets['targetCpuUtilizationPercent']) ||
      moved(r.memoryPercent, s.memoryPercent, targets['targetMemoryUtilizationPercent'])
    );
  });
}
