// The runtime's Prometheus metrics under controller-runtime's and client-go's names, so existing
// dashboards fit. Several queues and controllers share one registry: each metric is created once.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

function once<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

// controller-runtime's buckets: 10 µs … 1000 s in decades.
const DURATION_BUCKETS = [0.00001, 0.0001, 0.001, 0.01, 0.1, 1, 10, 100, 1000];

export function workQueueMetrics(registry: Registry) {
  const registers = [registry];
  return {
    depth: once(registry, 'workqueue_depth', () =>
      new Gauge({ name: 'workqueue_depth', help: 'Current depth of the work queue.', labelNames: ['name'] as const, registers })),
    adds: once(registry, 'workqueue_adds_total', () =>
      new Counter({ name: 'workqueue_adds_total', help: 'Adds handled by the work queue.', labelNames: ['name'] as const, registers })),
    queueDuration: once(registry, 'workqueue_queue_duration_seconds', () =>
      new Histogram({
        name: 'workqueue_queue_duration_seconds',
        help: 'How long an item stays in the work queue before being requested.',
        labelNames: ['name'] as const,
        buckets: DURATION_BUCKETS,
        registers,
      })),
    workDuration: once(registry, 'workqueue_work_duration_seconds', () =>
      new Histogram({
        name: 'workqueue_work_duration_seconds',
        help: 'How long processing an item from the work queue takes.',
        labelNames: ['name'] as const,
        buckets: DURATION_BUCKETS,
        registers,
      })),
    retries: once(registry, 'workqueue_retries_total', () =>
      new Counter({ name: 'workqueue_retries_total', help: 'Rate-limited retries handled by the work queue.', labelNames: ['name'] as const, registers })),
  };
}

export type WorkQueueMetrics = ReturnType<typeof workQueueMetrics>;

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
