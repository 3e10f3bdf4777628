// The ContainerSet autoscaling decision (Kubernetes HPA math), pure: from the set, its replicas' usage and
// earlier recommendations, the size to scale to, why, and the utilization to show in status.
import type { ContainerSetObject } from '../../lib/api/typed.js';
import { parseCpuMillis, parseMemoryBytes } from '../../lib/api/quantity.js';
import { stabilize, type Recommendation } from './stabilization.js';

/** |metric/target − 1| at or below this keeps the current size (Kubernetes' --horizontal-pod-autoscaler-tolerance). */
export const TOLERANCE = 0.1;
/** Kubernetes' defaults: scale up at once, scale down on the highest recommendation of 5 minutes. */
export const DEFAULT_SCALE_UP_WINDOW_SECONDS = 0;
export const DEFAULT_SCALE_DOWN_WINDOW_SECONDS = 300;
/**
 * Per-replica classes (the Deployment-Agent's LU/MU/HU). Its documentation names no thresholds, so:
 * Low below 50% of target, High above 90% (close enough to the target that the tolerance band ends
 * there), Medium between. A replica's class is that of its busiest metric.
 */
export const LOW_BELOW_FRACTION_OF_TARGET = 0.5;
export const HIGH_ABOVE_FRACTION_OF_TARGET = 0.9;

/** One replica's usage as the agents report it (Operations.Top). */
export interface UsageSample {
  /** docker-stats style: 100 is one full core. */
  cpuPercent: number;
  memoryBytes: number;
  /** The memory limit the engine reports (the host's memory when unlimited); 0 when unknown. */
  memoryLimitBytes: number;
  /** Received plus transmitted. */
  networkBytesPerSecond: number;
  /** Healthcheck response time, when something measures it. */
  responseTimeMs?: number;
}

export interface ReplicaObservation {
  name: string;
  ready: boolean;
  /** Absent when no agent reported this replica. */
  usage?: UsageSample;
}

export type MetricName = 'cpu' | 'memory' | 'network' | 'responseTime';
export type UtilizationClass = 'Low' | 'Medium' | 'High';

export interface MetricReading {
  metric: MetricName;
  /** Mean over ready replicas with a sample: percent for cpu and memory, bytes/s, milliseconds. */
  current: number;
  target: number;
  /** What a cpu or memory percentage is relative to: "request", "limit", "one core", "reported limit". */
  base?: string;
  /** The size this metric alone asks for; undefined when no ready replica reported it. */
  proposal?: number;
}

export interface ReplicaUtilization {
  name: string;
  class: UtilizationClass;
  cpuPercent: number;
  memoryPercent: number;
}

export interface AutoscaleDecision {
  currentReplicas: number;
  /** The size to scale to: after stabilization and the min/max bounds. */
  desiredReplicas: number;
  reason: string;
  metrics: MetricReading[];
  replicas: ReplicaUtilization[];
  /** Pass to the next round's input. */
  history: Recommendation[];
}

export interface AutoscaleInput {
  set: ContainerSetObject;
  /** The set's live replicas (not deleting, not finished). */
  replicas: readonly ReplicaObservation[];
  history: readonly Recommendation[];
  nowMs: number;
}

interface Quantities {
  cpu?: string;
  memory?: string;
}

interface MetricSpec {
  metric: MetricName;
  target: number;
  base?: string;
  /** The replica's value of this metric, or undefined when it has none. */
  value(u: UsageSample): number | undefined;
}

function quantity(q: string | undefined, parse: (q: string) => number): number {
  if (!q) return 0;
  try {
    return parse(q);
  } catch {
    return 0; // validation refuses bad quantities; a stored one falls back as if absent
  }
}

