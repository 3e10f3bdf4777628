// Table tests of planMembership: forming (init, adopt, replace), joining, pending joins, roles and
// labels, the last-manager guard, leaving and removal, foreign and adopted swarms, deleted Nodes,
// status.swarm and quorum.
import { describe, expect, it } from 'vitest';
import type { SwarmMember, SwarmState } from '../../../lib/gen/persys/v1/agent.js';
import { persysNodeOf, planMembership, quorumOf, type MembershipAction, type MembershipInput, type Observation, type PersysNode, type SwarmRecord } from './membership.js';

const CLUSTER = 'cluster-1';
const TOKENS = { worker: 'SWMTKN-1-aaa-worker', manager: 'SWMTKN-1-aaa-manager' };
const RECORD: SwarmRecord = { clusterId: CLUSTER, workerToken: TOKENS.worker, managerToken: TOKENS.manager };

function node(name: string, role: PersysNode['role'], o: Partial<PersysNode> = {}): PersysNode {
  return { name, role, ready: true, internalIp: `10.0.0.${name.charCodeAt(name.length - 1) % 50}`, labels: {}, lastNodeId: '', ...o };
}

function member(id: string, persysNode: string | undefined, role: 'manager' | 'worker', o: Partial<SwarmMember> = {}): SwarmMember {
  return {
    id,
    hostname: persysNode ?? id,
    role,
    availability: 'active',
    state: 'ready',
    addr: `10.0.0.${id.length}`,
    managerReachability: role === 'manager' ? 'reachable' : '',
    leader: false,
    labels: persysNode ? { 'dev.persys.node': persysNode } : {},
    message: '',
    ...o,
  };
}

const base: SwarmState = { localNodeState: 'inactive', nodeId: '', nodeAddr: '', controlAvailable: false, clusterId: '', error: '', remoteManagers: [], members: [] };
const inactive = (): Observation => ({ reachable: true, state: { ...base } });
const workerOf = (nodeId: string, o: Partial<SwarmState> = {}): Observation => ({
  reachable: true,
  state: { ...base, localNodeState: 'active', nodeId, remoteManagers: ['10.0.0.1:2377'], ...o },
});
const managerOf = (nodeId: string, members: SwarmMember[], o: Partial<SwarmState> = {}): Observation => ({
  reachable: true,
  state: {
    ...base,
    localNodeState: 'active',
    nodeId,
    nodeAddr: '10.0.0.1',
    controlAvailable: true,
    clusterId: CLUSTER,
    remoteManagers: members.filter((m) => m.role === 'manager').map((m) => `${m.addr}:2377`),
    members,
    joinTokens: TOKENS,
    ...o,
  },
});
const unreachable = (): Observation => ({ reachable: false, error: 'deadline exceeded' });

function plan(nodes: PersysNode[], observed: Record<string, Observation>, record?: SwarmRecord, now?: number) {
  const input: MembershipInput = { nodes, observed: new Map(Object.entries(observed)), record, now };
  return planMembership(input);
}
const kinds = (actions: MembershipAction[]) => actions.map((a) => `${a.type}:${a.node}`);

