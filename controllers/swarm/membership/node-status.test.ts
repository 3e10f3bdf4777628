// Tests of the Node status a membership round writes: status.swarm, SwarmMember and SwarmQuorum change,
// other writers' fields and conditions stay, nothing is written when nothing changes.
import { describe, expect, it } from 'vitest';
import type { QuorumVerdict } from './membership.js';
import { nodeStatusAfterRound, quorumTurnedAtRisk } from './node-status.js';

const T0 = '2024-05-01T12:00:00.000Z';
const T1 = '2024-05-01T12:05:00.000Z';
const healthy: QuorumVerdict = { managers: 3, reachable: 3, majority: 2, atRisk: false, message: '3 of 3 managers reachable; a majority (2) is needed' };
const atRisk: QuorumVerdict = { managers: 3, reachable: 1, majority: 2, atRisk: true, message: '1 of 3 managers reachable; a majority (2) is needed' };

const prev = {
  conditions: [
    { type: 'Ready', status: 'True', reason: 'AgentConnected', message: 'the node agent is connected', lastTransitionTime: T0 },
    { type: 'DockerReady', status: 'True', reason: 'DockerResponding', lastTransitionTime: T0 },
  ],
  addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
  lastHeartbeatTime: T0,
};

describe('nodeStatusAfterRound', () => {
  it('adds status.swarm and the swarm conditions and keeps everything else', () => {
    const next = nodeStatusAfterRound(
      prev,
      { swarm: { nodeId: 'm1', role: 'manager', availability: 'active', state: 'ready' }, member: { status: 'True', reason: 'Member', message: 'manager' }, inSwarm: true },
      healthy,
      T1,
    );
    expect(next.swarm).toEqual({ nodeId: 'm1', role: 'manager', availability: 'active', state: 'ready' });
    expect(next.addresses).toEqual(prev.addresses);
    expect(next.lastHeartbeatTime).toBe(T0);
    expect(next.conditions.slice(0, 2)).toEqual(prev.conditions);
    expect(next.conditions.find((c: { type: string }) => c.type === 'SwarmQuorum')).toEqual({
      type: 'SwarmQuorum',
      status: 'True',
      reason: 'QuorumHealthy',
      message: healthy.message,
      lastTransitionTime: T1,
    });
  });

  it('adds what the member list says to status.swarm, and drops it once no manager lists the node', () => {
    const basics = { nodeId: 'm1', role: 'manager', availability: 'active', state: 'ready' };
    const listed = { clusterId: 'c1', managerReachability: 'reachable', leader: true, managerAddr: '10.0.0.1:2377' };
    const once = nodeStatusAfterRound(prev, { swarm: basics, listed }, undefined, T1);
    expect(once.swarm).toEqual({ ...basics, ...listed });
    expect(nodeStatusAfterRound(once, { swarm: basics, listed }, undefined, T1)).toBeUndefined();
    // false and '' are left out, as the stored form leaves them out: no write every round.
    const worker = nodeStatusAfterRound(prev, { swarm: { ...basics, role: 'worker' }, listed: { clusterId: 'c1', managerReachability: '', leader: false, managerAddr: '' } }, undefined, T1);
    expect(worker.swarm).toEqual({ ...basics, role: 'worker', clusterId: 'c1' });
    expect(nodeStatusAfterRound(once, { swarm: { ...basics, state: 'active' } }, undefined, T1).swarm).toEqual({ ...basics, state: 'active' });
  });

  it('returns undefined when the round says what the status already says', () => {
    const report = { swarm: { nodeId: 'm1', role: 'manager', availability: 'active', state: 'ready' }, member: { status: 'True' as const, reason: 'Member', message: 'manager' }, inSwarm: true };
    const once = nodeStatusAfterRound(prev, report, healthy, T0);
    expect(nodeStatusAfterRound(once, report, healthy, T1)).toBeUndefined();
  });

  it('drops empty fields of status.swarm, so an inactive engine compares equal to its stored form', () => {
    const next = nodeStatusAfterRound(prev, { swarm: { nodeId: '', role: '', availability: '', state: 'inactive' } }, undefined, T1);
    expect(next.swarm).toEqual({ state: 'inactive' });
    expect(nodeStatusAfterRound(next, { swarm: { nodeId: '', role: '', availability: '', state: 'inactive' } }, undefined, T1)).toBeUndefined();
  });

  it('moves the SwarmQuorum transition time only when its status changes', () => {
    const healthyOnce = nodeStatusAfterRound(prev, { inSwarm: true }, healthy, T0);
    const risky = nodeStatusAfterRound(healthyOnce, { inSwarm: true }, atRisk, T1);
    const q = risky.conditions.find((c: { type: string }) => c.type === 'SwarmQuorum');
    expect(q).toMatchObject({ status: 'False', reason: 'QuorumAtRisk', message: atRisk.message, lastTransitionTime: T1 });
    expect(quorumTurnedAtRisk(healthyOnce, risky)).toBe(true);
    expect(quorumTurnedAtRisk(risky, nodeStatusAfterRound(risky, { inSwarm: true }, { ...atRisk, reachable: 0, message: 'x' }, T1))).toBe(false);
  });

  it('removes SwarmQuorum and SwarmMember from a node that is out of the swarm, and status.swarm when told', () => {
    const inIt = nodeStatusAfterRound(prev, { swarm: { nodeId: 'w', role: 'worker', availability: 'active', state: 'ready' }, member: { status: 'True', reason: 'Member', message: 'w' }, inSwarm: true }, healthy, T0);
    const out = nodeStatusAfterRound(inIt, { swarm: null, member: null, inSwarm: false }, healthy, T1);
    expect(out.swarm).toBeUndefined();
    expect(out.conditions.map((c: { type: string }) => c.type)).toEqual(['Ready', 'DockerReady']);
  });

  it('starts the SwarmMember clock when a join turns pending, though the condition stays False, and keeps it while pending', () => {
    const joining = nodeStatusAfterRound(prev, { member: { status: 'False', reason: 'Joining', message: 'joining' } }, undefined, T0);
    const pending = { member: { status: 'False' as const, reason: 'JoinPending', message: 'waits' } };
    const once = nodeStatusAfterRound(joining, pending, undefined, T1);
    expect(once.conditions.find((c: { type: string }) => c.type === 'SwarmMember')).toMatchObject({ reason: 'JoinPending', lastTransitionTime: T1 });
    const later = nodeStatusAfterRound(once, { member: { ...pending.member, message: 'still waits' } }, undefined, '2024-05-01T12:09:00.000Z');
    expect(later.conditions.find((c: { type: string }) => c.type === 'SwarmMember')).toMatchObject({ message: 'still waits', lastTransitionTime: T1 });
  });

  it('leaves the swarm fields alone when the round knows nothing about the node', () => {
    const inIt = nodeStatusAfterRound(prev, { swarm: { nodeId: 'w', role: 'worker', availability: 'active', state: 'ready' }, inSwarm: true }, healthy, T0);
    expect(nodeStatusAfterRound(inIt, {}, atRisk, T1)).toBeUndefined();
  });
});
