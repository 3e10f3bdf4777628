// One node agent process assembled: Docker runtime, credentials (joining if needed), the control
// loop, the API server stream, heartbeats and the /metrics /healthz /readyz port. Used by
// `persys agent` and by `persys up`.
import { resolve } from 'node:path';
import Dockerode from 'dockerode';
import type { Logger } from 'pino';
import type { Heartbeat } from '../lib/gen/persys/v1/agent.js';
import { serveObservability, type ObservabilityServer } from '../lib/observability/http.js';
import { silentLogger } from '../lib/observability/logger.js';
import { createRegistry } from '../lib/observability/metrics.js';
import { EngineGuard } from '../lib/docker/engine-guard.js';
import { defaultJoinServer, splitHostPort } from './address.js';
import { NodeAgent } from './agent.js';
import { ComposeAgent } from './compose/agent.js';
import { DesiredRouter } from './desired-router.js';
import { AgentConnection, type BackoffOptions } from './connection.js';
import { DockerRuntime } from './docker/runtime.js';
import { ImagePuller } from './images/puller.js';
import { ensureNodeCredentials } from './join.js';
import { agentMetrics, type AgentMetrics } from './metrics.js';
import { DIRECTORY_KINDS, ServiceDirectory } from './dns/directory.js';
import { hostResolvers } from './dns/resolv-conf.js';
import { DnsServer } from './dns/server.js';
import { iptablesHost, type VipHost } from './vip/iptables.js';
import { EndpointDrain } from './vip/drain.js';
import { VipLoop } from './vip/loop.js';
import { DNS_CONDITION, type AgentCondition } from './conditions.js';
import { DEFAULT_SERVICE_CLUSTER_IP_RANGE } from '../lib/api/ipv4-range.js';
import { Condition } from '../lib/gen/persys/v1/meta.js';
import { RequestHandler } from './requests.js';
import { CertificateRenewer } from './renewal.js';
import type { SwarmEngine } from './swarm/engine.js';
import { ContainerUsageSampler, hostNodeInfo, NodeUsageSampler } from './usage.js';
import { ContainerUsageLoop } from './usage-loop.js';
import { usageMetrics } from './usage-metrics.js';

export interface NodeAgentProcessOptions {
  nodeName: string;
  /** mTLS API server addresses, failed over in order. */
  servers: string[];
  /** @default the first server's port + 1 */
  joinServer?: string;
  token?: string;
  caCertHash?: string;
  dataDir: string;
  labels?: Record<string, string>;
  /** The address other nodes reach this one at (InternalIP; swarm's advertise address). @default detected */
  nodeIp?: string;
  /** unix:///path or tcp://host:port. @default unix:///var/run/docker.sock */
  dockerHost?: string;
  /** @default 10_000 */
  heartbeatIntervalMs?: number;
  /** HOST:PORT of /metrics, /healthz, /readyz; none when absent. */
  metricsListen?: string;
  /** @default '100m' */
  reservedCpu?: string;
  /** @default '256Mi' */
  reservedMemory?: string;
  agentVersion?: string;
  logger?: Logger;
  backoff?: BackoffOptions;
  /** Renew the node certificate this long after it was loaded or renewed, not at 70-90 % of its life (tests). */
  certificateRenewAfterMs?: number;
  /**
   * Where the agent's DNS server listens: `bridge` (the engine's default bridge gateway, port 53), HOST or
   * HOST:PORT (IPv4), or `off`. Containers are pointed at it only when it listens on port 53. @default 'off'
   */
  dnsListen?: string;
  /** The resolv.conf whose nameservers get the names outside persys.local. @default '/etc/resolv.conf' */
  resolvConf?: string;
  /**
   * How Service VIPs work on this node: `iptables` (DNAT in persys's own nat chains, an unreachable route for
   * the VIP range) or `off` (persys chains and route of an earlier run are removed). @default 'off'
   */
  proxyMode?: 'iptables' | 'off';
  /** The API server's --service-cluster-ip-range: where VIPs come from. @default '10.96.0.0/16' */
  serviceClusterIpRange?: string;
  /** The programmer of VIP rules (tests may pass their own). @default iptables on this host */
  vipHost?: VipHost;
}

