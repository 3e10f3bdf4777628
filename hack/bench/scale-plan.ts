// bench:scale's load shape and verdicts as pure functions: ContainerSets of mixed sizes (clusterloader2's
// density test), the creation schedule across rate steps, the rolling-update pick, SLO checks and idle writes.

/** Share of all replicas that goes into sets of each size, largest first. */
export const SET_MIX: readonly { size: number; share: number }[] = [
  { size: 500, share: 0.4 },
  { size: 100, share: 0.3 },
  { size: 30, share: 0.2 },
  { size: 5, share: 0.1 },
];

export interface PlannedSet {
  namespace: string;
  name: string;
  replicas: number;
}

/**
 * Sets whose replicas add up to exactly `total`, sizes taken from SET_MIX (what a share cannot fill
 * goes to smaller sets; a last set takes the remainder), interleaved by size so that any prefix of
 * the list mixes big and small sets, spread round-robin over `namespaces` namespaces.
 */
export function planSets(total: number, namespaces: number, prefix = 'scale'): PlannedSet[] {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`total must be a positive integer, got ${total}`);
  if (!Number.isInteger(namespaces) || namespaces < 1) throw new RangeError(`namespaces must be a positive integer, got ${namespaces}`);
  const bySize: number[][] = [];
  let left = total;
  for (const [i, { size, share }] of SET_MIX.entries()) {
    const last = i === SET_MIX.length - 1;
    const n = last ? Math.floor(left / size) : Math.min(Math.floor((total * share) / size), Math.floor(left / size));
    bySize.push(Array.from({ length: n }, () => size));
    left -= n * size;
  }
  if (left > 0) bySize[bySize.length - 1]!.push(left);
  // Each size spread evenly over the list: item j of n sits at (j + 0.5) / n.
  const sizes = bySize
    .flatMap((list) => list.map((size, j) => ({ size, at: (j + 0.5) / list.length })))
    .sort((a, b) => a.at - b.at || b.size - a.size)
    .map((e) => e.size);
  return sizes.map((replicas, i) => ({ namespace: `${prefix}-${i % namespaces}`, name: `set-${i}-r${replicas}`, replicas }));
}

/** Indices of sets to roll: about `fraction` of all replicas, of mixed sizes, never overshooting by a whole big set. */
export function pickRollout(sets: readonly PlannedSet[], fraction: number): number[] {
  const total = sets.reduce((a, s) => a + s.replicas, 0);
  const target = Math.round(total * fraction);
  const picked: number[] = [];
  let sum = 0;
  for (const [i, s] of sets.entries()) {
    if (sum >= target) break;
    if (sum + s.replicas > target * 1.1) continue;
    picked.push(i);
    sum += s.replicas;
  }
  // At toy sizes every set may be bigger than the tenth: roll the smallest one rather than none.
  if (!picked.length && sets.length) picked.push(sets.reduce((best, s, i) => (s.replicas < sets[best]!.replicas ? i : best), 0));
  return picked;
}

export interface RateStep {
  /** Containers per second asked for. */
  rate: number;
  /** Indices into the set list created during this step. */
  sets: number[];
  replicas: number;
}

/** Splits the sets, in order, into one step per rate holding about an equal share of the replicas. */
export function planSteps(sets: readonly PlannedSet[], rates: readonly number[]): RateStep[] {
  if (!rates.length || rates.some((r) => !(r > 0))) throw new RangeError(`rates must be positive numbers, got ${rates.join(',')}`);
  const total = sets.reduce((a, s) => a + s.replicas, 0);
  const steps: RateStep[] = rates.map((rate) => ({ rate, sets: [], replicas: 0 }));
  let cum = 0;
  for (const [i, s] of sets.entries()) {
    // A set belongs to the step in which its first replica falls.
    const step = Math.min(rates.length - 1, Math.floor((cum * rates.length) / total));
    steps[step]!.sets.push(i);
    steps[step]!.replicas += s.replicas;
    cum += s.replicas;
  }
  return steps;
}

/** Milliseconds after a step's start at which the set holding replica number `before`+1 is due. */
export function dueAtMs(before: number, rate: number): number {
  return (before * 1000) / rate;
}

export interface Slos {
  startupP99Ms: number;
  mutatingP99Ms: number;
  getP99Ms: number;
  namespaceListP99Ms: number;
  clusterListP99Ms: number;
}

/** Kubernetes' SLOs, as issue 13 quotes them. */
export const SLOS: Slos = { startupP99Ms: 5_000, mutatingP99Ms: 1_000, getP99Ms: 1_000, namespaceListP99Ms: 5_000, clusterListP99Ms: 30_000 };

/** The SLOs a measured set of p99s breaks (NaN, i.e. no samples, breaks nothing but is listed as unmeasured). */
export function sloBreaches(measured: Partial<Slos>, slos: Slos = SLOS): { broken: string[]; unmeasured: string[] } {
  const broken: string[] = [];
  const unmeasured: string[] = [];
  for (const key of Object.keys(slos) as (keyof Slos)[]) {
    const v = measured[key];
    if (v === undefined || Number.isNaN(v)) unmeasured.push(key);
    else if (v > slos[key]) broken.push(key);
  }
  return { broken, unmeasured };
}

/** The highest rate among steps that kept every measured SLO, or undefined when none did. */
export function highestRateWithinSlos(steps: readonly { rate: number; achieved: number; broken: string[] }[]): { asked: number; achieved: number } | undefined {
  let best: { asked: number; achieved: number } | undefined;
  for (const s of steps) if (!s.broken.length && (!best || s.achieved > best.achieved)) best = { asked: s.rate, achieved: s.achieved };
  return best;
}

export interface IdleWrites {
  perHour: number;
  /** The part one Lease renewal per node per heartbeat explains. */
  leaseRenewalsPerHour: number;
  /** The rest: what the control plane itself writes. */
  otherPerHour: number;
}

/** etcd revisions per hour from growth over a window, split into node Lease renewals and the rest. */
export function idleWritesPerHour(revisionGrowth: number, windowMs: number, nodes: number, heartbeatMs: number): IdleWrites {
  const perHour = (revisionGrowth * 3_600_000) / windowMs;
  const leaseRenewalsPerHour = (nodes * 3_600_000) / heartbeatMs;
  return { perHour, leaseRenewalsPerHour, otherPerHour: perHour - leaseRenewalsPerHour };
}

export interface SetCount {
  namespace: string;
  name: string;
  desired: number;
  /** Containers owned by the set, by name. */
  names: string[];
  running: number;
}

/** What is lost, doubled or not Running; empty when every set has exactly its desired Containers, all Running. */
export function discrepancies(sets: readonly SetCount[], strayContainers = 0): string[] {
  const out: string[] = [];
  for (const s of sets) {
    const unique = new Set(s.names).size;
    const key = `${s.namespace}/${s.name}`;
    if (unique !== s.names.length) out.push(`${key}: ${s.names.length - unique} duplicate Container names`);
    if (s.names.length < s.desired) out.push(`${key}: ${s.desired - s.names.length} lost (${s.names.length}/${s.desired})`);
    if (s.names.length > s.desired) out.push(`${key}: ${s.names.length - s.desired} doubled (${s.names.length}/${s.desired})`);
    if (s.running < s.names.length) out.push(`${key}: ${s.names.length - s.running} not Running`);
  }
  if (strayContainers) out.push(`${strayContainers} Containers owned by no planned set`);
  return out;
}