describe('forming the swarm', () => {
  it('inits on the first Ready manager by name, advertising its InternalIP, when nothing is recorded', () => {
    const p = plan([node('b', 'manager'), node('a', 'manager', { internalIp: '192.168.1.5' }), node('c', 'worker')], { a: inactive(), b: inactive(), c: inactive() });
    expect(p.actions).toEqual([{ type: 'init', node: 'a', advertiseAddr: '192.168.1.5' }]);
    expect(p.reports.get('a')!.member).toMatchObject({ status: 'False', reason: 'Initializing' });
    expect(p.reports.get('c')!.member).toMatchObject({ status: 'False', reason: 'NoSwarm' });
    expect(p.reports.get('a')!.swarm).toMatchObject({ state: 'inactive' });
    expect(p.quorum).toBeUndefined();
  });

  it('skips a manager that is not Ready and inits on the next', () => {
    const p = plan([node('a', 'manager', { ready: false }), node('b', 'manager')], { b: inactive() });
    expect(kinds(p.actions)).toEqual(['init:b']);
  });

  it('does not init while a Ready manager does not answer: it may hold a swarm to adopt', () => {
    const p = plan([node('a', 'manager'), node('b', 'manager')], { a: unreachable(), b: inactive() });
    expect(p.actions).toEqual([]);
    expect(p.reports.get('b')!.member?.message).toContain('waiting for node a');
  });

  it('does not init when no node has role manager, and says how to get one', () => {
    const p = plan([node('a', 'worker'), node('b', 'none')], { a: inactive(), b: inactive() });
    expect(p.actions).toEqual([]);
    expect(p.reports.get('a')!.member?.message).toContain('spec.swarm.role to manager');
    expect(p.reports.get('b')!.member).toBeNull();
  });

  it('adopts the swarm of a Ready manager that already manages one and records it', () => {
    const members = [member('m1', undefined, 'manager', { leader: true })];
    const p = plan([node('a', 'manager'), node('b', 'worker')], { a: managerOf('m1', members), b: inactive() });
    expect(p.recordWrite).toBe('write');
    expect(p.record).toEqual(RECORD);
    expect(p.actions.some((a) => a.type === 'init')).toBe(false);
    // The adopted manager gets its labels; the free worker joins.
    expect(kinds(p.actions)).toEqual(['updateNode:a', 'join:b']);
  });

  it('never inits while a node reports being a manager of the recorded swarm, even without a member list', () => {
    const p = plan([node('a', 'manager'), node('b', 'manager')], { a: managerOf('m1', []), b: inactive() }, RECORD);
    expect(p.actions).toEqual([]);
    expect(p.recordWrite).toBe('none');
    expect(p.quorum).toMatchObject({ atRisk: true });
    expect(p.quorum!.message).toContain('can list its members');
  });

  it('keeps the recorded swarm while a node of another role still manages it, though all role-manager nodes are free', () => {
    const p = plan([node('a', 'manager'), node('b', 'none')], { a: inactive(), b: managerOf('m9', []) }, RECORD);
    expect(p.actions).toEqual([]);
    expect(p.recordWrite).toBe('none');
  });

  it('replaces the recorded swarm only when every role-manager node answers and is in no swarm', () => {
    const all = plan([node('a', 'manager'), node('b', 'manager')], { a: inactive(), b: inactive() }, RECORD);
    expect(all.recordWrite).toBe('forget');
    expect(all.record).toBeUndefined();
    expect(kinds(all.actions)).toEqual(['init:a']);

    const oneSilent = plan([node('a', 'manager'), node('b', 'manager', { ready: false })], { a: inactive() }, RECORD);
    expect(oneSilent.actions).toEqual([]);
    expect(oneSilent.recordWrite).toBe('none');
  });

  it('never forgets the record while a node that was in the swarm does not answer, whatever its role', () => {
    const p = plan([node('a', 'worker', { lastNodeId: 'm1' }), node('b', 'manager')], { a: unreachable(), b: inactive() }, RECORD);
    expect(p.recordWrite).toBe('none');
    expect(p.actions).toEqual([]);
    expect(p.reports.get('b')!.member!.message).toContain('not yet: a');
  });

  it('never forgets the record while a node that was in the swarm is still in one', () => {
    const p = plan([node('a', 'none', { lastNodeId: 'w1' }), node('b', 'manager')], { a: workerOf('w1'), b: inactive() }, RECORD);
    expect(p.recordWrite).toBe('none');
    expect(p.actions).toEqual([]);
  });

  it('forgets the record once every node that was in the swarm answers and is in none', () => {
    const p = plan([node('a', 'worker', { lastNodeId: 'm1' }), node('b', 'manager')], { a: inactive(), b: inactive() }, RECORD);
    expect(p.recordWrite).toBe('forget');
    expect(kinds(p.actions)).toEqual(['init:b']);
  });

  it('does not form a first swarm while a node that was in one does not answer', () => {
    const p = plan([node('a', 'worker', { lastNodeId: 'm1', ready: false }), node('b', 'manager')], { b: inactive() });
    expect(p.actions).toEqual([]);
    expect(p.reports.get('b')!.member?.message).toContain('waiting for node a');
  });

  it('counts a manager that answers without members or cluster id (no quorum) as in the recorded swarm, at risk', () => {
    const noLeader = managerOf('m1', [], { clusterId: '', joinTokens: undefined, error: 'could not list the members: The swarm does not have a leader' });
    const p = plan([node('a', 'worker', { lastNodeId: 'm1' }), node('b', 'manager')], { a: noLeader, b: inactive() }, RECORD);
    expect(p.recordWrite).toBe('none');
    expect(p.actions).toEqual([]);
    expect(p.reports.get('a')).toMatchObject({ inSwarm: true, member: { status: 'Unknown', reason: 'NoManagerView' } });
    expect(p.reports.get('a')!.member!.message).toContain('lost quorum');
    expect(p.quorum).toMatchObject({ atRisk: true });
  });

  it('follows rotated join tokens into the record', () => {
    const members = [member('m1', 'a', 'manager', { leader: true })];
    const rotated = { worker: 'SWMTKN-1-bbb-worker', manager: TOKENS.manager };
    const p = plan([node('a', 'manager')], { a: managerOf('m1', members, { joinTokens: rotated }) }, RECORD);
    expect(p.recordWrite).toBe('write');
    expect(p.record!.workerToken).toBe(rotated.worker);
  });

  it('writes nothing to the record when it matches the managers', () => {
    const p = plan([node('a', 'manager')], { a: managerOf('m1', [member('m1', 'a', 'manager', { leader: true })]) }, RECORD);
    expect(p.recordWrite).toBe('none');
    expect(p.actions).toEqual([]);
  });
});

