// Table tests of the node lifecycle decisions: lease staleness, recovery, Unknown phases, eviction rules.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { EvictionLimiter } from './eviction-limiter.js';
import { planNodeHealth, REASON_LEASE_RENEWED, REASON_STATUS_UNKNOWN, type NodeHealthInput } from './health.js';

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
const lease = (name: string, renewMs: number): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Lease',
  metadata: { name, namespace: 'persys-node-lease' },
  spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: iso(renewMs) },
});
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
    { what: 'a lease renewed within the grace period keeps Ready=True', renewAgo: 19_000, ready: 'True' as const, want: undefined },
    { what: 'a lease older than the grace period turns Ready=True into Unknown', renewAgo: 21_000, ready: 'True' as const, want: ['Unknown', REASON_STATUS_UNKNOWN] },
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
    { what: 'evicts a ContainerSet-owned Container once its node is NotReady longer than the timeout', notReadyFor: 31_000, owned: true, evict: ['c'], stranded: [] },
    { what: 'does not evict before the timeout', notReadyFor: 29_000, owned: true, evict: [], stranded: [] },
    { what: 'only reports a standalone Container on a long-NotReady node', notReadyFor: 31_000, owned: false, evict: [], stranded: ['c'] },
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
      nodes: [node('a', 'Unknown', T0 - 31_000, REASON_STATUS_UNKNOWN), node('b', 'True')],
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
