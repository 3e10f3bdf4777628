// Swarm membership planning: from the persys Nodes, what each engine reports about its swarm and the
// swarm persys recorded, decide the next steps (init, join, promote/demote/relabel, leave, remove),
// each Node's status.swarm and the quorum verdict. Pure: the controller inspects and carries out.
// This module is the public face; the parts live in the modules re-exported below.
import { findManagerView } from './manager-view.js';
import { byName, type MembershipInput, type MembershipPlan, type NodeSwarmReport } from './membership-model.js';
import { planWithView } from './plan-with-view.js';
import { planWithoutView } from './plan-without-view.js';

export { JOIN_PENDING_TIMEOUT_MS } from './join-blockers.js';
export { quorumOf } from './manager-view.js';
export {
  JOIN_PENDING_REASON,
  NOT_MANAGED_REASON,
  persysNodeOf,
  SWARM_MEMBER_CONDITION,
  type ConditionDraft,
  type MembershipAction,
  type MembershipInput,
  type MembershipPlan,
  type NodeSwarmReport,
  type Observation,
  type PersysNode,
  type QuorumVerdict,
  type SwarmRecord,
  type SwarmRole,
} from './membership-model.js';
export { desiredSwarmLabels, MANAGED_LABELS_LABEL, PERSYS_NODE_LABEL, sameLabels } from './swarm-labels.js';

export function planMembership(input: MembershipInput): MembershipPlan {
  const nodes = [...input.nodes].sort(byName);
  const reports = new Map<string, NodeSwarmReport>(nodes.map((n) => [n.name, {}]));
  const plan: MembershipPlan = { record: input.record, recordWrite: 'none', actions: [], reports, managers: [] };

  const view = findManagerView(nodes, input, plan);
  if (view) {
    planWithView(nodes, input, view, plan);
    return plan;
  }
  planWithoutView(nodes, input, plan);
  return plan;
}
