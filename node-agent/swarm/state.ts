// An engine's swarm membership as persys reports it (SwarmState, SwarmMember), from Docker's /info,
// /nodes and /swarm answers: pure mapping, no calls.
import type { SwarmJoinTokens, SwarmMember, SwarmState } from '../../lib/gen/persys/v1/agent.js';
import type { SwarmInfo, SwarmNode } from './docker-api.js';

export function swarmState(info: SwarmInfo, members: SwarmNode[] = [], tokens?: { Worker?: string; Manager?: string }): SwarmState {
  const state: SwarmState = {
    localNodeState: info.LocalNodeState ?? '',
    nodeId: info.NodeID ?? '',
    nodeAddr: info.NodeAddr ?? '',
    controlAvailable: !!info.ControlAvailable,
    clusterId: info.Cluster?.ID ?? '',
    error: info.Error ?? '',
    remoteManagers: (info.RemoteManagers ?? []).map((m) => m.Addr ?? '').filter(Boolean),
    members: members.map(swarmMember),
  };
  if (tokens) state.joinTokens = { worker: tokens.Worker ?? '', manager: tokens.Manager ?? '' } satisfies SwarmJoinTokens;
  return state;
}

/**
 * A manager that cannot list its members (one without quorum answers "The swarm does not have a
 * leader"): what docker info says, the failure in error, and neither members nor join tokens.
 */
export function managerWithoutMembers(info: SwarmInfo, failure: string): SwarmState {
  const state = swarmState(info);
  state.error = info.Error ? `${info.Error}; ${failure}` : failure;
  return state;
}

export function swarmMember(n: SwarmNode): SwarmMember {
  return {
    id: n.ID,
    hostname: n.Description?.Hostname ?? '',
    role: n.Spec?.Role ?? '',
    availability: n.Spec?.Availability ?? '',
    state: n.Status?.State ?? '',
    addr: memberAddr(n),
    managerReachability: n.ManagerStatus?.Reachability ?? '',
    leader: !!n.ManagerStatus?.Leader,
    labels: { ...n.Spec?.Labels },
    message: n.Status?.Message ?? '',
  };
}

/** Older engines report 0.0.0.0 for a manager that listens on all addresses; its manager address is right. */
function memberAddr(n: SwarmNode): string {
  const addr = n.Status?.Addr ?? '';
  const managerAddr = n.ManagerStatus?.Addr;
  if ((addr === '' || addr === '0.0.0.0') && managerAddr) return managerAddr.replace(/:\d+$/, '');
  return addr;
}