export interface RunningNodeAgent {
  agent: NodeAgent;
  connection: AgentConnection;
  renewer: CertificateRenewer;
  runtime: DockerRuntime;
  /** Port of the observability server, when one was asked for. */
  metricsPort?: number;
  /** Where the DNS server listens, when it does. */
  dns?: { host: string; port: number };
  /** Stops the agent; containers keep running. */
  stop(): Promise<void>;
}

export function dockerFromHost(host = 'unix:///var/run/docker.sock'): Dockerode {
  if (host.startsWith('unix://')) return new Dockerode({ socketPath: host.slice('unix://'.length) });
  const m = /^(?:tcp|http):\/\/([^:/]+):(\d+)\/?$/.exec(host);
  if (!m) throw new Error(`--docker-host ${JSON.stringify(host)}: use unix:///path or tcp://host:port`);
  return new Dockerode({ host: m[1], port: Number(m[2]) });
}

export async function startNodeAgent(opts: NodeAgentProcessOptions): Promise<RunningNodeAgent> {
  const log = opts.logger ?? silentLogger();
  const registry = createRegistry();
  const metrics = agentMetrics(registry);
  const docker = dockerFromHost(opts.dockerHost);
  // One guard for every call to this engine: Containers, compose stacks and swarm operations.
  const guard = new EngineGuard({ node: opts.nodeName });
  const runtime = new DockerRuntime({ docker, node: opts.nodeName, guard });
  let obs: ObservabilityServer | undefined;
  let dns: DnsServer | undefined;
  let vips: VipLoop | undefined;
  try {
    const creds = await ensureNodeCredentials({
      dataDir: opts.dataDir,
      nodeName: opts.nodeName,
      joinServer: opts.joinServer ?? defaultJoinServer(opts.servers[0]!),
      token: opts.token,
      caCertHash: opts.caCertHash,
      logger: log,
    });
    // Names before containers: a container created now already resolves through the agent.
    const directory = new ServiceDirectory();
    directory.onChange(() => vips?.changed());
    const dnsStart = await startDns(opts, docker, directory, metrics, log.child({ loop: 'dns' }));
    dns = dnsStart.server;
    const dnsServer = dns && dns.address.port === 53 ? dns.address.host : undefined;
    if (dns && !dnsServer) log.warn({ listen: dns.address }, 'the DNS server is not on port 53: containers keep the engine default DNS');
    vips = await startVips(opts, directory, metrics, log.child({ loop: 'vip' }));
    // Services and EndpointSlices are streamed to the node when its DNS server or its VIP rules use them
    // (either alone: a node may run without DNS and still program VIPs).
    const serviceDiscovery = !!dns || !!vips;
    const drain = serviceDiscovery ? new EndpointDrain({ directory, node: opts.nodeName }) : undefined;
    const agentConditions = (): AgentCondition[] => [...(dnsStart.condition ? [dnsStart.condition] : []), ...(vips ? [vips.condition] : [])];
    // One puller per node: every engine of the node that pulls shares its single-flight pulls.
    const puller = new ImagePuller({ runtime, metrics, logger: log.child({ loop: 'pull' }) });
    const agent = new NodeAgent({
      node: opts.nodeName,
      runtime,
      logger: log.child({ loop: 'reconcile' }),
      metrics,
      puller,
      // Absolute: the engine bind-mounts these paths.
      volumesDir: resolve(opts.dataDir, 'volumes'),
      dnsServer,
      drained: drain && ((ns, name) => drain.drained(ns, name)),
    });
    const stacks = new ComposeAgent({
      node: opts.nodeName,
      docker,
      logger: log.child({ loop: 'compose' }),
      filesDir: resolve(opts.dataDir, 'stacks'),
      puller,
      guard,
      dnsServer,
    });
    // Loaded on the first swarm request: most nodes never get one.
    let swarm: Promise<SwarmEngine> | undefined;
    const swarmEngine = () =>
      (swarm ??= import('./swarm/engine.js').then(({ SwarmEngine }) => new SwarmEngine({ docker, guard, logger: log })));
    const requests = new RequestHandler(
      runtime,
      () => agent.managedContainers(),
      log.child({ loop: 'requests' }),
      (ns, name, service) => stacks.containersOf(ns, name, service),
      async (req, signal) => (await swarmEngine()).handle(req, signal),
    );
    const nodeUsage = new NodeUsageSampler();
    // Sampled on its own timer: the heartbeat (the node's Lease) never waits on a stats call.
    const containerUsage = new ContainerUsageLoop({
      sampler: new ContainerUsageSampler(runtime),
      containers: () => agent.managedContainers(),
      engineHealthy: () => agent.dockerHealth().healthy,
      intervalMs: opts.heartbeatIntervalMs,
      logger: log.child({ loop: 'usage' }),
    });
    const usageGauges = usageMetrics(registry, opts.nodeName);
    const heartbeat = (): Heartbeat => {
      const health = agent.dockerHealth();
      const hb = {
        usage: nodeUsage.sample(),
        containers: containerUsage.snapshot(),
        dockerHealthy: health.healthy,
        dockerMessage: health.message,
        conditions: agentConditions().map((c) => Condition.fromPartial(c)),
      };
      usageGauges.record(hb);
      return hb;
    };
    const connection = new AgentConnection({
      servers: opts.servers,
      credentials: creds,
      agent: new DesiredRouter([
        { kinds: ['Container', 'Secret', 'ConfigMap'], consumer: agent },
        { kinds: ['ComposeStack', 'Secret', 'ConfigMap'], consumer: stacks },
        ...(serviceDiscovery ? [{ kinds: DIRECTORY_KINDS, consumer: directory }] : []),
      ]),
      serviceDiscovery,
      requests,
      nodeInfo: () =>
        hostNodeInfo({
          runtime,
          reservedCpu: opts.reservedCpu ?? '100m',
          reservedMemory: opts.reservedMemory ?? '256Mi',
          labels: opts.labels ?? {},
          agentVersion: opts.agentVersion ?? '',
          nodeIp: opts.nodeIp,
        }),
      heartbeat,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      backoff: opts.backoff,
      logger: log.child({ loop: 'stream' }),
      metrics,
    });
    if (opts.metricsListen) {
      const { host, port } = splitHostPort(opts.metricsListen);
      obs = await serveObservability({
        host,
        port,
        registry,
        readiness: [
          {
            name: 'stream',
            check: async () => {
              if (!connection.connected) throw new Error('not connected to an API server');
            },
          },
          {
            name: 'docker',
            check: async () => {
              const h = agent.dockerHealth();
              if (!h.healthy) throw new Error(h.message);
            },
          },
        ],
      });
      log.info({ port: obs.port }, 'serving /metrics, /healthz and /readyz');
    }
    const renewer = new CertificateRenewer({
      nodeName: opts.nodeName,
      credentials: creds,
      connection,
      dataDir: opts.dataDir,
      renewAfterMs: opts.certificateRenewAfterMs,
      logger: log.child({ loop: 'certificate' }),
      metrics,
    });
    agent.start();
    stacks.start();
    containerUsage.start();
    connection.start();
    await renewer.start();
    log.info({ node: opts.nodeName, servers: opts.servers }, 'node agent started');
    return {
      agent,
      connection,
      renewer,
      runtime,
      metricsPort: obs?.port,
      dns: dns?.address,
      async stop() {
        renewer.stop();
        await connection.stop();
        await containerUsage.stop();
        await agent.stop();
        await stacks.stop();
        await dns?.stop();
        // The VIP rules stay, as the containers do: they keep working until the agent is back.
        await vips?.stop();
        runtime.close();
        guard.close();
        await obs?.close();
        log.info('node agent stopped; containers left running');
      },
    };
  } catch (e) {
    await dns?.stop();
    await vips?.stop();
    runtime.close();
    guard.close();
    await obs?.close();
    throw e;
  }
}

