// Table tests of the node lifecycle decisions: lease staleness, recovery, Unknown phases, eviction rules.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { EvictionLimiter } from './eviction-limiter.js';
import { AGENT_STREAM_LOST_ANNOTATION } from '../../lib/api/annotations.js';
import {
  DEFAULT_EVICTION_TIMEOUT_MS,
  DEFAULT_NODE_GRACE_PERIOD_MS,
  DEFAULT_STREAM_LOSS_GRACE_PERIOD_MS,
  MESSAGE_STATUS_UNKNOWN,
  MESSAGE_STREAM_LOST,
  planNodeHealth,
  REASON_LEASE_RENEWED,
  REASON_STATUS_UNKNOWN,
  type NodeHealthInput,
} from './health.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function node(name: string, ready: 'True' | 'False' | 'Unknown' | undefined, sinceMs = T0 - 3_600_000, reason = 'AgentConnected'): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Node',
    metadata: { name, creationTimestamp: iso(T0 - 7_200_000) },
    status: ready ? { conditions: [{ type: 'Ready', status: ready, reason, lastTransitionTime: iso(sinceMs) }] } : {},
  };
}
const lease = (name: string, renewMs: number, streamLostMs?: number): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Lease',
  metadata: { name, namespace: 'persys-node-lease', annotations: streamLostMs === undefined ? undefined : { [AGENT_STREAM_LOST_ANNOTATION]: iso(streamLostMs) } },
  spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: iso(renewMs) },
});
const GRACE = DEFAULT_NODE_GRACE_PERIOD_MS;
const LOSS_GRACE = DEFAULT_STREAM_LOSS_GRACE_PERIOD_MS;
const EVICTION = DEFAULT_EVICTION_TIMEOUT_MS;
function container(name: string, nodeName: string, o: { phase?: string; owned?: boolean } = {}): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: {
      name,
      namespace: 'default',
      ownerReferences: o.owned ? [{ apiVersion: 'persys.dev/v1', kind: 'ContainerSet', name: 'web', uid: 'u1', controller: true }] : [],
    },
    spec: { image: 'x', nodeName },
    status: { phase: o.phase ?? 'Running' },
  };
}
const plan = (i: Partial<NodeHealthInput>) => planNodeHealth({ nodes: [], leases: [], containers: [], nowMs: T0, evictionBudget: 10, ...i });
const names = (rs: Resource[]) => rs.map((r) => r.metadata.name);

