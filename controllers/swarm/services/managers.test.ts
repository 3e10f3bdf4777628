// Table tests of swarmManagersOf: which Nodes the services controller sends SwarmServices to, read
// from the status.swarm and conditions the membership controller writes, and in what order.
import { describe, expect, it } from 'vitest';
import { managerFingerprint, swarmManagersOf } from './managers.js';

interface Opts {
  ready?: boolean;
  role?: string;
  reach?: string;
  cluster?: string;
  leader?: boolean;
  member?: { status: string; reason: string } | null;
}

function node(name: string, o: Opts = {}) {
  const swarm = {
    nodeId: `id-${name}`,
    role: o.role ?? 'manager',
    availability: 'active',
    state: 'ready',
    ...(o.cluster !== '' && { clusterId: o.cluster ?? 'c1' }),
    ...((o.reach ?? 'reachable') && { managerReachability: o.reach ?? 'reachable' }),
    ...(o.leader && { leader: true }),
  };
  const member = o.member === undefined ? { status: 'True', reason: 'Member' } : o.member;
  return {
    metadata: { name },
    status: {
      swarm,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }, ...(member ? [{ type: 'SwarmMember', ...member }] : [])],
    },
  };
}

describe('swarmManagersOf', () => {
  it.each([
    { name: 'no Nodes', nodes: [], want: [] },
    { name: 'one reachable manager', nodes: [node('a')], want: ['a'] },
    { name: 'the leader first, then by name', nodes: [node('c'), node('b', { leader: true }), node('a')], want: ['b', 'a', 'c'] },
    { name: 'not a NotReady Node (its agent is gone)', nodes: [node('a', { ready: false, leader: true }), node('b')], want: ['b'] },
    { name: 'not a worker', nodes: [node('a', { role: 'worker', reach: '' }), node('b')], want: ['b'] },
    { name: 'not an unreachable manager', nodes: [node('a', { reach: 'unreachable' }), node('b', { reach: 'unknown' })], want: [] },
    { name: 'not a manager no member list shows (no cluster id)', nodes: [node('a', { cluster: '' })], want: [] },
    { name: 'not a manager persys never managed', nodes: [node('a', { member: { status: 'True', reason: 'NotManaged' } }), node('b')], want: ['b'] },
    { name: 'not one without a SwarmMember condition', nodes: [node('a', { member: null })], want: [] },
    { name: 'not one whose membership is not True', nodes: [node('a', { member: { status: 'Unknown', reason: 'NoManagerView' } })], want: [] },
    { name: 'a manager on its way out (role none) while it still manages', nodes: [node('a', { member: { status: 'True', reason: 'Leaving' } })], want: ['a'] },
    { name: 'only the leader’s swarm when statuses name two', nodes: [node('a', { cluster: 'old' }), node('b', { cluster: 'old' }), node('c', { cluster: 'new', leader: true })], want: ['c'] },
    { name: 'else the swarm most managers report', nodes: [node('a', { cluster: 'old' }), node('b', { cluster: 'new' }), node('c', { cluster: 'new' })], want: ['b', 'c'] },
    { name: 'no status at all', nodes: [{ metadata: { name: 'a' } }], want: [] },
  ])('$name', ({ nodes, want }) => {
    expect(swarmManagersOf(nodes)).toEqual(want);
  });
});

describe('managerFingerprint', () => {
  it('changes with status.swarm, Ready and SwarmMember, not with heartbeats or usage', () => {
    const a = node('a');
    const beat = { ...a, status: { ...a.status, lastHeartbeatTime: 'later', usage: { cpuPercent: 3 } } };
    expect(managerFingerprint(beat)).toBe(managerFingerprint(a));
    expect(managerFingerprint(node('a', { ready: false }))).not.toBe(managerFingerprint(a));
    expect(managerFingerprint(node('a', { reach: 'unreachable' }))).not.toBe(managerFingerprint(a));
    expect(managerFingerprint(node('a', { member: { status: 'True', reason: 'Leaving' } }))).not.toBe(managerFingerprint(a));
  });
});