/** The metrics the set's targets name; a target of 0 or absent is no metric. */
function metricSpecs(set: ContainerSetObject): MetricSpec[] {
  const a = set.spec?.autoscale ?? {};
  const res: { requests?: Quantities; limits?: Quantities } = set.spec?.template?.spec?.resources ?? {};
  const specs: MetricSpec[] = [];
  const cpuTarget = Number(a.targetCpuUtilizationPercent ?? 0);
  if (cpuTarget > 0) {
    const request = quantity(res.requests?.cpu, parseCpuMillis);
    const limit = quantity(res.limits?.cpu, parseCpuMillis);
    const [millis, base] = request > 0 ? [request, 'request'] : limit > 0 ? [limit, 'limit'] : [1000, 'one core'];
    // cpuPercent 100 is 1000 millicores.
    specs.push({ metric: 'cpu', target: cpuTarget, base, value: (u) => (u.cpuPercent * 1000) / millis });
  }
  const memTarget = Number(a.targetMemoryUtilizationPercent ?? 0);
  if (memTarget > 0) {
    const request = quantity(res.requests?.memory, parseMemoryBytes);
    const limit = quantity(res.limits?.memory, parseMemoryBytes);
    const fixed = request > 0 ? request : limit;
    specs.push({
      metric: 'memory',
      target: memTarget,
      base: request > 0 ? 'request' : limit > 0 ? 'limit' : 'reported limit',
      value: (u) => {
        const bytes = fixed > 0 ? fixed : u.memoryLimitBytes;
        return bytes > 0 ? (u.memoryBytes * 100) / bytes : undefined;
      },
    });
  }
  const netTarget = Number(a.targetNetworkBytesPerSecond ?? 0);
  if (netTarget > 0) specs.push({ metric: 'network', target: netTarget, value: (u) => u.networkBytesPerSecond });
  const rtTarget = Number(a.targetResponseTimeMs ?? 0);
  if (rtTarget > 0) specs.push({ metric: 'responseTime', target: rtTarget, value: (u) => u.responseTimeMs });
  return specs;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/**
 * Kubernetes' replica calculator for one metric. Ready replicas without a sample count as at the target
 * on a scale-down and as idle on a scale-up, and not-ready ones as idle on a scale-up (ignored otherwise),
 * so missing data always dampens a change; if that flips the direction, the size stays.
 */
function proposeReplicas(spec: MetricSpec, replicas: readonly ReplicaObservation[], current: number): { current: number; proposal?: number } | undefined {
  const values: number[] = [];
  let missing = 0;
  let unready = 0;
  for (const r of replicas) {
    if (!r.ready) {
      unready++;
      continue;
    }
    const v = r.usage ? spec.value(r.usage) : undefined;
    if (v === undefined || !Number.isFinite(v)) missing++;
    else values.push(v);
  }
  if (values.length === 0) return undefined;
  const average = mean(values);
  const ratio = average / spec.target;
  const countUnready = unready > 0 && ratio > 1;
  if (missing === 0 && !countUnready) {
    const proposal = Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(ratio * values.length);
    return { current: average, proposal };
  }
  const filled = [...values];
  if (missing > 0) for (let i = 0; i < missing; i++) filled.push(ratio < 1 ? spec.target : 0);
  if (countUnready) for (let i = 0; i < unready; i++) filled.push(0);
  const newRatio = mean(filled) / spec.target;
  if (Math.abs(newRatio - 1) <= TOLERANCE || (ratio > 1 && newRatio < 1) || (ratio < 1 && newRatio > 1)) {
    return { current: average, proposal: current };
  }
  const proposal = Math.ceil(newRatio * filled.length);
  // The filled-in replicas may pull the count the other way than the metric points: then stay.
  if ((newRatio < 1 && proposal > current) || (newRatio > 1 && proposal < current)) return { current: average, proposal: current };
  return { current: average, proposal };
}

/** "cpu utilization 180% of request", "network 1200 B/s per replica", "response time 40ms". */
export function describeMetric(m: Pick<MetricReading, 'metric' | 'current' | 'base'>): string {
  const v = Math.round(m.current);
  switch (m.metric) {
    case 'cpu':
    case 'memory':
      return `${m.metric} utilization ${v}% of ${m.base}`;
    case 'network':
      return `network ${v} B/s per replica`;
    case 'responseTime':
      return `response time ${v}ms`;
  }
}

function describeTarget(m: MetricReading): string {
  switch (m.metric) {
    case 'cpu':
    case 'memory':
      return `target ${m.target}%`;
    case 'network':
      return `target ${m.target} B/s`;
    case 'responseTime':
      return `target ${m.target}ms`;
  }
}

function classify(fractionOfTarget: number): UtilizationClass {
  if (fractionOfTarget < LOW_BELOW_FRACTION_OF_TARGET) return 'Low';
  if (fractionOfTarget > HIGH_ABOVE_FRACTION_OF_TARGET) return 'High';
  return 'Medium';
}

function replicaUtilization(specs: MetricSpec[], replicas: readonly ReplicaObservation[]): ReplicaUtilization[] {
  const out: ReplicaUtilization[] = [];
  for (const r of replicas) {
    if (!r.usage) continue;
    let busiest: number | undefined;
    let cpuPercent = 0;
    let memoryPercent = 0;
    for (const s of specs) {
      const v = s.value(r.usage);
      if (v === undefined || !Number.isFinite(v)) continue;
      busiest = Math.max(busiest ?? 0, v / s.target);
      if (s.metric === 'cpu') cpuPercent = Math.round(v);
      if (s.metric === 'memory') memoryPercent = Math.round(v);
    }
    if (busiest !== undefined) out.push({ name: r.name, class: classify(busiest), cpuPercent, memoryPercent });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const windowSeconds = (v: unknown, fallback: number) => (v === undefined || v === null || v === '' ? fallback : Math.max(0, Number(v)));

export function decideReplicas(input: AutoscaleInput): AutoscaleDecision {
  const a = input.set.spec?.autoscale ?? {};
  const current = Number(input.set.spec?.replicas ?? 1);
  const min = Math.max(1, Number(a.minReplicas ?? 1));
  const max = Math.max(min, Number(a.maxReplicas ?? min));
  const specs = metricSpecs(input.set);
  const metrics: MetricReading[] = [];
  for (const s of specs) {
    const p = proposeReplicas(s, input.replicas, current);
    if (p) metrics.push({ metric: s.metric, current: p.current, target: s.target, base: s.base, proposal: p.proposal });
  }
  const replicas = replicaUtilization(specs, input.replicas);
  const base = { currentReplicas: current, metrics, replicas };

  // Out of bounds (a user scaled by hand, or the bounds changed): back into range before any metric counts.
  if (current > max) return { ...base, desiredReplicas: max, reason: `current replicas ${current} above maxReplicas ${max}`, history: [...input.history] };
  if (current < min) return { ...base, desiredReplicas: min, reason: `current replicas ${current} below minReplicas ${min}`, history: [...input.history] };

  const proposing = metrics.filter((m) => m.proposal !== undefined);
  if (proposing.length === 0) {
    const reason = specs.length === 0 ? 'no autoscaling target set' : `no usage reported by ready replicas; keeping ${current}`;
    return { ...base, desiredReplicas: current, reason, history: [...input.history] };
  }
  // The metric asking for the most replicas decides; on a tie the first named in the spec.
  const decisive = proposing.reduce((best, m) => (m.proposal! > best.proposal! ? m : best));
  const recommendation = decisive.proposal!;
  const stable = stabilize({
    history: input.history,
    recommendation,
    currentReplicas: current,
    nowMs: input.nowMs,
    upWindowSeconds: windowSeconds(a.scaleUpStabilizationSeconds, DEFAULT_SCALE_UP_WINDOW_SECONDS),
    downWindowSeconds: windowSeconds(a.scaleDownStabilizationSeconds, DEFAULT_SCALE_DOWN_WINDOW_SECONDS),
  });
  const desired = Math.min(max, Math.max(min, stable.replicas));

  let reason: string;
  if (recommendation === current) {
    reason = `${proposing.map((m) => `${describeMetric(m)} (${describeTarget(m)})`).join(', ')}; keeping ${current}`;
  } else {
    reason = `${describeMetric(decisive)} ${recommendation > current ? 'above' : 'below'} ${describeTarget(decisive)}`;
    if (stable.heldBy) reason += `; held at ${stable.replicas} by the ${stable.heldBy} stabilization window`;
    if (stable.replicas > max) reason += `; limited to maxReplicas ${max}`;
    if (stable.replicas < min) reason += `; limited to minReplicas ${min}`;
  }
  return { ...base, desiredReplicas: desired, reason, history: stable.history };
}