/** The engine's default bridge gateway: the address containers on that network reach the host at. */
export async function bridgeGateway(docker: Dockerode): Promise<string> {
  const net = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
  const gateway = net.IPAM?.Config?.find((c) => c.Gateway && !c.Gateway.includes(':'))?.Gateway;
  if (!gateway) throw new Error('the engine\'s "bridge" network has no IPv4 gateway');
  return gateway.replace(/\/\d+$/, '');
}

/** Parses --dns-listen: undefined for off. */
export function parseDnsListen(text: string | undefined): { bridge: true; port: number } | { host: string; port: number } | undefined {
  const v = (text ?? 'off').trim();
  if (v === '' || v === 'off') return undefined;
  if (v === 'bridge') return { bridge: true, port: 53 };
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(v);
  if (!m || (m[2] !== undefined && Number(m[2]) > 65_535)) throw new Error(`--dns-listen: "${v}" is not off, bridge, IPv4 or IPv4:PORT`);
  return { host: m[1]!, port: m[2] === undefined ? 53 : Number(m[2]) };
}

/**
 * Starts the DNS server, or returns no server when it is off. A server that cannot start (no bridge, the
 * address taken) is logged as an error and reported in the ServiceDNSReady condition, and the agent runs on
 * without it: its containers then keep the engine's default DNS.
 */
