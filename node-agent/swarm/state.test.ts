// swarmState: Docker's /info, /nodes and join tokens as a SwarmState.
import { describe, expect, it } from 'vitest';
import { managerWithoutMembers, swarmState } from './state.js';

describe('swarmState', () => {
  it('reports an inactive engine with empty fields and no members or tokens', () => {
    const s = swarmState({ NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null });
    expect(s).toEqual({ localNodeState: 'inactive', nodeId: '', nodeAddr: '', controlAvailable: false, clusterId: '', error: '', remoteManagers: [], members: [] });
  });

  it('reports a manager that cannot list its members as a manager without members or tokens, the failure in error', () => {
    const s = managerWithoutMembers(
      { NodeID: 'n1', NodeAddr: '10.0.0.2', LocalNodeState: 'active', ControlAvailable: true, Error: 'rpc error: no leader', RemoteManagers: [{ NodeID: 'n1', Addr: '10.0.0.2:2377' }] },
      'list swarm nodes on node a failed: The swarm does not have a leader',
    );
    expect(s).toEqual({
      localNodeState: 'active',
      nodeId: 'n1',
      nodeAddr: '10.0.0.2',
      controlAvailable: true,
      clusterId: '',
      error: 'rpc error: no leader; list swarm nodes on node a failed: The swarm does not have a leader',
      remoteManagers: ['10.0.0.2:2377'],
      members: [],
    });
  });

  it('maps a manager with its members (a 0.0.0.0 address replaced by the manager address) and join tokens', () => {
    const s = swarmState(
      { NodeID: 'n1', NodeAddr: '10.0.0.2', LocalNodeState: 'active', ControlAvailable: true, RemoteManagers: [{ NodeID: 'n1', Addr: '10.0.0.2:2377' }], Cluster: { ID: 'c1' } },
      [
        {
          ID: 'n1',
          Spec: { Role: 'manager', Availability: 'active', Labels: { zone: 'a' } },
          Description: { Hostname: 'h1' },
          Status: { State: 'ready', Addr: '0.0.0.0' },
          ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.2:2377' },
        },
        { ID: 'n2', Spec: { Role: 'worker', Availability: 'drain' }, Description: { Hostname: 'h2' }, Status: { State: 'down', Addr: '10.0.0.3', Message: 'heartbeat failure' } },
      ],
      { Worker: 'SWMTKN-w', Manager: 'SWMTKN-m' },
    );
    expect(s).toMatchObject({ nodeId: 'n1', controlAvailable: true, clusterId: 'c1', remoteManagers: ['10.0.0.2:2377'], joinTokens: { worker: 'SWMTKN-w', manager: 'SWMTKN-m' } });
    expect(s.members).toEqual([
      { id: 'n1', hostname: 'h1', role: 'manager', availability: 'active', state: 'ready', addr: '10.0.0.2', managerReachability: 'reachable', leader: true, labels: { zone: 'a' }, message: '' },
      { id: 'n2', hostname: 'h2', role: 'worker', availability: 'drain', state: 'down', addr: '10.0.0.3', managerReachability: '', leader: false, labels: {}, message: 'heartbeat failure' },
    ]);
  });
});
