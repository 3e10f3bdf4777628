// Why an engine outside the persys swarm is not in it yet: a join still pending (and when to give it
// up), or a swarm state of its own that keeps it from joining.
import type { SwarmState } from '../../../lib/gen/persys/v1/agent.js';
import { JOIN_PENDING_REASON, type ConditionDraft, type PersysNode, type SwarmRecord } from './membership-model.js';

/** How long an engine may wait on a join before it is made to leave (forced) and join again. */
export const JOIN_PENDING_TIMEOUT_MS = 2 * 60_000;

/** Why an engine that is not in the persys swarm cannot simply join it, or undefined when it can. */
export function notJoinableReason(s: SwarmState, record: SwarmRecord | undefined): ConditionDraft | undefined {
  switch (s.localNodeState) {
    case 'inactive':
      return undefined;
    case 'locked':
      return { status: 'False', reason: 'SwarmLocked', message: "the engine's swarm is locked: unlock it with `docker swarm unlock` on the node" };
    case 'error':
      return {
        status: 'False',
        reason: 'SwarmError',
        message: `the engine's swarm is in error${s.error ? ` (${s.error})` : ''}: run \`docker swarm leave --force\` on the node to start over`,
      };
    default: {
      const which = s.clusterId ? `swarm ${s.clusterId}` : 'a swarm persys did not form';
      const persys = record ? ` instead of the persys swarm ${record.clusterId}` : '';
      return {
        status: 'False',
        reason: 'InAnotherSwarm',
        message: `the engine is in ${which}${persys}: run \`docker swarm leave\` on the node, or set spec.swarm.role to none`,
      };
    }
  }
}

/**
 * An engine that waits to reach the managers of a swarm (state pending), typically after a join that
 * outlived Docker's timeout. giveUp when it has waited longer than JOIN_PENDING_TIMEOUT_MS and the
 * caller knows it is no raft member (a manager view does not list it): a forced leave lets it join again.
 */
export function pendingJoin(n: PersysNode, s: SwarmState, given: readonly string[], now: number | undefined, mayGiveUp: boolean): { member: ConditionDraft; giveUp: boolean } {
  const addrs = s.remoteManagers.length > 0 ? s.remoteManagers : given;
  const where = addrs.length > 0 ? `the managers at ${addrs.join(', ')}` : 'its managers';
  const since = n.joinPendingSince ? Date.parse(n.joinPendingSince) : NaN;
  const giveUp = mayGiveUp && now !== undefined && Number.isFinite(since) && now - since > JOIN_PENDING_TIMEOUT_MS;
  const waiting = `the engine waits to reach ${where}${n.joinPendingSince ? ` since ${n.joinPendingSince}` : ''}: check that this node reaches them on TCP port 2377 and they reach its address ${n.internalIp || '(none reported)'}`;
  const message = giveUp ? `${waiting}; it gave up after ${JOIN_PENDING_TIMEOUT_MS / 1000} s and leaves to join again` : waiting;
  return { member: { status: 'False', reason: JOIN_PENDING_REASON, message }, giveUp };
}