async function startDns(
  opts: NodeAgentProcessOptions,
  docker: Dockerode,
  directory: ServiceDirectory,
  metrics: AgentMetrics,
  log: Logger,
): Promise<{ server?: DnsServer; condition?: AgentCondition }> {
  const listen = parseDnsListen(opts.dnsListen);
  if (!listen) return {};
  const condition = (status: 'True' | 'False', reason: string, message: string): AgentCondition => ({ type: DNS_CONDITION, status, reason, message });
  try {
    const host = 'bridge' in listen ? await bridgeGateway(docker) : listen.host;
    const upstreams = await hostResolvers(opts.resolvConf, { host, port: listen.port });
    const server = new DnsServer({ host, port: listen.port, lookup: directory, node: opts.nodeName, upstreams, ready: () => directory.ready, queries: metrics.dnsQueries, logger: log });
    await server.start();
    if (!upstreams.length) log.warn({ resolvConf: opts.resolvConf ?? '/etc/resolv.conf' }, 'no host resolvers: names outside persys.local get SERVFAIL');
    const at = `${server.address.host}:${server.address.port}`;
    return {
      server,
      condition:
        server.address.port === 53
          ? condition('True', 'Listening', `the DNS server for Service names listens on ${at}; containers use it`)
          : condition('False', 'NotOnPort53', `the DNS server listens on ${at}, not port 53: containers keep the engine's default DNS`),
    };
  } catch (err) {
    log.error({ err, listen: opts.dnsListen }, 'cannot start the DNS server: Service names do not resolve on this node, containers keep the engine default DNS');
    return { condition: condition('False', 'CannotListen', `cannot start the DNS server (--dns-listen ${opts.dnsListen}): ${(err as Error).message}`) };
  }
}

/**
 * Starts writing Service VIP rules when --proxy-mode is iptables. When it is off, rules and route an
 * earlier run left are removed (the agent owns them, nobody else would).
 */
async function startVips(opts: NodeAgentProcessOptions, directory: ServiceDirectory, metrics: AgentMetrics, log: Logger): Promise<VipLoop | undefined> {
  const host = opts.vipHost ?? iptablesHost();
  const serviceCidr = opts.serviceClusterIpRange ?? DEFAULT_SERVICE_CLUSTER_IP_RANGE;
  if ((opts.proxyMode ?? 'off') === 'off') {
    const left = await host.leftovers(serviceCidr).catch(() => false);
    if (left) {
      await host.removeAll(serviceCidr).then(
        () => log.info({ serviceCidr }, 'removed the Service VIP rules of an earlier run (--proxy-mode off)'),
        (err: unknown) => log.warn({ err }, 'cannot remove the Service VIP rules of an earlier run'),
      );
    }
    return undefined;
  }
  const loop = new VipLoop({
    lookup: directory,
    ready: () => directory.ready,
    node: opts.nodeName,
    serviceCidr,
    host,
    metrics: { syncs: metrics.vipSyncs, duration: metrics.vipSyncDuration, ports: metrics.vipServicePorts },
    logger: log,
  });
  await loop.start();
  return loop;
}