describe('joining', () => {
  const members = [member('m1', 'a', 'manager', { leader: true, addr: '10.0.0.1' })];

  it('joins an inactive worker with the managers as remote addresses and its InternalIP', () => {
    const p = plan([node('a', 'manager'), node('w', 'worker', { internalIp: '10.0.0.7' })], { a: managerOf('m1', members), w: inactive() }, RECORD);
    expect(p.actions).toEqual([{ type: 'join', node: 'w', role: 'worker', remoteAddrs: ['10.0.0.1:2377'], advertiseAddr: '10.0.0.7' }]);
    expect(JSON.stringify(p.actions)).not.toContain('SWMTKN');
    expect(p.reports.get('w')!.member).toMatchObject({ status: 'False', reason: 'Joining' });
    expect(p.reports.get('w')!.inSwarm).toBe(false);
  });

  it('joins an inactive manager with role manager', () => {
    const p = plan([node('a', 'manager'), node('b', 'manager')], { a: managerOf('m1', members), b: inactive() }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'join', node: 'b', role: 'manager' }]);
  });

  it('does not join a node that is not Ready or does not answer', () => {
    const p = plan([node('a', 'manager'), node('w', 'worker', { ready: false }), node('x', 'worker')], { a: managerOf('m1', members), x: unreachable() }, RECORD);
    expect(p.actions).toEqual([]);
    expect(p.reports.get('w')).toEqual({});
    expect(p.reports.get('x')).toEqual({});
  });

  it('leaves a node active in another swarm alone and says how to fix it', () => {
    const p = plan([node('a', 'manager'), node('w', 'worker')], { a: managerOf('m1', members), w: workerOf('zzz') }, RECORD);
    expect(p.actions).toEqual([]);
    expect(p.reports.get('w')!.member).toMatchObject({ status: 'False', reason: 'InAnotherSwarm' });
    expect(p.reports.get('w')!.member!.message).toContain('docker swarm leave');
    expect(p.reports.get('w')!.swarm).toMatchObject({ nodeId: 'zzz', role: 'worker', state: 'active' });
  });

  it('leaves a locked or failed engine alone with the reason', () => {
    const p = plan(
      [node('a', 'manager'), node('l', 'worker'), node('e', 'worker')],
      { a: managerOf('m1', members), l: { reachable: true, state: { ...base, localNodeState: 'locked' } }, e: { reachable: true, state: { ...base, localNodeState: 'error', error: 'timeout' } } },
      RECORD,
    );
    expect(p.actions).toEqual([]);
    expect(p.reports.get('l')!.member?.reason).toBe('SwarmLocked');
    expect(p.reports.get('e')!.member?.message).toContain('timeout');
    expect(p.reports.get('e')!.swarm).toMatchObject({ state: 'error' });
  });

  it('falls back to the managers’ addresses when the view lists no remote managers', () => {
    const p = plan([node('a', 'manager'), node('w', 'worker')], { a: managerOf('m1', members, { remoteManagers: [] }), w: inactive() }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'join', remoteAddrs: ['10.0.0.1:2377'] }]);
  });
});

