// Assembles one API server process: etcd storage, watch caches, the registry, the garbage collector,
// the compactor, the mTLS gRPC server (Resources, health, reflection) and the metrics/health port.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { ResourcesService } from '../lib/gen/persys/v1/api.js';
import { serveObservability, type ObservabilityServer } from '../lib/observability/http.js';
import { apiServerMetrics, createRegistry } from '../lib/observability/metrics.js';
import { resourcesService } from './api/service.js';
import { startGarbageCollector } from './registry/gc.js';
import { ensureDefaultNamespace } from './registry/bootstrap.js';
import { ResourceStore } from './registry/store.js';
import { objectKey } from './registry/keys.js';
import { findKind } from '../lib/api/kinds.js';
import { startCompactor } from './storage/compactor.js';
import { EtcdStorage } from './storage/etcd.js';
import { MeasuredStorage } from './storage/measured.js';
import { WatchHub } from './watch/hub.js';

export interface ApiServerOptions {
  etcdEndpoints: string[];
  /** Every key persys writes lives under it; several clusters can share one etcd. */
  etcdPrefix?: string;
  /** host:port for the gRPC API. @default "127.0.0.1:7443" */
  listen?: string;
  /** host:port for /metrics, /healthz, /readyz; port 0 picks one. @default "127.0.0.1:7080" */
  metricsListen?: string;
  caCertFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** @default 5 minutes, as kube-apiserver */
  compactionIntervalMs?: number;
  /** Idle time after which a watcher that allows bookmarks gets one. @default 60 s */
  bookmarkIntervalMs?: number;
  logger: Logger;
}

export interface RunningApiServer {
  port: number;
  metricsPort: number;
  store: ResourceStore;
  stop(): Promise<void>;
}

const PROTO_DIR = fileURLToPath(new URL('../proto', import.meta.url));

function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i).replace(/^\[|\]$/g, ''), Number(hostPort.slice(i + 1))];
}

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const log = opts.logger;
  const registry = createRegistry();
  const metrics = apiServerMetrics(registry);
  const etcd = new EtcdStorage({ endpoints: opts.etcdEndpoints, prefix: opts.etcdPrefix, logger: log });
  const storage = new MeasuredStorage(etcd, metrics.etcdDuration);
  const watches = new WatchHub(storage, { logger: log, metrics, bookmarkIntervalMs: opts.bookmarkIntervalMs });
  const namespaces = watches.cache('Namespace');
  const store = new ResourceStore(storage, log, {
    cachedNamespace: (name) => namespaces.get(objectKey(findKind('Namespace')!, '', name)),
  });
  await ensureDefaultNamespace(store);
  await watches.start();
  const gc = startGarbageCollector(store, watches, { logger: log });
  // The compactor coordinates API servers through etcd itself (compactInTurn), so it gets the backend.
  const compactor = startCompactor(etcd, {
    intervalMs: opts.compactionIntervalMs,
    logger: log,
    onCompact: () => metrics.compactions.inc(),
  });

  const server = new Server({
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  server.addService(ResourcesService, resourcesService({ store, watches, metrics, log }));
  const health = new HealthImplementation({ '': 'SERVING', 'persys.v1.Resources': 'SERVING' });
  health.addToServer(server);
  const definitions = protoLoader.loadSync('persys/v1/api.proto', { includeDirs: [PROTO_DIR] });
  new ReflectionService(definitions).addToServer(server);

  const credentials = ServerCredentials.createSsl(
    readFileSync(opts.caCertFile),
    [{ private_key: readFileSync(opts.serverKeyFile), cert_chain: readFileSync(opts.serverCertFile) }],
    true,
  );
  const [host, port] = splitHostPort(opts.listen ?? '127.0.0.1:7443');
  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );

  const [mHost, mPort] = splitHostPort(opts.metricsListen ?? '127.0.0.1:7080');
  const observability: ObservabilityServer = await serveObservability({
    host: mHost,
    port: mPort,
    registry,
    readiness: [
      { name: 'etcd', check: async () => void (await storage.currentRevision()) },
      { name: 'watch-caches', check: async () => watches.checkReady() },
    ],
  });
  log.info({ port: boundPort, metricsPort: observability.port }, 'API server listening');

  return {
    port: boundPort,
    metricsPort: observability.port,
    store,
    async stop() {
      health.setStatus('', 'NOT_SERVING');
      gc.stop();
      compactor.stop();
      watches.stop();
      // tryShutdown never finishes while watch streams are open: give it a moment, then force.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await observability.close();
      await storage.close();
    },
  };
}
