// The node agent's Prometheus metrics (persys_agent_*): reconciles (one per container uid) and actions, image pulls,
// the Docker breaker, and whether the stream to an API server is up.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function agentMetrics(registry: Registry) {
  return {
    reconciles: new Counter({
      name: 'persys_agent_reconcile_total',
      help: 'Reconciles of one container uid, by result (success, error).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'persys_agent_reconcile_duration_seconds',
      help: 'Duration of one uid reconcile, actions included.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    actions: new Counter({
      name: 'persys_agent_reconcile_actions_total',
      help: 'Docker actions taken by type (create, start, restart, remove, recreate) and result.',
      labelNames: ['action', 'result'] as const,
      registers: [registry],
    }),
    imagePulls: new Counter({
      name: 'persys_agent_image_pulls_total',
      help: 'Image pulls from a registry (one per shared pull, not per waiting container), by result (success, error, timeout, cancelled).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    imagePullDuration: new Histogram({
      name: 'persys_agent_image_pull_duration_seconds',
      help: 'Duration of one image pull, whatever its result.',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    imagePullBytes: new Counter({
      name: 'persys_agent_image_pull_bytes_total',
      help: 'Layer bytes downloaded by image pulls (layers already on the node excluded).',
      registers: [registry],
    }),
    managedContainers: new Gauge({
      name: 'persys_agent_managed_containers',
      help: 'Containers labelled for this node at the last re-list.',
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'persys_agent_docker_breaker_state',
      help: 'Docker circuit breaker: 0 closed, 1 half-open, 2 open.',
      registers: [registry],
    }),
    dockerHealthy: new Gauge({
      name: 'persys_agent_docker_healthy',
      help: '1 when the last Docker call succeeded and the breaker is not open.',
      registers: [registry],
    }),
    streamConnected: new Gauge({
      name: 'persys_agent_stream_connected',
      help: '1 while the stream to an API server is established.',
      registers: [registry],
    }),
    certificateExpiry: new Gauge({
      name: 'persys_agent_certificate_expiry_timestamp_seconds',
      help: "When the node certificate the agent uses expires (Unix seconds); the agent renews it at 70-90 % of its life.",
      registers: [registry],
    }),
    certificateRenewals: new Counter({
      name: 'persys_agent_certificate_renewals_total',
      help: 'Node certificate renewals over the stream, by result (renewed, refused, failed).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    dnsQueries: new Counter({
      name: 'persys_agent_dns_queries_total',
      help: 'Queries the agent DNS server answered, by type (A, AAAA, SRV, …) and result (answered, nodata, nxdomain, forwarded, servfail, formerr, notimp).',
      labelNames: ['type', 'result'] as const,
      registers: [registry],
    }),
    vipSyncs: new Counter({
      name: 'persys_agent_vip_syncs_total',
      help: 'Rewrites of the Service VIP rules (iptables), by result (success, error).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    vipSyncDuration: new Histogram({
      name: 'persys_agent_vip_sync_duration_seconds',
      help: 'Duration of one rewrite of the Service VIP rules.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    vipServicePorts: new Gauge({
      name: 'persys_agent_vip_service_ports',
      help: 'Service ports whose VIP has at least one endpoint programmed on this node.',
      registers: [registry],
    }),
    streamConnects: new Counter({
      name: 'persys_agent_stream_connects_total',
      help: 'Stream attempts by result (connected, failed).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

export type AgentMetrics = ReturnType<typeof agentMetrics>;