describe('planNodeHealth', () => {
  it.each([
    { what: 'a lease renewed within the grace period keeps Ready=True', renewAgo: GRACE - 1_000, ready: 'True' as const, want: undefined },
    { what: 'a lease older than the grace period turns Ready=True into Unknown', renewAgo: GRACE + 1_000, ready: 'True' as const, want: ['Unknown', REASON_STATUS_UNKNOWN] },
    { what: 'a fresh lease turns our Unknown back into True', renewAgo: 1_000, ready: 'Unknown' as const, reason: REASON_STATUS_UNKNOWN, want: ['True', REASON_LEASE_RENEWED] },
    { what: "a fresh lease leaves someone else's Ready=False alone", renewAgo: 1_000, ready: 'False' as const, reason: 'AgentDisconnected', want: undefined },
    { what: 'a stale lease leaves an already-Unknown node alone', renewAgo: 60_000, ready: 'Unknown' as const, reason: REASON_STATUS_UNKNOWN, want: undefined },
  ])('$what', ({ renewAgo, ready, reason, want }) => {
    const p = plan({ nodes: [node('a', ready, T0 - 3_600_000, reason), node('b', 'True')], leases: [lease('a', T0 - renewAgo), lease('b', T0)] });
    const change = p.readyChanges.find((c) => c.node.metadata.name === 'a');
    expect(change ? [change.condition.status, change.condition.reason] : undefined).toEqual(want);
    expect(p.readyChanges.filter((c) => c.node.metadata.name === 'b')).toEqual([]);
  });

  it('treats a node without a lease as stale once its creation is older than the grace period', () => {
    const p = plan({ nodes: [node('a', 'True'), node('b', 'True')], leases: [lease('b', T0)], gracePeriodMs: 1_000 });
    expect(p.readyChanges.map((c) => [c.node.metadata.name, c.condition.status])).toEqual([['a', 'Unknown']]);
  });

  it('marks non-terminal Containers on a node going NotReady as Unknown, not yet evicting them', () => {
    const p = plan({
      nodes: [node('a', 'True'), node('b', 'True')],
      leases: [lease('a', T0 - 60_000), lease('b', T0)],
      containers: [container('c1', 'a', { owned: true }), container('c2', 'a', { phase: 'Succeeded' }), container('c3', 'b'), container('c4', 'a', { phase: 'Unknown' })],
    });
    expect(names(p.markUnknown)).toEqual(['c1']);
    expect(p.evict).toEqual([]);
  });

  it.each([
    { what: 'evicts a ContainerSet-owned Container once its node is NotReady longer than the timeout', notReadyFor: EVICTION + 1_000, owned: true, evict: ['c'], stranded: [] },
    { what: 'does not evict before the timeout', notReadyFor: EVICTION - 1_000, owned: true, evict: [], stranded: [] },
    { what: 'only reports a standalone Container on a long-NotReady node', notReadyFor: EVICTION + 1_000, owned: false, evict: [], stranded: ['c'] },
  ])('$what', ({ notReadyFor, owned, evict, stranded }) => {
    const p = plan({
      nodes: [node('a', 'Unknown', T0 - notReadyFor, REASON_STATUS_UNKNOWN), node('b', 'True')],
      leases: [lease('a', T0 - 60_000), lease('b', T0)],
      containers: [container('c', 'a', { owned, phase: 'Unknown' })],
    });
    expect(names(p.evict)).toEqual(evict);
    expect(names(p.stranded)).toEqual(stranded);
  });

  it('moves a standalone Container whose spec allows it, within the same eviction budget', () => {
    const movable = (name: string) => ({ ...container(name, 'a', { phase: 'Unknown' }), spec: { image: 'x', nodeName: 'a', rescheduleOnNodeLoss: true } });
    const p = plan({
      nodes: [node('a', 'Unknown', T0 - EVICTION - 1_000, REASON_STATUS_UNKNOWN), node('b', 'True')],
      leases: [lease('a', T0 - 60_000), lease('b', T0)],
      containers: [movable('m1'), movable('m2'), container('s', 'a', { phase: 'Unknown' })],
      evictionBudget: 1,
    });
    expect(names(p.reschedule)).toEqual(['m1']);
    expect(p.evictionsDeferred).toBe(1);
    expect(names(p.stranded)).toEqual(['s']);
  });

  it('evicts nothing when every node is NotReady (full disruption)', () => {
    const p = plan({
      nodes: [node('a', 'Unknown', T0 - 600_000, REASON_STATUS_UNKNOWN), node('b', 'True')],
      leases: [lease('a', T0 - 600_000), lease('b', T0 - 600_000)],
      containers: [container('c', 'a', { owned: true }), container('d', 'b', { owned: true })],
    });
    expect(p.fullDisruption).toBe(true);
    expect(p.evict).toEqual([]);
    expect(names(p.markUnknown)).toEqual(['c', 'd']);
  });

  it('evicts at most the budget and counts the rest as deferred', () => {
    const p = plan({
      nodes: [node('a', 'False', T0 - 600_000), node('b', 'True')],
      leases: [lease('a', T0), lease('b', T0)],
      containers: ['c1', 'c2', 'c3'].map((n) => container(n, 'a', { owned: true })),
      evictionBudget: 1,
    });
    expect(names(p.evict)).toEqual(['c1']);
    expect(p.evictionsDeferred).toBe(2);
  });
});