describe('roles and labels', () => {
  it('promotes a worker whose role became manager, on a manager', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('w1', 'b', 'worker')];
    const p = plan([node('a', 'manager'), node('b', 'manager')], { a: managerOf('m1', members), b: workerOf('w1') }, RECORD);
    expect(p.actions).toEqual([
      { type: 'updateNode', on: 'a', node: 'b', nodeId: 'w1', role: 'manager', availability: 'active', labels: { 'dev.persys.node': 'b' }, roleChange: 'promote' },
    ]);
  });

  it('demotes a manager whose role became worker while another manager remains', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('m2', 'b', 'manager')];
    const p = plan([node('a', 'manager'), node('b', 'worker')], { a: managerOf('m1', members), b: managerOf('m2', members) }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'updateNode', on: 'a', node: 'b', role: 'worker', roleChange: 'demote' }]);
  });

  it('runs a demotion of the leader on another manager', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('m2', 'b', 'manager')];
    const p = plan([node('a', 'worker'), node('b', 'manager')], { a: managerOf('m1', members), b: managerOf('m2', members) }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'updateNode', on: 'b', node: 'a', roleChange: 'demote' }]);
  });

  it('never demotes the last manager and says so', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('w1', 'b', 'worker')];
    const p = plan([node('a', 'worker'), node('b', 'worker')], { a: managerOf('m1', members), b: workerOf('w1') }, RECORD);
    expect(p.actions).toEqual([]);
    expect(p.reports.get('a')!.member).toMatchObject({ status: 'True', reason: 'LastManager' });
  });

  it('never demotes both of two managers in one round', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('m2', 'b', 'manager')];
    const p = plan([node('a', 'worker'), node('b', 'worker')], { a: managerOf('m1', members), b: managerOf('m2', members) }, RECORD);
    expect(p.actions.filter((a) => a.type === 'updateNode' && a.roleChange === 'demote')).toHaveLength(1);
  });

  it('lets a demotion go when a promotion in the same round leaves a manager, promotion first', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('w1', 'b', 'worker')];
    const p = plan([node('a', 'worker'), node('b', 'manager')], { a: managerOf('m1', members), b: workerOf('w1') }, RECORD);
    expect(p.actions.map((a) => a.type === 'updateNode' && `${a.roleChange}:${a.node}`)).toEqual(['promote:b', 'demote:a']);
  });

  it('sets the Node labels, dev.persys.node and the list of keys it set, keeping labels it did not set', () => {
    const members = [member('m1', 'a', 'manager', { leader: true, labels: { zone: 'b', old: 'x' } })];
    const p = plan([node('a', 'manager', { labels: { zone: 'a', disk: 'ssd' } })], { a: managerOf('m1', members) }, RECORD);
    expect(p.actions).toEqual([
      {
        type: 'updateNode',
        on: 'a',
        node: 'a',
        nodeId: 'm1',
        role: 'manager',
        availability: 'active',
        labels: { zone: 'a', disk: 'ssd', old: 'x', 'dev.persys.node': 'a', 'dev.persys.managed-labels': 'disk,zone' },
      },
    ]);
  });

  it('removes only the Node-label keys it set before, never a label added by hand', () => {
    const labels = { zone: 'a', disk: 'ssd', rack: 'r1', 'dev.persys.node': 'a', 'dev.persys.managed-labels': 'disk,zone' };
    const members = [member('m1', 'a', 'manager', { leader: true, labels })];
    const p = plan([node('a', 'manager', { labels: { zone: 'b' } })], { a: managerOf('m1', members) }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'updateNode', node: 'a', labels: { zone: 'b', rack: 'r1', 'dev.persys.node': 'a', 'dev.persys.managed-labels': 'zone' } }]);
    expect(Object.keys((p.actions[0] as { labels: object }).labels)).not.toContain('disk');
  });

  it('sends no update when the labels it manages match, whatever else the member carries', () => {
    const labels = { zone: 'a', rack: 'r1', 'dev.persys.node': 'a', 'dev.persys.managed-labels': 'zone' };
    const p = plan([node('a', 'manager', { labels: { zone: 'a' } })], { a: managerOf('m1', [member('m1', 'a', 'manager', { leader: true, labels })]) }, RECORD);
    expect(p.actions).toEqual([]);
  });

  it('keeps the availability a member has when updating it', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('w1', 'b', 'worker', { availability: 'drain', labels: {} })];
    const p = plan([node('a', 'manager'), node('b', 'worker')], { a: managerOf('m1', members), b: workerOf('w1') }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'updateNode', node: 'b', availability: 'drain' }]);
  });
});

