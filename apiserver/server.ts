// Assembles one API server process: etcd storage, watch caches, the registry, the garbage collector,
// the compactor, the mTLS gRPC server (Resources, Operations, the agent stream, health, reflection),
// the join port (Agents.Join over server-only TLS) and the metrics/health port.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { Server, status as Code, type ServerCredentials } from '@grpc/grpc-js';
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
import { AccessControl } from './api/access.js';
import { Auditor } from './audit/auditor.js';
import { AuditLogFile } from './audit/log-file.js';
import { DEFAULT_AUDIT_POLICY, parseAuditPolicy } from './audit/policy.js';
import { RbacAuthorizer } from './api/rbac.js';
import { loadOrCreateSigningKey, ServiceAccountTokens } from './api/sa-tokens.js';
import { revokedCertificate } from './api/revocation.js';
import { operationsService } from './api/operations.js';
import { PeerApiServers } from './api/peers.js';
import { swarmOperationsService } from './api/swarm.js';
import { AgentHub } from './agents/hub.js';
import { joinService } from './agents/join.js';
import { startCredentialCollector } from './agents/credential-gc.js';
import { nodeCertificatesName } from './agents/node-certificates.js';
import { renewNodeCertificate } from './agents/node-signer.js';
import { SYSTEM_NAMESPACE } from './registry/bootstrap.js';
import { agentHubMetrics } from './agents/metrics.js';
import { caCertHash, type CertBundle } from '../lib/pki/index.js';
import { startGarbageCollector } from './registry/gc.js';
import { ensureBootstrapNamespaces, ensureBootstrapRbac } from './registry/bootstrap.js';
import { ResourceStore } from './registry/store.js';
import { CachedLister } from './registry/cached-list.js';
import { ClusterIpAllocator, DEFAULT_SERVICE_CLUSTER_IP_RANGE, Ipv4Range } from './registry/cluster-ip.js';
import { kindPrefix, objectKey } from './registry/keys.js';
import { findKind } from '../lib/api/kinds.js';
import { PROTO_DIR } from '../lib/package-files.js';
import { startCompactor } from './storage/compactor.js';
import { EtcdStorage } from './storage/etcd.js';
import { UndecryptableError } from './storage/errors.js';
import type { Storage } from './storage/interface.js';
import { loadEncryptionKeyFile } from './encryption/key-file.js';
import { EncryptionTransformer } from './encryption/transformer.js';
import { MeasuredStorage } from './storage/measured.js';
import { WatchHub } from './watch/hub.js';
import { ServingCertificate } from './serving-certificate.js';
import { resourcesServiceWithEncodedResponses } from './api/wire-encode.js';

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
  /** Where the audit log is written (JSON lines, rotated by size); none without it. */
  auditLogPath?: string;
  /** The audit policy (YAML rules of level, verbs, kinds, namespaces, users, groups). @default DEFAULT_AUDIT_POLICY */
  auditPolicyFile?: string;
  /** Rotate the audit log at this size. @default 100 MiB */
  auditLogMaxBytes?: number;
  /** Rotated audit logs kept. @default 5 */
  auditLogMaxBackups?: number;
  /** The ES256 key that signs ServiceAccount tokens; created when missing. @default sa.key beside the CA certificate */
  serviceAccountKeyFile?: string;
  /** The audience ServiceAccount tokens must name. @default "persys" */
  apiAudience?: string;
  /** @default 5 minutes, as kube-apiserver */
  compactionIntervalMs?: number;
  /** Idle time after which a watcher that allows bookmarks gets one. @default 60 s */
  bookmarkIntervalMs?: number;
  /**
   * YAML list of named AES-256 keys (encryption/key-file.ts): Secrets are encrypted at rest with the
   * first, read with any. Without it new Secrets are stored in clear.
   */
  encryptionKeyFile?: string;
  /** The kinds encrypted at rest (internal: tests). @default ['Secret'] */
  encryptedKinds?: string[];
  /**
   * Where Services' cluster IPs come from (IPv4 CIDR). Only allocated, never routed: agents are to
   * blackhole the range so no packet to it leaves a node. @default "10.96.0.0/16"
   */
  serviceClusterIpRange?: string;
  /** Lifetime of node certificates signed at join and renewal. @default 30 days */
  nodeCertTtlSeconds?: number;
  /** How often the serving certificate files are checked for a replacement. @default 10 s */
  servingCertPollMs?: number;
  /** How often expired join tokens and node certificate records are collected. @default 1 minute */
  credentialGcIntervalMs?: number;
  logger: Logger;
}

