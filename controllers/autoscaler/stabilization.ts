// Kubernetes HPA stabilization windows, pure: a scale-up follows the lowest recommendation of the up
// window and a scale-down the highest of the down window, so a brief spike or dip moves nothing.

/** A raw (unstabilized) recommendation made at atMs. */
export interface Recommendation {
  atMs: number;
  replicas: number;
}

export interface StabilizationInput {
  /** Recommendations of earlier rounds for this set, oldest first. */
  history: readonly Recommendation[];
  recommendation: number;
  currentReplicas: number;
  nowMs: number;
  upWindowSeconds: number;
  downWindowSeconds: number;
}

export interface Stabilized {
  replicas: number;
  /** The history to pass next round: this recommendation appended, samples outside both windows dropped. */
  history: Recommendation[];
  /** Which window held the recommendation back, if one did. */
  heldBy?: 'scale-up' | 'scale-down';
}

export function stabilize(input: StabilizationInput): Stabilized {
  const { recommendation, currentReplicas, nowMs } = input;
  let history = [...input.history];
  // A controller that has just started knows nothing of the last minutes: like Kubernetes, it counts the
  // current size as a recent recommendation so a restart cannot cause an immediate scale-down.
  if (history.length === 0 && input.downWindowSeconds > 0) history = [{ atMs: nowMs, replicas: currentReplicas }];
  const upCutoff = nowMs - input.upWindowSeconds * 1000;
  const downCutoff = nowMs - input.downWindowSeconds * 1000;
  let upLimit = recommendation;
  let downLimit = recommendation;
  for (const r of history) {
    if (r.atMs > upCutoff) upLimit = Math.min(upLimit, r.replicas);
    if (r.atMs > downCutoff) downLimit = Math.max(downLimit, r.replicas);
  }
  let replicas = currentReplicas;
  if (replicas < upLimit) replicas = upLimit;
  if (replicas > downLimit) replicas = downLimit;
  const heldBy =
    replicas < recommendation ? 'scale-up' : replicas > recommendation ? 'scale-down' : undefined;
  const oldest = Math.min(upCutoff, downCutoff);
  return {
    replicas,
    history: [...history.filter((r) => r.atMs > oldest), { atMs: nowMs, replicas: recommendation }],
    heldBy,
  };
}
