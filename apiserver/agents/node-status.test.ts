import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../lib/gen/persys/v1/agent.js';
import { conditionOf, setCondition } from '../../lib/api/conditions.js';
import { statusAfterDockerHealth, statusAfterHello } from './node-status.js';

const info: NodeInfo = {
  capacity: { cpu: '2', memory: '4Gi' },
  allocatable: { cpu: '1900m', memory: '' },
  dockerVersion: '24',
  addresses: [],
  labels: {},
  os: 'linux',
  architecture: '',
  agentVersion: '1',
};

describe('node status', () => {
  it('moves a condition transition time only when its status changes', () => {
    const c1 = setCondition([], { type: 'Ready', status: 'True' }, 't1');
    expect(setCondition(c1, { type: 'Ready', status: 'True', reason: 'again' }, 't2')[0]).toMatchObject({ lastTransitionTime: 't1', reason: 'again' });
    expect(setCondition(c1, { type: 'Ready', status: 'False' }, 't3')[0]!.lastTransitionTime).toBe('t3');
  });

  it('after Hello: reported facts, Ready=True, DockerReady Unknown until a heartbeat; other writers keep their fields', () => {
    const prev = { swarm: { role: 'manager' }, conditions: [{ type: 'Other', status: 'True' }], architecture: 'arm64' };
    const s = statusAfterHello(prev, info, 'now');
    expect(s.capacity).toEqual({ cpu: '2', memory: '4Gi' });
    expect(s.allocatable).toEqual({ cpu: '1900m' });
    expect(s.swarm).toEqual({ role: 'manager' });
    expect(s.lastHeartbeatTime).toBe('now');
    expect(conditionOf(s, 'Ready')).toMatchObject({ status: 'True', reason: 'AgentConnected' });
    expect(conditionOf(s, 'DockerReady')?.status).toBe('Unknown');
    expect(conditionOf(s, 'Other')?.status).toBe('True');
  });

  it('sets DockerReady from a heartbeat only when it changes', () => {
    const s = statusAfterHello(undefined, info, 't0');
    const down = statusAfterDockerHealth(s, false, 'socket refused', 't1');
    expect(conditionOf(down, 'DockerReady')).toMatchObject({ status: 'False', message: 'socket refused', lastTransitionTime: 't1' });
    expect(statusAfterDockerHealth(down, false, 'socket refused', 't2')).toBeUndefined();
    expect(conditionOf(statusAfterDockerHealth(down, true, '', 't3'), 'DockerReady')?.status).toBe('True');
  });
});
