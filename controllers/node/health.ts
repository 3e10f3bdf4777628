// Node lifecycle decisions (kube-controller-manager's node lifecycle controller) as a pure function of
// Nodes, their agents' Leases and the time: which nodes go Ready=Unknown, which Containers are evicted.
import { AGENT_STREAM_LOST_ANNOTATION } from '../../lib/api/annotations.js';
import type { Condition } from '../../lib/api/resource.js';
import type { ContainerObject, LeaseObject, NodeObject } from '../../lib/api/typed.js';

export const NODE_LEASE_NAMESPACE = 'persys-node-lease';
export const REASON_STATUS_UNKNOWN = 'NodeStatusUnknown';
export const REASON_LEASE_RENEWED = 'LeaseRenewed';
export const MESSAGE_STATUS_UNKNOWN = 'agent stopped renewing its lease';
export const MESSAGE_STREAM_LOST = 'agent stream lost and not re-established';

/**
 * The shipped timing (why it is safe: README, "Why these defaults are safe"). A lease not renewed for
 * 40 s (four 10 s heartbeats; above the agents' 10 s stream keepalive) is a silent node. A node whose
 * stream broke from its side and that did not renew within 3 s (a live agent reconnects in about 1 s)
 * is lost. Its Containers are replaced 5 s later. Losing a host thus costs about 8 s when its sockets
 * close and 13-15 s when it goes silent (the API server's keepalive finds that in 5-7 s), where Swarm
 * needs three missed 5 s heartbeats.
 */
export const DEFAULT_NODE_GRACE_PERIOD_MS = 40_000;
export const DEFAULT_STREAM_LOSS_GRACE_PERIOD_MS = 3_000;
export const DEFAULT_EVICTION_TIMEOUT_MS = 5_000;
/** Containers per second; the bucket holds one second's worth, so a small node is drained at once. */
export const DEFAULT_EVICTIONS_PER_SECOND = 10;

export interface NodeHealthInput {
  nodes: NodeObject[];
  /** Leases in NODE_LEASE_NAMESPACE, named after their node. */
  leases: LeaseObject[];
  /** Containers (only those with spec.nodeName matter). */
  containers: ContainerObject[];
  nowMs: number;
  /** A lease not renewed for this long means the agent is gone. @default DEFAULT_NODE_GRACE_PERIOD_MS */
  gracePeriodMs?: number;
  /**
   * A lease marked stream-lost (AGENT_STREAM_LOST_ANNOTATION) and not renewed this long after the mark
   * means the agent is gone. @default DEFAULT_STREAM_LOSS_GRACE_PERIOD_MS
   */
  streamLossGracePeriodMs?: number;
  /** How long a node stays NotReady before its ContainerSet-owned Containers are deleted. @default DEFAULT_EVICTION_TIMEOUT_MS */
  evictionTimeoutMs?: number;
  /** Evictions allowed in this evaluation (from the rate limiter); the rest wait for a later one. */
  evictionBudget: number;
}

export interface NodeHealthPlan {
  /** Nodes whose Ready condition should become this one (Unknown, or True again when we had set Unknown). */
  readyChanges: { node: NodeObject; condition: Condition }[];
  /** Containers on NotReady nodes whose phase should become Unknown. */
  markUnknown: ContainerObject[];
  /** ContainerSet-owned Containers to delete now so their set replaces them elsewhere. */
  evict: ContainerObject[];
  /** Due for eviction but over this round's budget. */
  evictionsDeferred: number;
  /** Standalone Containers on long-NotReady nodes: nothing will replace them, so they are only reported. */
  stranded: ContainerObject[];
  /** Standalone Containers that allow it (spec.rescheduleOnNodeLoss): unbind them so the scheduler moves them. */
  reschedule: ContainerObject[];
  /** Every node is NotReady: the fault is more likely ours (or the network's) than theirs, so nothing is evicted. */
  fullDisruption: boolean;
  /** When the next decision falls due with no event (a grace or timeout running out), in ms from now. */
  recheckInMs?: number;
}

const TERMINAL = new Set(['Succeeded', 'Failed']);

export function readyCondition(node: NodeObject): Condition | undefined {
  return (node.status?.conditions ?? []).find((c) => c.type === 'Ready') as Condition | undefined;
}