export interface RunningApiServer {
  port: number;
  /** The join port actually bound. */
  joinPort: number;
  metricsPort: number;
  store: ResourceStore;
  agents: AgentHub;
  /** Deletes expired join tokens and prunes node certificate records now (it also runs on a timer). */
  collectCredentials(): Promise<{ tokens: number; certificateRecords: number }>;
  /** Reads the serving certificate files again (SIGHUP); true when a new pair was taken into use. */
  reloadServingCertificate(): Promise<boolean>;
  stop(): Promise<void>;
}

function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i).replace(/^\[|\]$/g, ''), Number(hostPort.slice(i + 1))];
}

/**
 * A stored value this server cannot decrypt keeps its kind's watch cache from ever syncing, and the
 * server would wait for it forever: refuse to start instead, naming the values and the key to add back.
 */
async function requireDecryptable(storage: Storage, kinds: readonly string[]): Promise<void> {
  for (const kind of kinds) {
    try {
      await storage.list(kindPrefix(findKind(kind)!));
    } catch (err) {
      if (err instanceof UndecryptableError) throw new Error(`cannot start: ${err.message}`, { cause: err });
      throw err;
    }
  }
}

/** The encoding of persys_apiserver_etcd_breaker_state, as the agent's persys_agent_docker_breaker_state. */
const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const log = opts.logger;
  // First, so that a bad key file stops the server before it touches anything.
  const encryptedKinds = opts.encryptedKinds ?? ['Secret'];
  const encryption = new EncryptionTransformer({
    keys: opts.encryptionKeyFile ? loadEncryptionKeyFile(opts.encryptionKeyFile) : [],
    kinds: encryptedKinds,
  });
  if (opts.encryptionKeyFile) {
    log.info({ keyFile: opts.encryptionKeyFile, key: encryption.primaryKeyName, kinds: encryptedKinds }, 'encrypting at rest');
  }
  const serviceRange = Ipv4Range.parse(opts.serviceClusterIpRange ?? DEFAULT_SERVICE_CLUSTER_IP_RANGE);
  const caPem = readFileSync(opts.caCertFile, 'utf8');
  const serving = await ServingCertificate.load({
    certFile: opts.serverCertFile,
    keyFile: opts.serverKeyFile,
    caPem: Buffer.from(caPem),
    logger: log.child({ component: 'serving-certificate' }),
    pollMs: opts.servingCertPollMs,
    // Relays to peer API servers authenticate with the serving certificate too.
    onChange: (pair) => peers.useCredentials({ caPem: Buffer.from(caPem), certPem: pair.certPem, keyPem: pair.keyPem }),
  });
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
    transformer: encryption,
  });
  const storage = new MeasuredStorage(etcd, metrics.etcdDuration, metrics.etcdErrors);
  const watches = new WatchHub(storage, { logger: log, metrics, bookmarkIntervalMs: opts.bookmarkIntervalMs });
  const namespaces = watches.cache('Namespace');
  const store = new ResourceStore(storage, log, {
    cachedNamespace: (name) => namespaces.get(objectKey(findKind('Namespace')!, '', name)),
    lists: new CachedLister(storage, (kind) => watches.cache(kind)),
    cachedObject: (kind, key) => watches.cache(kind).get(key),
    rewritesStale: (kind) => encryptedKinds.includes(kind),
    clusterIps: new ClusterIpAllocator(storage, serviceRange, log.child({ component: 'cluster-ip' })),
  });
  try {
    await requireDecryptable(storage, encryptedKinds);
  } catch (err) {
    await storage.close();
    throw err;
  }
  await ensureBootstrapNamespaces(store);
  await ensureBootstrapRbac(store, log);
  await watches.start();
  const auditor = opts.auditLogPath
    ? new Auditor(
        opts.auditPolicyFile ? parseAuditPolicy(readFileSync(opts.auditPolicyFile, 'utf8'), opts.auditPolicyFile) : DEFAULT_AUDIT_POLICY,
        new AuditLogFile(opts.auditLogPath, { maxBytes: opts.auditLogMaxBytes, maxBackups: opts.auditLogMaxBackups }),
      )
    : undefined;
  const rbac = new RbacAuthorizer((kind) => watches.cache(kind), log.child({ component: 'rbac' }));
  rbac.start();
  const access = new AccessControl(rbac);
  const serviceAccounts = watches.cache('ServiceAccount');
  const serviceAccountInfo = findKind('ServiceAccount')!;
  const tokens = await ServiceAccountTokens.create({
    privateKeyPem: await loadOrCreateSigningKey(opts.serviceAccountKeyFile ?? join(dirname(opts.caCertFile), 'sa.key')),
    audience: opts.apiAudience,
    accountUid: (ns, name) => serviceAccounts.get(objectKey(serviceAccountInfo, ns, name))?.metadata.uid,
    freshAccountUid: async (ns, name) => (await storage.get(objectKey(serviceAccountInfo, ns, name)))?.value.metadata.uid,
  });
  const gc = startGarbageCollector(store, watches, { logger: log });
  const credentialGc = startCredentialCollector(store, { logger: log, intervalMs: opts.credentialGcIntervalMs });
  const configMapKind = findKind('ConfigMap')!;
  const nodeCertificates = (node: string) => watches.cache('ConfigMap').get(objectKey(configMapKind, SYSTEM_NAMESPACE, nodeCertificatesName(node)));
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
  const peers = new PeerApiServers(store, advertise, { caPem: Buffer.from(caPem), certPem: serving.current.certPem, keyPem: serving.current.keyPem });
  const hub = new AgentHub({
    store,
    watches,
    logger: log,
    metrics: agentHubMetrics(registry),
    streamServer: advertise,
    nodeCertificates,
    renewCertificate: (node, csrPem) => renewNodeCertificate({ store, ca, ttlSeconds: opts.nodeCertTtlSeconds, log: log.child({ component: 'node-certificates' }) }, node, csrPem),
  });
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
    // One interceptor: a revoked node certificate is refused as unauthenticated, whatever it asks; every
    // other call is authenticated and authorized before its handler runs.
    interceptors: [
      authzInterceptor(
        (path, code, message, id) => {
          const method = path.slice(path.lastIndexOf('/') + 1);
          const verb = method.charAt(0).toLowerCase() + method.slice(1);
          metrics.requests.inc({ verb, kind: '', code: Code[code] ?? String(code) });
          auditor?.record({ user: id?.user ?? 'system:anonymous', groups: id?.groups ?? [], verb: path, kind: '', code, message, latencyMs: 0 });
        },
        tokens,
        revokedCertificate(nodeCertificates, (path, node) => log.warn({ node, path }, 'refused a revoked node certificate')),
      ),
    ],
  });
  server.addService(withUnknownFieldChecks(resourcesServiceWithEncodedResponses), resourcesService({ store, watches, metrics, log, access, tokens, auditor }));
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
      access,
      auditor,
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

  // Reloadable: a rotated serving certificate reaches new connections; open ones (agent streams) stay.
  const credentials = serving.apiCredentials;
  const bind = (srv: Server, h: string, p: number, creds: ServerCredentials) =>
    new Promise<number>((resolve, reject) =>
      srv.bindAsync(`${h.includes(':') ? `[${h}]` : h}:${p}`, creds, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  boundPort = await bind(server, host, port, credentials);

  // The join port: server-auth TLS only (a joining node has no certificate yet). The chain carries the
  // CA after the server certificate so the node can pin the CA by its hash before trusting anything.
  const joinServer = new Server();
  joinServer.addService(AgentsService, joinService({ store, ca, log: log.child({ component: 'join' }), nodeCertTtlSeconds: opts.nodeCertTtlSeconds }));
  const [joinHost, joinPortWanted] = opts.joinListen ? splitHostPort(opts.joinListen) : [host, port === 0 ? 0 : port + 1];
  const joinCredentials = serving.joinCredentials;
  try {
    joinPort = await bind(joinServer, joinHost, joinPortWanted, joinCredentials);
  } catch (err) {
    server.forceShutdown();
    rbac.stop();
    serving.stop();
    gc.stop();
    credentialGc.stop();
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
    collectCredentials: () => credentialGc.sweep(),
    reloadServingCertificate: () => serving.reload('reload requested'),
    async stop() {
      health.setStatus('', 'NOT_SERVING');
      hub.stop();
      peers.close();
      joinServer.forceShutdown();
      rbac.stop();
      serving.stop();
      gc.stop();
      credentialGc.stop();
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
      await auditor?.close();
      await storage.close();
    },
  };
}
