// Readings of what one engine reports about its swarm: whether it is an active member, and the
// status.swarm it gives its Node, from its own answer or from a manager's member list.
import type { SwarmMember, SwarmState } from '../../../lib/gen/persys/v1/agent.js';
import type { NodeSwarmStatus } from '../../../lib/gen/persys/v1/cluster.js';
import type { Observation } from './membership-model.js';

export const isActive = (s: SwarmState | undefined) => s?.localNodeState === 'active';
export const stateOf = (o: Observation | undefined) => (o?.reachable ? o.state : undefined);

export function memberStatus(m: SwarmMember): NodeSwarmStatus {
  return { nodeId: m.id, role: m.role, availability: m.availability, state: m.state };
}

export function localStatus(s: SwarmState): NodeSwarmStatus {
  const inSwarm = s.localNodeState !== 'inactive';
  return {
    nodeId: inSwarm ? s.nodeId : '',
    role: isActive(s) ? (s.controlAvailable ? 'manager' : 'worker') : '',
    availability: '',
    state: s.localNodeState || 'unknown',
  };
}
