// One Prometheus registry per process, with the API server's request, watch and etcd metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metric of this name in the registry, made by make() the first time: processes share registries. */
export function registeredOnce<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Metric names follow kube-apiserver's so existing dashboards fit. */
export function apiServerMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'apiserver_request_total',
      help: 'API requests by verb, kind and gRPC code.',
      labelNames: ['verb', 'kind', 'code'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'API request latency by verb and kind (Watch: until the stream is set up).',
      labelNames: ['verb', 'kind'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    watchers: new Gauge({
      name: 'apiserver_registered_watchers',
      help: 'Open client watch streams by kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    etcdDuration: new Histogram({
      name: 'etcd_request_duration_seconds',
      help: 'etcd request latency by operation.',
      labelNames: ['operation'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    compactions: new Counter({
      name: 'apiserver_storage_compactions_total',
      help: 'etcd compactions this API server performed.',
      registers: [registry],
    }),
  };
}

export type ApiServerMetrics = ReturnType<typeof apiServerMetrics>;
