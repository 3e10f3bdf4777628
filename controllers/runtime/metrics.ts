// The runtime's Prometheus metrics under controller-runtime's and client-go's names, so existing
// dashboards fit. Several queues and controllers share one registry: each metric is created once.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { registeredOnce as once } from '../../lib/observability/metrics.js';
import { DURATION_BUCKETS } from '../../lib/queue/metrics.js';

export function controllerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    reconciles: once(registry, 'controller_runtime_reconcile_total', () =>
      new Counter({
        name: 'controller_runtime_reconcile_total',
        help: 'Reconciliations per controller and result (success, error, requeue, requeue_after).',
        labelNames: ['controller', 'result'] as const,
        registers,
      })),
    errors: once(registry, 'controller_runtime_reconcile_errors_total', () =>
      new Counter({
        name: 'controller_runtime_reconcile_errors_total',
        help: 'Reconciliation errors per controller.',
        labelNames: ['controller'] as const,
        registers,
      })),
    terminalErrors: once(registry, 'controller_runtime_terminal_reconcile_errors_total', () =>
      new Counter({
        name: 'controller_runtime_terminal_reconcile_errors_total',
        help: 'Terminal reconciliation errors (not retried) per controller.',
        labelNames: ['controller'] as const,
        registers,
      })),
    duration: once(registry, 'controller_runtime_reconcile_time_seconds', () =>
      new Histogram({
        name: 'controller_runtime_reconcile_time_seconds',
        help: 'Length of time per reconciliation per controller.',
        labelNames: ['controller'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers,
      })),
    activeWorkers: once(registry, 'controller_runtime_active_workers', () =>
      new Gauge({
        name: 'controller_runtime_active_workers',
        help: 'Workers currently running a reconcile, per controller.',
        labelNames: ['controller'] as const,
        registers,
      })),
    maxConcurrent: once(registry, 'controller_runtime_max_concurrent_reconciles', () =>
      new Gauge({
        name: 'controller_runtime_max_concurrent_reconciles',
        help: 'Maximum number of concurrent reconciles per controller.',
        labelNames: ['controller'] as const,
        registers,
      })),
  };
}

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;

export function leaderElectionMetrics(registry: Registry) {
  return {
    leading: once(registry, 'leader_election_master_status', () =>
      new Gauge({
        name: 'leader_election_master_status',
        help: '1 while this process holds the lease, else 0.',
        labelNames: ['name'] as const,
        registers: [registry],
      })),
  };
}

export function informerMetrics(registry: Registry) {
  return {
    // An informer that lists again after its first list has fallen behind or lost its watch: at scale, each costs a full list.
    relists: once(registry, 'persys_informer_relists_total', () =>
      new Counter({
        name: 'persys_informer_relists_total',
        help: 'Lists an informer made after its first one (watch too old or lost), per kind.',
        labelNames: ['kind'] as const,
        registers: [registry],
      })),
  };
}

export type InformerMetrics = ReturnType<typeof informerMetrics>;