describe('leaving and removal', () => {
  it('makes a worker with role none leave, without force', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('w1', 'b', 'worker')];
    const p = plan([node('a', 'manager'), node('b', 'none')], { a: managerOf('m1', members), b: workerOf('w1') }, RECORD);
    expect(p.actions).toEqual([{ type: 'leave', node: 'b', force: false }]);
    expect(p.reports.get('b')!.member).toMatchObject({ reason: 'Leaving' });
  });

  it('demotes a manager with role none first when other managers exist', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('m2', 'b', 'manager')];
    const p = plan([node('a', 'manager'), node('b', 'none')], { a: managerOf('m1', members), b: managerOf('m2', members) }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'updateNode', node: 'b', role: 'worker', roleChange: 'demote', on: 'a' }]);
  });

  it('makes the last manager with role none leave with force', () => {
    const members = [member('m1', 'a', 'manager', { leader: true })];
    const p = plan([node('a', 'none')], { a: managerOf('m1', members) }, RECORD);
    expect(p.actions).toEqual([{ type: 'leave', node: 'a', force: true }]);
  });

  it('does not force the last manager out while another node wants to be a manager: that one joins first', () => {
    const members = [member('m1', 'a', 'manager', { leader: true })];
    const p = plan([node('a', 'none'), node('b', 'manager')], { a: managerOf('m1', members), b: inactive() }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'join', node: 'b', role: 'manager' }]);
    expect(p.reports.get('a')!.member).toMatchObject({ reason: 'Leaving' });
    expect(p.reports.get('a')!.member!.message).toContain('another manager (node b)');

    const notReady = plan([node('a', 'none'), node('b', 'manager', { ready: false })], { a: managerOf('m1', members) }, RECORD);
    expect(notReady.actions).toEqual([]);
  });

  it('demotes the old manager without force once the new one is a reachable member, on the new one', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('m2', 'b', 'manager')];
    const p = plan([node('a', 'none'), node('b', 'manager')], { a: managerOf('m1', members), b: managerOf('m2', members) }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'updateNode', on: 'b', node: 'a', role: 'worker', roleChange: 'demote' }]);
    expect(p.actions.some((a) => a.type === 'leave')).toBe(false);
  });

  it('does not force a manager out while other managers exist but are unreachable', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('m2', 'b', 'manager', { managerReachability: 'unreachable', state: 'down' })];
    const p = plan([node('a', 'none'), node('b', 'manager', { ready: false })], { a: managerOf('m1', members) }, RECORD);
    expect(p.actions).toEqual([]);
    expect(p.reports.get('a')!.member!.message).toContain('another manager');
  });

  it('removes the entry of a node that left once it shows down, on a manager, keeping its id in status until then', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('w1', 'b', 'worker', { state: 'down' })];
    const p = plan([node('a', 'manager'), node('b', 'none', { lastNodeId: 'w1' })], { a: managerOf('m1', members), b: inactive() }, RECORD);
    expect(p.actions).toEqual([{ type: 'removeNode', on: 'a', node: 'b', nodeId: 'w1', force: false }]);
    expect(p.reports.get('b')!.swarm).toMatchObject({ nodeId: 'w1', state: 'down' });
    expect(p.reports.get('b')!.inSwarm).toBe(false);
  });

  it('waits for a left node to show down before removing it', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('w1', 'b', 'worker', { state: 'ready' })];
    const p = plan([node('a', 'manager'), node('b', 'none', { lastNodeId: 'w1' })], { a: managerOf('m1', members), b: inactive() }, RECORD);
    expect(p.actions).toEqual([]);
  });

  it('reports a node with role none that is in no swarm as inactive and drops its SwarmMember condition', () => {
    const members = [member('m1', 'a', 'manager', { leader: true })];
    const p = plan([node('a', 'manager'), node('b', 'none')], { a: managerOf('m1', members), b: inactive() }, RECORD);
    expect(p.reports.get('b')).toEqual({ swarm: { nodeId: '', role: '', availability: '', state: 'inactive' }, member: null, inSwarm: false });
  });

  it('leaves a node with role none in a foreign swarm untouched', () => {
    const members = [member('m1', 'a', 'manager', { leader: true })];
    const p = plan([node('a', 'manager'), node('b', 'none')], { a: managerOf('m1', members), b: workerOf('zzz') }, RECORD);
    expect(p.actions).toEqual([]);
    expect(p.reports.get('b')!.member).toBeNull();
  });

  it('removes with force the member of a deleted Node, asking it to leave first while it is up', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('w1', 'gone', 'worker'), member('w2', 'gone2', 'worker', { state: 'down' })];
    const p = plan([node('a', 'manager')], { a: managerOf('m1', members) }, RECORD);
    expect(p.actions).toEqual([
      { type: 'leave', node: 'gone', force: false, bestEffort: true },
      { type: 'removeNode', on: 'a', node: 'gone', nodeId: 'w1', force: true },
      { type: 'removeNode', on: 'a', node: 'gone2', nodeId: 'w2', force: true },
    ]);
  });

  it('demotes the manager entry of a deleted Node before removing it', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('m2', 'gone', 'manager', { state: 'down', managerReachability: 'unreachable' })];
    const p = plan([node('a', 'manager')], { a: managerOf('m1', members) }, RECORD);
    expect(p.actions).toMatchObject([{ type: 'updateNode', node: 'gone', nodeId: 'm2', role: 'worker', roleChange: 'demote' }]);
  });

  it('leaves members of an adopted swarm whose Nodes have role none alone: no labels, demotion, leave or removal', () => {
    const members = [
      member('m1', undefined, 'manager', { leader: true, hostname: 'a' }),
      member('m2', undefined, 'manager', { hostname: 'b' }),
      member('w1', undefined, 'worker', { hostname: 'c' }),
      member('w0', undefined, 'worker', { hostname: 'c', state: 'down' }),
    ];
    const p = plan(
      [node('a', 'manager'), node('b', 'none'), node('c', 'none', { lastNodeId: 'w0' })],
      { a: managerOf('m1', members), b: managerOf('m2', members), c: workerOf('w1') },
    );
    expect(p.recordWrite).toBe('write');
    expect(p.actions).toEqual([{ type: 'updateNode', on: 'a', node: 'a', nodeId: 'm1', role: 'manager', availability: 'active', labels: { 'dev.persys.node': 'a' } }]);
    expect(p.reports.get('b')).toMatchObject({ inSwarm: true, swarm: { nodeId: 'm2', role: 'manager' }, member: { status: 'True', reason: 'NotManaged' } });
    expect(p.reports.get('c')!.member).toMatchObject({ reason: 'NotManaged' });
    expect(p.managers).toEqual(['a']);
  });

  it('never touches members that carry no persys label and belong to no Node', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('x1', undefined, 'worker', { state: 'down' })];
    const p = plan([node('a', 'manager')], { a: managerOf('m1', members) }, RECORD);
    expect(p.actions).toEqual([]);
  });

  it('removes the stale down entry a rejoined node left behind', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('old', 'b', 'worker', { state: 'down' }), member('new', 'b', 'worker')];
    const p = plan([node('a', 'manager'), node('b', 'worker', { lastNodeId: 'old' })], { a: managerOf('m1', members), b: workerOf('new') }, RECORD);
    expect(p.actions).toEqual([{ type: 'removeNode', on: 'a', node: 'b', nodeId: 'old', force: false }]);
    expect(p.reports.get('b')!.swarm).toMatchObject({ nodeId: 'new', state: 'ready' });
  });
});

