// The Node conditions the agent itself reports in its heartbeats; the API server sets them on the Node
// (apiserver/agents/node-status.ts, AGENT_CONDITION_TYPES) and removes one the agent stops reporting.

export interface AgentCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** Whether this node's Service VIP rules are in place (--proxy-mode iptables). */
export const VIP_CONDITION = 'ServiceVIPsReady';
/** Whether the node's DNS server for Service names runs where containers use it (--dns-listen). */
export const DNS_CONDITION = 'ServiceDNSReady';
