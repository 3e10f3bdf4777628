// One Prometheus registry per process, with the API server's request, watch and etcd metrics.
// Naming: a metric that mirrors a Kubernetes component keeps its Kubernetes name (apiserver_*, etcd_*,
// workqueue_*, controller_runtime_*, leader_election_*) so existing dashboards fit; every other is persys_*.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { packageVersion } from '../package-files.js';

/** The metric of this name in the registry, made by make() the first time: processes share registries. */
export function registeredOnce<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/** A process's registry: Node's process metrics (process_*, nodejs_*) and persys_build_info. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Kubernetes' kubernetes_build_info: constant 1, the facts in labels, so queries can join on them.
  new Gauge({
    name: 'persys_build_info',
    help: 'persys version and the Node.js it runs on; always 1.',
    labelNames: ['version', 'node_version', 'platform'] as const,
    registers: [registry],
  }).set({ version: packageVersion(), node_version: process.version, platform: `${process.platform}/${process.arch}` }, 1);
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
    terminatedWatchers: new Counter({
      name: 'apiserver_terminated_watchers_total',
      help: 'Watchers the watch cache closed, by kind and reason (slow: fell behind or stalled; too-old; stopped; error).',
      labelNames: ['kind', 'reason'] as const,
      registers: [registry],
    }),
    watchCacheRelists: new Counter({
      name: 'persys_apiserver_watch_cache_relists_total',
      help: 'Times a watch cache lost its etcd watch and listed again, by kind.',
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
    etcdBreakerState: new Gauge({
      name: 'persys_apiserver_etcd_breaker_state',
      help: "The etcd client's circuit breaker per member: 0 closed, 1 half-open, 2 open (3 failed connections in a row open it for 5 s).",
      labelNames: ['member'] as const,
      registers: [registry],
    }),
    etcdErrors: new Counter({
      name: 'etcd_request_errors_total',
      help: 'etcd requests that failed, by operation (answers such as not found or conflict are not failures).',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    compactions: new Counter({
      name: 'persys_apiserver_compactions_total',
      help: 'etcd compactions this API server performed.',
      registers: [registry],
    }),
  };
}

export type ApiServerMetrics = ReturnType<typeof apiServerMetrics>;