describe('a join that stays pending', () => {
  const members = [member('m1', 'a', 'manager', { leader: true, addr: '10.0.0.1' })];
  const T0 = '2024-05-01T12:00:00.000Z';
  const pending = (): Observation => ({ reachable: true, state: { ...base, localNodeState: 'pending' } });
  const after = (ms: number) => Date.parse(T0) + ms;

  it('says so with the manager addresses tried, and waits', () => {
    const p = plan([node('a', 'manager'), node('w', 'worker')], { a: managerOf('m1', members, { remoteManagers: [] }), w: pending() }, RECORD, after(0));
    expect(p.actions).toEqual([]);
    expect(p.reports.get('w')!.member).toMatchObject({ status: 'False', reason: 'JoinPending' });
    expect(p.reports.get('w')!.member!.message).toContain('10.0.0.1:2377');
  });

  it('makes the engine leave with force after 2 minutes pending, so the next round joins it again', () => {
    const w = node('w', 'worker', { joinPendingSince: T0 });
    const early = plan([node('a', 'manager'), w], { a: managerOf('m1', members), w: pending() }, RECORD, after(60_000));
    expect(early.actions).toEqual([]);
    const late = plan([node('a', 'manager'), w], { a: managerOf('m1', members), w: pending() }, RECORD, after(121_000));
    expect(late.actions).toEqual([{ type: 'leave', node: 'w', force: true, joinTimedOut: true }]);
    expect(late.reports.get('w')!.member).toMatchObject({ reason: 'JoinPending' });
    expect(late.reports.get('w')!.member!.message).toContain('leaves to join again');
  });

  it('never gives a pending engine up without a manager view that shows it is no member', () => {
    const p = plan([node('a', 'manager', { ready: false }), node('w', 'worker', { joinPendingSince: T0 })], { w: pending() }, RECORD, after(600_000));
    expect(p.actions).toEqual([]);
    expect(p.reports.get('w')!.member).toMatchObject({ reason: 'JoinPending' });
  });
});