describe('planNodeHealth with a stream-loss mark on the lease', () => {
  // Heartbeats every 10 s: a live node's last renewal is 0-10 s old whenever its stream breaks.
  it.each([
    { what: 'a stream lost just now leaves the node Ready (its agent may be reconnecting)', renewAgo: 8_000, lostAgo: 100, want: undefined },
    { what: 'a stream lost within the short grace leaves the node Ready', renewAgo: 9_000, lostAgo: LOSS_GRACE - 500, want: undefined },
    { what: 'a stream lost and not re-established within the short grace turns the node Unknown', renewAgo: 9_000, lostAgo: LOSS_GRACE + 500, want: ['Unknown', MESSAGE_STREAM_LOST] },
    { what: 'the short grace counts from the loss, not from the last renewal', renewAgo: LOSS_GRACE + 2_000, lostAgo: 1_000, want: undefined },
    { what: 'a mark older than the last renewal is history (the agent came back)', renewAgo: 1_000, lostAgo: 20_000, want: undefined },
    { what: 'without a mark only the long grace counts, however late the renewal', renewAgo: GRACE - 1_000, lostAgo: undefined, want: undefined },
    { what: 'a lease past the long grace is Unknown with or without a mark', renewAgo: GRACE + 1_000, lostAgo: GRACE - 5_000, want: ['Unknown', MESSAGE_STATUS_UNKNOWN] },
  ])('$what', ({ renewAgo, lostAgo, want }) => {
    const p = plan({
      nodes: [node('a', 'True'), node('b', 'True')],
      leases: [lease('a', T0 - renewAgo, lostAgo === undefined ? undefined : T0 - lostAgo), lease('b', T0)],
    });
    const change = p.readyChanges.find((c) => c.node.metadata.name === 'a');
    expect(change ? [change.condition.status, change.condition.message] : undefined).toEqual(want);
    if (change) expect(change.condition.reason).toBe(REASON_STATUS_UNKNOWN);
  });

  it('a busy node whose heartbeats keep arriving is never NotReady, at any moment of a long run', () => {
    // Renewals due every 10 s, every other one 6 s late (a loaded agent); the controller looks every 250 ms.
    const renewals = Array.from({ length: 61 }, (_, k) => k * 10_000 + (k % 2 ? 6_000 : 0));
    for (let t = 0; t < 600_000; t += 250) {
      const lastRenewal = renewals.filter((r) => r <= t).at(-1)!;
      const p = plan({ nowMs: T0 + t, nodes: [node('a', 'True'), node('b', 'True')], leases: [lease('a', T0 + lastRenewal), lease('b', T0 + t)] });
      expect(p.readyChanges, `at ${t} ms`).toEqual([]);
    }
  });

  it('a node that recovers after a stream-loss Unknown turns Ready again on its first renewal', () => {
    const p = plan({
      nodes: [node('a', 'Unknown', T0 - 3_000, REASON_STATUS_UNKNOWN), node('b', 'True')],
      leases: [lease('a', T0 - 200), lease('b', T0)],
    });
    expect(p.readyChanges.map((c) => [c.node.metadata.name, c.condition.status, c.condition.reason])).toEqual([['a', 'True', REASON_LEASE_RENEWED]]);
  });

  it('the whole failover at the defaults: Ready until the short grace, Unknown, then evicted after the eviction timeout', () => {
    const lostAt = T0;
    const lastRenewal = T0 - 7_000;
    const containers = [container('c', 'a', { owned: true })];
    const at = (ms: number, ready: Resource) =>
      plan({ nowMs: lostAt + ms, nodes: [ready, node('b', 'True')], leases: [lease('a', lastRenewal, lostAt), lease('b', lostAt + ms)], containers });
    expect(at(LOSS_GRACE - 100, node('a', 'True')).readyChanges).toEqual([]);
    const turned = at(LOSS_GRACE + 100, node('a', 'True'));
    expect(turned.readyChanges.map((c) => c.condition.status)).toEqual(['Unknown']);
    expect(names(turned.markUnknown)).toEqual(['c']);
    const notReadyAt = lostAt + LOSS_GRACE + 100;
    const unknownNode = node('a', 'Unknown', notReadyAt, REASON_STATUS_UNKNOWN);
    expect(at(LOSS_GRACE + 100 + EVICTION - 100, unknownNode).evict).toEqual([]);
    expect(names(at(LOSS_GRACE + 100 + EVICTION, unknownNode).evict)).toEqual(['c']);
  });
});

describe('planNodeHealth recheck time', () => {
  it.each([
    { what: 'when a marked node runs out of its short grace', leases: [lease('a', T0 - 9_000, T0 - 2_000), lease('b', T0)], ready: 'True' as const, want: LOSS_GRACE - 2_000 + 1 },
    { what: 'when the stalest lease runs out of the long grace', leases: [lease('a', T0 - 30_000), lease('b', T0)], ready: 'True' as const, want: GRACE - 30_000 + 1 },
    { what: 'when the eviction timeout of a NotReady node ends', leases: [lease('a', T0 - 60_000), lease('b', T0)], ready: 'Unknown' as const, want: EVICTION - 2_000 },
  ])('$what', ({ leases, ready, want }) => {
    const p = plan({ nodes: [node('a', ready, T0 - 2_000, REASON_STATUS_UNKNOWN), node('b', 'True')], leases, containers: [container('c', 'a', { owned: true, phase: 'Unknown' })] });
    expect(p.recheckInMs).toBe(want);
  });
});

describe('EvictionLimiter', () => {
  it('allows one eviction per second by default and regains tokens with time', () => {
    const l = new EvictionLimiter(1);
    expect(l.available(T0)).toBe(1);
    l.spend(1);
    expect(l.available(T0 + 500)).toBe(0);
    expect(l.available(T0 + 1_000)).toBe(1);
    expect(l.available(T0 + 10_000)).toBe(1);
  });
});
