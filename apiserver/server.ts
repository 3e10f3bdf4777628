// Assembles one API server process: etcd storage, watch caches, the registry, the garbage collector,
// the compactor, the mTLS gRPC server (Resources, Operations, the agent stream, health, reflection),
// the join port (Agents.Join over server-only TLS) and the metrics/health port.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Server, ServerCredentials, status as Code } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { AgentsService, OperationsService, SwarmOperationsService } from '../lib/gen/persys/v1/agent.js';
import { serveObservability, type ObservabilityServer } from '../lib/observability/http.js';
import { apiServerMetrics, createRegistry } from '../lib/observability/metrics.js';
import { resourcesService } from './api/service.js';
import { withUnknownFieldChecks } from './api/object-requests.js';
import { authzInterceptor } from './api/authz.js';
import { operationsService } from './api/operations.js';
import { PeerApiServers } from './api/peers.js';
import { swarmOperationsService } from './api/swarm.js';
import { AgentHub } from './agents/hub.js';
import { joinService } from './agents/join.js';
import { agentHubMetrics } from './agents/metrics.js';
import { caCertHash, type CertBundle } from '../lib/pki/index.js';
import { startGarbageCollector } from './registry/gc.js';
import { ensureBootstrapNamespaces } from './registry/bootstrap.js';
import { ResourceStore } from './registry/store.js';
import { CachedLister } from './registry/cached-list.js';
import { objectKey } from './registry/keys.js';
import { findKind } from '../lib/api/kinds.js';
import { PROTO_DIR } from '../lib/package-files.js';
import { startCompactor } from './storage/compactor.js';
import { EtcdStorage } from './storage/etcd.js';
import { MeasuredStorage } from './storage/measured.js';
import { WatchHub } from './watch/hub.js';
import { resourcesServiceWithEncodedWatch } from './watch/wire.js';

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
  /** The CA's private key, to sign node certificates at Join; without it Join answers UNAVAILABLE. */
  caKeyFile?: string;
  /** host:port of the join port (TLS, no client certificate, Agents.Join only). @default the API port + 1 (port 0 → a free port) */
  joinListen?: string;
  /** host:port new nodes are told to dial in join commands. @default the API address (this host's name for a wildcard) */
  advertiseAddress?: string;
  /** @default 5 minutes, as kube-apiserver */
  compactionIntervalMs?: number;
  /** Idle time after which a watcher that allows bookmarks gets one. @default 60 s */
  bookmarkIntervalMs?: number;
  logger: Logger;
}

export interface RunningApiServer {
  port: number;
  /** The join port actually bound. */
  joinPort: number;
  metricsPort: number;
  store: ResourceStore;
  agents: AgentHub;
  stop(): Promise<void>;
}

function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i).replace(/^\[|\]$/g, ''), Number(hostPort.slice(i + 1))];
}