describe('status.swarm and the managers list', () => {
  it('reports members from the manager view and unreachable members by their label', () => {
    const members = [
      member('m1', 'a', 'manager', { leader: false }),
      member('m2', 'b', 'manager', { leader: true }),
      member('w1', 'c', 'worker', { state: 'down' }),
    ];
    const p = plan([node('a', 'manager'), node('b', 'manager'), node('c', 'worker', { ready: false })], { a: managerOf('m1', members), b: managerOf('m2', members) }, RECORD);
    expect(p.reports.get('c')).toMatchObject({ swarm: { nodeId: 'w1', role: 'worker', availability: 'active', state: 'down' }, inSwarm: true });
    expect(p.reports.get('a')!.swarm).toEqual({ nodeId: 'm1', role: 'manager', availability: 'active', state: 'ready' });
    expect(p.managers).toEqual(['b', 'a']);
  });

  it('reports what the member list says for the swarm-services controller: cluster, reachability, leader, manager address', () => {
    const members = [
      member('m1', 'a', 'manager', { leader: true }),
      member('m2', 'b', 'manager', { managerReachability: 'unreachable', addr: '10.0.0.9:2999' }),
      member('w1', 'c', 'worker'),
    ];
    const p = plan([node('a', 'manager'), node('b', 'manager'), node('c', 'worker'), node('d', 'worker')], { a: managerOf('m1', members), b: unreachable(), c: workerOf('w1'), d: inactive() }, RECORD);
    expect(p.reports.get('a')!.listed).toEqual({ clusterId: CLUSTER, managerReachability: 'reachable', leader: true, managerAddr: '10.0.0.2:2377' });
    expect(p.reports.get('b')!.listed).toEqual({ clusterId: CLUSTER, managerReachability: 'unreachable', leader: false, managerAddr: '10.0.0.9:2999' });
    expect(p.reports.get('c')!.listed).toEqual({ clusterId: CLUSTER, managerReachability: '', leader: false, managerAddr: '' });
    // Not in the member list: status.swarm has the basics only.
    expect(p.reports.get('d')!.listed).toBeUndefined();
  });

  it('lists nothing beyond the basics when no manager lists the members', () => {
    const p = plan([node('a', 'manager'), node('w', 'worker')], { a: managerOf('m1', [], { members: [] }), w: workerOf('w1') }, RECORD);
    expect([...p.reports.values()].map((r) => r.listed)).toEqual([undefined, undefined]);
  });

  it('leaves out of the managers list a manager whose agent does not answer', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('m2', 'b', 'manager')];
    const p = plan([node('a', 'manager'), node('b', 'manager')], { a: managerOf('m1', members), b: unreachable() }, RECORD);
    expect(p.managers).toEqual(['a']);
  });

  it('reports an unknown membership for a worker when no manager answers', () => {
    const p = plan([node('a', 'manager', { ready: false }), node('w', 'worker')], { w: workerOf('w1') }, RECORD);
    expect(p.actions).toEqual([]);
    expect(p.reports.get('w')).toMatchObject({ inSwarm: true, member: { status: 'Unknown', reason: 'NoManagerView' } });
    expect(p.quorum).toMatchObject({ atRisk: true });
    expect(p.managers).toEqual([]);
  });
});

