// The agent hub's Prometheus metrics: connected agents and the messages they send, by type.
import { Counter, Gauge, type Registry } from 'prom-client';

export function agentHubMetrics(registry: Registry) {
  return {
    connected: new Gauge({
      name: 'persys_apiserver_agents_connected',
      help: 'Node agents with an open stream to this API server.',
      registers: [registry],
    }),
    messages: new Counter({
      name: 'persys_apiserver_agent_messages_total',
      help: 'Messages received from node agents, by type (hello, heartbeat, status, chunk).',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    statusWrites: new Counter({
      name: 'persys_apiserver_agent_status_writes_total',
      help: 'Status reports from agents by outcome: written, unchanged (no write), or ignored (not bound to the node, unknown).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}

export type AgentHubMetrics = ReturnType<typeof agentHubMetrics>;
