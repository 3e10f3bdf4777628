// Readings of what one engine reports about its swarm: whether it is an active member, and the
// status.swarm it gives its Node, from its own answer or from a manager's member list.
import type { SwarmMember, SwarmState } from '../../../lib/gen/persys/v1/agent.js';
import type { ListedMember, Observation, SwarmBasics } from './membership-model.js';

export const isActive = (s: SwarmState | undefined) => s?.localNodeState === 'active';
export const stateOf = (o: Observation | undefined) => (o?.reachable ? o.state : undefined);

export function memberStatus(m: SwarmMember): SwarmBasics {
  return { nodeId: m.id, role: m.role, availability: m.availability, state: m.state };
}

export function localStatus(s: SwarmState): SwarmBasics {
  const inSwarm = s.localNodeState !== 'inactive';
  return {
    nodeId: inSwarm ? s.nodeId : '',
    role: isActive(s) ? (s.controlAvailable ? 'manager' : 'worker') : '',
    availability: '',
    state: s.localNodeState || 'unknown',
  };
}

/** host:port of a manager from a member's address (the swarm's default port when it names none). */
export const managerAddrOf = (addr: string) => (addr.includes(':') ? addr : `${addr}:2377`);

/** What the member list of the persys swarm (clusterId) says of a member besides the basics. */
export function listedMember(m: SwarmMember, clusterId: string): ListedMember {
  const manager = m.role === 'manager';
  return {
    clusterId,
    managerReachability: manager ? m.managerReachability : '',
    leader: manager && m.leader,
    managerAddr: manager && m.addr ? managerAddrOf(m.addr) : '',
  };
}

