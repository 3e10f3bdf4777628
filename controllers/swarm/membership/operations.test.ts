// Tests of how planned actions become SwarmOperations calls: the node that runs each, and the join
// token taken from the record for the role, which descriptions never show.
import { describe, expect, it } from 'vitest';
import type { MembershipAction, SwarmRecord } from './membership.js';
import { describeAction, swarmCallOf } from './operations.js';

const record: SwarmRecord = { clusterId: 'c1', workerToken: 'SWMTKN-1-x-worker', managerToken: 'SWMTKN-1-x-manager' };

describe('swarmCallOf', () => {
  it('joins a worker with the worker token and a manager with the manager token, on the joining node', () => {
    const join = (role: 'manager' | 'worker'): MembershipAction => ({ type: 'join', node: 'b', role, remoteAddrs: ['10.0.0.1:2377'], advertiseAddr: '10.0.0.2' });
    expect(swarmCallOf(join('worker'), record)).toEqual({
      node: 'b',
      operation: { $case: 'join', value: { remoteAddrs: ['10.0.0.1:2377'], joinToken: record.workerToken, advertiseAddr: '10.0.0.2' } },
    });
    expect(swarmCallOf(join('manager'), record).operation).toMatchObject({ value: { joinToken: record.managerToken } });
  });

  it('refuses a join without a recorded token instead of sending an empty one', () => {
    expect(() => swarmCallOf({ type: 'join', node: 'b', role: 'worker', remoteAddrs: [], advertiseAddr: '' }, undefined)).toThrow(/no worker join token/);
  });

  it('runs updateNode and removeNode on the manager, init and leave on the node itself', () => {
    const update: MembershipAction = { type: 'updateNode', on: 'a', node: 'b', nodeId: 'n2', role: 'manager', availability: 'active', labels: { z: '1' }, roleChange: 'promote' };
    expect(swarmCallOf(update, record)).toEqual({ node: 'a', operation: { $case: 'updateNode', value: { nodeId: 'n2', role: 'manager', availability: 'active', labels: { z: '1' } } } });
    expect(swarmCallOf({ type: 'removeNode', on: 'a', node: 'b', nodeId: 'n2', force: true }, record)).toEqual({ node: 'a', operation: { $case: 'removeNode', value: { nodeId: 'n2', force: true } } });
    expect(swarmCallOf({ type: 'init', node: 'a', advertiseAddr: '10.0.0.1' }, undefined)).toEqual({ node: 'a', operation: { $case: 'init', value: { advertiseAddr: '10.0.0.1', defaultAddrPool: [] } } });
    expect(swarmCallOf({ type: 'init', node: 'a', advertiseAddr: '' }, undefined, ['10.241.0.0/16']).operation).toEqual({ $case: 'init', value: { advertiseAddr: '', defaultAddrPool: ['10.241.0.0/16'] } });
    expect(swarmCallOf({ type: 'leave', node: 'b', force: false }, record)).toEqual({ node: 'b', operation: { $case: 'leave', value: { force: false } } });
  });
});

describe('describeAction', () => {
  it('names the nodes and never a token', () => {
    const text = describeAction({ type: 'join', node: 'b', role: 'worker', remoteAddrs: ['10.0.0.1:2377'], advertiseAddr: '' });
    expect(text).toBe('join node b to the swarm as a worker');
    expect(describeAction({ type: 'updateNode', on: 'a', node: 'b', nodeId: 'n2', role: 'worker', availability: 'active', labels: {}, roleChange: 'demote' })).toBe('demote node b to worker (on a)');
  });
});