/** The encoding of persys_apiserver_etcd_breaker_state, as the agent's persys_agent_docker_breaker_state. */
const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const log = opts.logger;
  const caPem = readFileSync(opts.caCertFile, 'utf8');
  const serverCertPem = readFileSync(opts.serverCertFile, 'utf8');
  const serverKeyPem = readFileSync(opts.serverKeyFile);
  const ca: CertBundle | undefined =
    opts.caKeyFile && existsSync(opts.caKeyFile) ? { certPem: caPem, keyPem: readFileSync(opts.caKeyFile, 'utf8') } : undefined;
  if (!ca) log.warn({ caKeyFile: opts.caKeyFile }, 'no CA key: nodes cannot join through this API server');

  const registry = createRegistry();
  const metrics = apiServerMetrics(registry);
  const etcd = new EtcdStorage({
    endpoints: opts.etcdEndpoints,
    prefix: opts.etcdPrefix,
    logger: log,
    onBreakerState: (member, state) => metrics.etcdBreakerState.set({ member }, BREAKER_STATE[state]),
  });
  const storage = new MeasuredStorage(etcd, metrics.etcdDuration, metrics.etcdErrors);
  const watches = new WatchHub(storage, { logger: log, metrics, bookmarkIntervalMs: opts.bookmarkIntervalMs });
  const namespaces = watches.cache('Namespace');
  const store = new ResourceStore(storage, log, {
    cachedNamespace: (name) => namespaces.get(objectKey(findKind('Namespace')!, '', name)),
    lists: new CachedLister(storage, (kind) => watches.cache(kind)),
    cachedObject: (kind, key) => watches.cache(kind).get(key),
  });
  await ensureBootstrapNamespaces(store);
  await watches.start();
  const gc = startGarbageCollector(store, watches, { logger: log });
  // The compactor coordinates API servers through etcd itself (compactInTurn), so it gets the backend.
  const compactor = startCompactor(etcd, {
    intervalMs: opts.compactionIntervalMs,
    logger: log,
    onCompact: () => metrics.compactions.inc(),
  });

  let boundPort = 0;
  let joinPort = 0;
  const [host, port] = splitHostPort(opts.listen ?? '127.0.0.1:7443');
  // Sessions write this server's address on their node's Lease, for peers to relay node requests here.
  const advertise = () => opts.advertiseAddress ?? `${['0.0.0.0', '::', ''].includes(host) ? hostname() : host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  const peers = new PeerApiServers(store, advertise, { caPem: Buffer.from(caPem), certPem: Buffer.from(serverCertPem), keyPem: serverKeyPem });
  const hub = new AgentHub({ store, watches, logger: log, metrics: agentHubMetrics(registry), streamServer: advertise });
  const server = new Server({
    // A ping 2 s after the last answer, given 5 s to come back: an agent link gone silent (a frozen or
    // cut-off host) is found 5-7 s later and its node's stream marked lost. Pinging often costs a
    // frame per agent every 2 s (500/s at 1,000 nodes); the 5 s timeout, not the interval, is what a
    // busy peer must meet, and the node controller's grace periods are longer than the total.
    'grpc.keepalive_time_ms': 2_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    // Channelz bookkeeping runs on every call and message; nothing here serves or reads it.
    'grpc.enable_channelz': 0,
    interceptors: [
      authzInterceptor((path, code) => {
        const method = path.slice(path.lastIndexOf('/') + 1);
        metrics.requests.inc({ verb: method.charAt(0).toLowerCase() + method.slice(1), kind: '', code: Code[code] ?? String(code) });
      }),
    ],
  });
  server.addService(withUnknownFieldChecks(resourcesServiceWithEncodedWatch), resourcesService({ store, watches, metrics, log }));
  server.addService(AgentsService, hub.service());
  server.addService(SwarmOperationsService, swarmOperationsService({ hub, log: log.child({ component: 'swarm-relay' }), metrics, peers }));
  server.addService(
    OperationsService,
    operationsService({
      store,
      hub,
      log,
      metrics,
      caCertHash: caCertHash(caPem),
      advertiseAddress: advertise,
      peers,
      joinAddress: () => {
        if (joinPort === boundPort + 1 && !opts.advertiseAddress) return undefined;
        return `${advertise().replace(/:\d+$/, '')}:${joinPort}`;
      },
    }),
  );
  const health = new HealthImplementation({ '': 'SERVING', 'persys.v1.Resources': 'SERVING', 'persys.v1.Operations': 'SERVING', 'persys.v1.Agents': 'SERVING' });
  health.addToServer(server);
  const definitions = protoLoader.loadSync(['persys/v1/api.proto', 'persys/v1/agent.proto'], { includeDirs: [PROTO_DIR] });
  new ReflectionService(definitions).addToServer(server);

  const credentials = ServerCredentials.createSsl(
    Buffer.from(caPem),
    [{ private_key: serverKeyPem, cert_chain: Buffer.from(serverCertPem) }],
    true,
  );
  const bind = (srv: Server, h: string, p: number, creds: ServerCredentials) =>
    new Promise<number>((resolve, reject) =>
      srv.bindAsync(`${h.includes(':') ? `[${h}]` : h}:${p}`, creds, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  boundPort = await bind(server, host, port, credentials);

  // The join port: server-auth TLS only (a joining node has no certificate yet). The chain carries the
  // CA after the server certificate so the node can pin the CA by its hash before trusting anything.
  const joinServer = new Server();
  joinServer.addService(AgentsService, joinService({ store, ca, log: log.child({ component: 'join' }) }));
  const [joinHost, joinPortWanted] = opts.joinListen ? splitHostPort(opts.joinListen) : [host, port === 0 ? 0 : port + 1];
  const joinCredentials = ServerCredentials.createSsl(
    null,
    [{ private_key: serverKeyPem, cert_chain: Buffer.from(`${serverCertPem.trimEnd()}\n${caPem.trimEnd()}\n`) }],
    false,
  );
  try {
    joinPort = await bind(joinServer, joinHost, joinPortWanted, joinCredentials);
  } catch (err) {
    server.forceShutdown();
    gc.stop();
    compactor.stop();
    watches.stop();
    await storage.close();
    throw new Error(`cannot listen on the join port ${joinHost}:${joinPortWanted} (set --join-listen): ${(err as Error).message}`, { cause: err });
  }

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
  log.info({ port: boundPort, joinPort, metricsPort: observability.port }, 'API server listening');

  return {
    port: boundPort,
    joinPort,
    metricsPort: observability.port,
    store,
    agents: hub,
    async stop() {
      health.setStatus('', 'NOT_SERVING');
      hub.stop();
      peers.close();
      joinServer.forceShutdown();
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