describe('quorum', () => {
  const m = (id: string, reach: string) => member(id, id, 'manager', { managerReachability: reach });

  it.each([
    { managers: ['reachable'], atRisk: false, message: '1 of 1 managers reachable; a majority (1) is needed' },
    { managers: ['reachable', 'reachable', 'reachable'], atRisk: false, message: '3 of 3 managers reachable; a majority (2) is needed' },
    { managers: ['reachable', 'reachable', 'unreachable'], atRisk: false, message: '2 of 3 managers reachable; a majority (2) is needed' },
    { managers: ['reachable', 'unreachable', 'unreachable'], atRisk: true, message: '1 of 3 managers reachable; a majority (2) is needed' },
    { managers: ['reachable', 'unreachable'], atRisk: true, message: '1 of 2 managers reachable; a majority (2) is needed' },
    { managers: ['reachable', 'reachable', 'unreachable', 'unreachable'], atRisk: true, message: '2 of 4 managers reachable; a majority (3) is needed' },
    // Just promoted: no manager status yet, so not counted.
    { managers: ['reachable', ''], atRisk: false, message: '1 of 1 managers reachable; a majority (1) is needed' },
  ])('$message', ({ managers, atRisk, message }) => {
    const members = [...managers.map((r, i) => m(`m${i}`, r)), member('w', 'w', 'worker')];
    expect(quorumOf(members)).toMatchObject({ atRisk, message });
  });

  it('gives the verdict of the manager view in the plan', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('m2', 'b', 'manager', { managerReachability: 'unreachable', state: 'down' }), member('m3', 'c', 'manager', { managerReachability: 'unreachable', state: 'down' })];
    const p = plan([node('a', 'manager'), node('b', 'manager', { ready: false }), node('c', 'manager', { ready: false })], { a: managerOf('m1', members) }, RECORD);
    expect(p.quorum).toMatchObject({ managers: 3, reachable: 1, majority: 2, atRisk: true });
    expect(p.actions).toEqual([]);
  });

  it('reports no risk right after a promotion, while the new manager has no reachability yet', () => {
    const members = [member('m1', 'a', 'manager', { leader: true }), member('w1', 'b', 'manager', { managerReachability: '' })];
    const p = plan([node('a', 'manager'), node('b', 'manager')], { a: managerOf('m1', members), b: workerOf('w1') }, RECORD);
    expect(p.quorum).toMatchObject({ managers: 1, reachable: 1, atRisk: false });
  });

  it('has no verdict when there is no swarm', () => {
    expect(plan([node('a', 'worker')], { a: inactive() }).quorum).toBeUndefined();
  });
});

describe('no manager answers', () => {
  it('counts a Ready node that was in the swarm but fails its inspect as in it, at risk', () => {
    const p = plan([node('a', 'manager', { lastNodeId: 'm1' }), node('b', 'manager', { ready: false, lastNodeId: 'm2' })], { a: unreachable() }, RECORD);
    expect(p.actions).toEqual([]);
    expect(p.reports.get('a')).toEqual({ inSwarm: true });
    expect(p.reports.get('b')).toEqual({});
    expect(p.quorum!.message).toContain('although 1 node is in it');
  });
});

describe('persysNodeOf', () => {
  it('reads role, Ready, InternalIP, labels and the last swarm node id; no role is none', () => {
    const obj = {
      metadata: { name: 'n1', labels: { zone: 'a' } },
      spec: {},
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '10.1.2.3' }],
        swarm: { nodeId: 'abc', state: 'ready' },
      },
    };
    expect(persysNodeOf(obj)).toEqual({ name: 'n1', role: 'none', ready: true, internalIp: '10.1.2.3', labels: { zone: 'a' }, lastNodeId: 'abc' });
    const pendingSince = '2024-05-01T12:00:00.000Z';
    const joining = { ...obj, status: { ...obj.status, conditions: [{ type: 'SwarmMember', status: 'False', reason: 'JoinPending', lastTransitionTime: pendingSince }] } };
    expect(persysNodeOf(joining).joinPendingSince).toBe(pendingSince);
    expect(persysNodeOf({ metadata: { name: 'n2' }, spec: { swarm: { role: 'worker' } }, status: { conditions: [{ type: 'Ready', status: 'False' }] } })).toMatchObject({
      role: 'worker',
      ready: false,
      internalIp: '',
      lastNodeId: '',
    });
  });
});