/** When an API server saw the node's stream lost, if that is the last news of its agent. */
export function streamLostMs(lease: LeaseObject | undefined): number | undefined {
  const t = lease?.metadata.annotations?.[AGENT_STREAM_LOST_ANNOTATION];
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/** When the node's agent last proved it lives: its lease's renewTime, or the node's creation if no lease yet. */
export function lastProbeMs(node: NodeObject, lease: LeaseObject | undefined): number | undefined {
  const t = lease?.spec?.renewTime ?? lease?.spec?.acquireTime ?? node.metadata.creationTimestamp;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

export function ownedByContainerSet(c: ContainerObject): boolean {
  return (c.metadata.ownerReferences ?? []).some((o) => o.kind === 'ContainerSet' && o.controller !== false);
}

/**
 * Recovery choice: when a fresh lease is seen on a node whose Ready=Unknown was set by us
 * (reason NodeStatusUnknown), Ready goes back to True with reason LeaseRenewed. A renewing agent is
 * connected, and its stream may never have dropped, so no Hello would come to restore it. Ready
 * False/Unknown set by anyone else (the API server when an agent disconnects) is left alone.
 */
export function planNodeHealth(input: NodeHealthInput): NodeHealthPlan {
  const grace = input.gracePeriodMs ?? DEFAULT_NODE_GRACE_PERIOD_MS;
  const lossGrace = input.streamLossGracePeriodMs ?? DEFAULT_STREAM_LOSS_GRACE_PERIOD_MS;
  const evictionTimeout = input.evictionTimeoutMs ?? DEFAULT_EVICTION_TIMEOUT_MS;
  const now = input.nowMs;
  const leases = new Map(input.leases.map((l) => [l.metadata.name ?? '', l]));
  const plan: NodeHealthPlan = { readyChanges: [], markUnknown: [], evict: [], evictionsDeferred: 0, stranded: [], reschedule: [], fullDisruption: false };
  let recheckAt = Infinity;
  const dueAt = (t: number) => {
    if (t > now && t < recheckAt) recheckAt = t;
  };

  // Ready as it will be after this round's changes, and since when it has not been True.
  const notReadySince = new Map<string, number>();
  for (const node of input.nodes) {
    const name = node.metadata.name ?? '';
    const ready = readyCondition(node);
    const lease = leases.get(name);
    const probe = lastProbeMs(node, lease);
    // A mark older than the last renewal is history (renewals clear it; this guards clock order).
    const lost = streamLostMs(lease);
    const lostSinceProbe = lost !== undefined && (probe === undefined || lost >= probe) ? lost : undefined;
    const silent = probe === undefined || now - probe > grace;
    const gone = lostSinceProbe !== undefined && now - lostSinceProbe > lossGrace;
    const stale = silent || gone;
    if (!stale) {
      dueAt(probe! + grace + 1);
      if (lostSinceProbe !== undefined) dueAt(lostSinceProbe + lossGrace + 1);
    }
    const since = (c: Condition | undefined) => (c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN);
    if (stale && ready?.status === 'True') {
      const message = gone && !silent ? MESSAGE_STREAM_LOST : MESSAGE_STATUS_UNKNOWN;
      plan.readyChanges.push({ node, condition: { type: 'Ready', status: 'Unknown', reason: REASON_STATUS_UNKNOWN, message } });
      notReadySince.set(name, now);
    } else if (!stale && ready?.status === 'Unknown' && ready.reason === REASON_STATUS_UNKNOWN) {
      plan.readyChanges.push({ node, condition: { type: 'Ready', status: 'True', reason: REASON_LEASE_RENEWED, message: 'agent renews its lease again' } });
    } else if (ready?.status !== 'True') {
      // A node that never was Ready (no condition) has never run anything worth evicting for; count it from creation.
      const t = since(ready);
      notReadySince.set(name, Number.isNaN(t) ? (probe ?? now) : t);
    }
  }

  plan.fullDisruption = input.nodes.length > 0 && notReadySince.size === input.nodes.length;
  let budget = Math.max(0, Math.floor(input.evictionBudget));
  const candidates = input.containers
    .filter((c) => c.spec?.nodeName && notReadySince.has(c.spec.nodeName) && !c.metadata.deletionTimestamp)
    .sort((a, b) => key(a).localeCompare(key(b)));
  for (const c of candidates) {
    const phase = c.status?.phase ?? '';
    if (TERMINAL.has(phase)) continue;
    if (phase !== 'Unknown') plan.markUnknown.push(c);
    const evictAt = notReadySince.get(c.spec!.nodeName!)! + evictionTimeout;
    if (plan.fullDisruption) continue;
    if (now < evictAt) {
      dueAt(evictAt);
      continue;
    }
    const movable = ownedByContainerSet(c) || c.spec?.rescheduleOnNodeLoss === true;
    if (!movable) plan.stranded.push(c);
    else if (budget > 0) {
      (ownedByContainerSet(c) ? plan.evict : plan.reschedule).push(c);
      budget--;
    } else plan.evictionsDeferred++;
  }
  if (recheckAt !== Infinity) plan.recheckInMs = recheckAt - now;
  return plan;
}

const key = (c: ContainerObject) => `${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`;
