// A planned membership action as the SwarmOperations request that carries it out: which node's agent
// runs it and the operation itself. The join token is filled in here, from the record, and nowhere else.
import type { SwarmOperation } from '../../../lib/client/swarm.js';
import type { MembershipAction, SwarmRecord } from './membership.js';

export interface SwarmCall {
  /** The Node whose agent runs the operation. */
  node: string;
  operation: SwarmOperation;
}

/** defaultAddrPool: overlay subnet pools for a new swarm (Docker's 10.0.0.0/8 when empty). */
export function swarmCallOf(action: MembershipAction, record: SwarmRecord | undefined, defaultAddrPool: readonly string[] = []): SwarmCall {
  switch (action.type) {
    case 'init':
      return { node: action.node, operation: { $case: 'init', value: { advertiseAddr: action.advertiseAddr, defaultAddrPool: [...defaultAddrPool] } } };
    case 'join': {
      const joinToken = (action.role === 'manager' ? record?.managerToken : record?.workerToken) ?? '';
      if (!joinToken) throw new Error(`no ${action.role} join token is recorded for swarm joins`);
      return { node: action.node, operation: { $case: 'join', value: { remoteAddrs: action.remoteAddrs, joinToken, advertiseAddr: action.advertiseAddr } } };
    }
    case 'leave':
      return { node: action.node, operation: { $case: 'leave', value: { force: action.force } } };
    case 'updateNode':
      return {
        node: action.on,
        operation: { $case: 'updateNode', value: { nodeId: action.nodeId, role: action.role, availability: action.availability, labels: action.labels } },
      };
    case 'removeNode':
      return { node: action.on, operation: { $case: 'removeNode', value: { nodeId: action.nodeId, force: action.force } } };
  }
}

/** One line on what an action does, for logs and Events (never holds a token). */
export function describeAction(action: MembershipAction): string {
  switch (action.type) {
    case 'init':
      return `form a new swarm on node ${action.node}${action.advertiseAddr ? ` advertising ${action.advertiseAddr}` : ''}`;
    case 'join':
      return `join node ${action.node} to the swarm as a ${action.role}`;
    case 'leave':
      if (action.joinTimedOut) return `make node ${action.node} leave the swarm it could not finish joining (forced)`;
      return `make node ${action.node} leave the swarm${action.force ? ' (forced: it is the last manager)' : ''}`;
    case 'updateNode':
      return action.roleChange
        ? `${action.roleChange} node ${action.node} to ${action.role} (on ${action.on})`
        : `set the swarm labels of node ${action.node} (on ${action.on})`;
    case 'removeNode':
      return `remove node ${action.node} (${action.nodeId}) from the swarm (on ${action.on})`;
  }
}
