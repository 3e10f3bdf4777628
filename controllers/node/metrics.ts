// The node controller's view of the nodes as Prometheus gauges, read from its informers when scraped:
// whether each node is Ready, and how old its Lease is (the time since its agent's last heartbeat).
import { Gauge, type Registry } from 'prom-client';
import type { LeaseObject, NodeObject } from '../../lib/api/typed.js';
import { registeredOnce } from '../../lib/observability/metrics.js';
import { readyCondition } from './health.js';

export interface NodeSample {
  node: string;
  /** 1 when the Ready condition is True; 0 when it is False, Unknown or not set yet. */
  ready: 0 | 1;
  /** Seconds since the Lease's renewTime; undefined while the node has no renewed Lease. */
  leaseAgeSeconds?: number;
}

/** Per node: Ready, and the age of its Lease (same name, in the node-lease namespace) at nowMs. */
export function nodeSamples(nodes: readonly NodeObject[], leases: readonly LeaseObject[], nowMs: number): NodeSample[] {
  const renewed = new Map(leases.map((l) => [l.metadata.name ?? '', Date.parse(l.spec?.renewTime ?? '')]));
  return nodes.map((n) => {
    const node = n.metadata.name ?? '';
    const at = renewed.get(node);
    const sample: NodeSample = { node, ready: readyCondition(n)?.status === 'True' ? 1 : 0 };
    if (at !== undefined && !Number.isNaN(at)) sample.leaseAgeSeconds = Math.max(0, (nowMs - at) / 1000);
    return sample;
  });
}

export interface NodeMetricsSource {
  /** Whether both informers have synced: before that, no series (rather than a cluster of zero nodes). */
  synced(): boolean;
  nodes(): NodeObject[];
  leases(): LeaseObject[];
  now(): number;
}

/**
 * persys_node_ready and persys_node_lease_age_seconds, computed at each scrape. Every copy of the
 * controller process reports them (its informers run whether it leads or not): aggregate with max by (node).
 */
export function registerNodeMetrics(registry: Registry, source: NodeMetricsSource): void {
  const samples = () => (source.synced() ? nodeSamples(source.nodes(), source.leases(), source.now()) : []);
  registeredOnce(registry, 'persys_node_ready', () =>
    new Gauge({
      name: 'persys_node_ready',
      help: "1 when the node's Ready condition is True, else 0.",
      labelNames: ['node'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of samples()) this.set({ node: s.node }, s.ready);
      },
    }));
  registeredOnce(registry, 'persys_node_lease_age_seconds', () =>
    new Gauge({
      name: 'persys_node_lease_age_seconds',
      help: "Seconds since the node's agent last renewed its Lease (its heartbeat).",
      labelNames: ['node'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of samples()) if (s.leaseAgeSeconds !== undefined) this.set({ node: s.node }, s.leaseAgeSeconds);
      },
    }));
}
