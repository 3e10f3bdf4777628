// The work queue's Prometheus metrics under client-go's names (workqueue_*), so existing dashboards
// fit. Several queues share one registry: each metric is created once and labelled by queue name.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { registeredOnce as once } from '../observability/metrics.js';

// controller-runtime's buckets: 10 µs … 1000 s in decades.
export const DURATION_BUCKETS = [0.00001, 0.0001, 0.001, 0.01, 0.1, 1, 10, 100, 1000];

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
