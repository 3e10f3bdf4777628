// `persys agent`: runs the node agent on this Docker host: joins with a token (once), then keeps one
// mTLS stream to the API servers and the engine at the node's desired state until stopped.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseDuration } from '../lib/cli/duration.js';
import { str, type Command } from '../lib/cli/command.js';
import { JOIN_FLAGS } from '../lib/cli/join-flags.js';
import { UsageError } from '../lib/cli/usage-error.js';
import { untilStopped } from './apiserver.js';
import { clientVersion } from '../lib/cli/commands/version.js';

/** "k=v,k2=v2" → a label map; UsageError on a malformed pair. */
export function parseLabels(text: string | undefined, command = 'agent'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--labels: "${pair}" is not KEY=VALUE`, command);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** --node-ip, checked to be an IP address. */
function nodeIp(text: string | undefined): string | undefined {
  if (!text) return undefined;
  if (!isIP(text)) throw new UsageError(`--node-ip: "${text}" is not an IP address`, 'agent');
  return text;
}

/** --dns-listen, checked before anything starts. */
async function checkedDnsListen(text: string | undefined): Promise<string | undefined> {
  const { parseDnsListen } = await import('../node-agent/run.js');
  try {
    parseDnsListen(text);
  } catch (e) {
    throw new UsageError((e as Error).message, 'agent');
  }
  return text;
}

/** --service-cluster-ip-range, checked before anything starts. */
async function checkedRange(text: string): Promise<string> {
  const { Ipv4Range } = await import('../lib/api/ipv4-range.js');
  try {
    return Ipv4Range.parse(text).cidr;
  } catch (e) {
    throw new UsageError(`--service-cluster-ip-range: ${(e as Error).message}`, 'agent');
  }
}

export const agentCommand: Command = {
  name: 'agent',
  usage: 'persys agent --server HOST:PORT[,HOST:PORT] --token TOKEN --ca-cert-hash sha256:HEX [flags]',
  description:
    'The first run joins the cluster: it checks the CA presented on the join port against --ca-cert-hash,\n' +
    'sends a CSR with the token and stores the node certificate under --data-dir; later runs use it and\n' +
    'need neither --token nor --ca-cert-hash. Stopping the agent leaves its containers running.',
  flags: {
    server: {
      type: 'string',
      env: 'PERSYS_SERVER',
      valueName: 'HOST:PORT[,…]',
      default: '127.0.0.1:7443',
      description: 'API servers (mTLS port), comma-separated; the agent fails over between them',
    },
    'join-server': {
      type: 'string',
      env: 'PERSYS_JOIN_SERVER',
      valueName: 'HOST:PORT',
      description: 'join port (default: the first --server port + 1)',
    },
    ...JOIN_FLAGS,
    'node-name': { type: 'string', env: 'PERSYS_NODE_NAME', valueName: 'NAME', description: 'node name (default: the hostname)' },
    labels: { type: 'string', env: 'PERSYS_LABELS', valueName: 'K=V,…', description: 'labels of the Node' },
    'node-ip': {
      type: 'string',
      env: 'PERSYS_NODE_IP',
      valueName: 'IP',
      description: "the node's address for other nodes (its InternalIP, swarm's advertise address); default: every non-loopback IPv4",
    },
    'data-dir': {
      type: 'string',
      env: 'PERSYS_AGENT_DATA_DIR',
      valueName: 'DIR',
      default: './.persys-agent',
      description: 'where the node certificate is kept',
    },
    'docker-host': {
      type: 'string',
      env: 'PERSYS_DOCKER_HOST',
      valueName: 'URL',
      default: 'unix:///var/run/docker.sock',
      description: 'Docker engine (unix:///path or tcp://host:port)',
    },
    'heartbeat-interval': {
      type: 'string',
      env: 'PERSYS_HEARTBEAT_INTERVAL',
      valueName: 'DURATION',
      default: '10s',
      description: "how often usage and liveness are sent (renews the node's Lease; the node controller waits 40s by default)",
    },
    'reserved-cpu': { type: 'string', env: 'PERSYS_RESERVED_CPU', valueName: 'CPU', default: '100m', description: 'CPU kept out of allocatable' },
    'reserved-memory': {
      type: 'string',
      env: 'PERSYS_RESERVED_MEMORY',
      valueName: 'BYTES',
      default: '256Mi',
      description: 'memory kept out of allocatable',
    },
    'metrics-listen': {
      type: 'string',
      env: 'PERSYS_METRICS_LISTEN',
      valueName: 'HOST:PORT',
      default: '127.0.0.1:0',
      description: 'address of /metrics, /healthz and /readyz',
    },
    'dns-listen': {
      type: 'string',
      env: 'PERSYS_DNS_LISTEN',
      valueName: 'ADDR',
      default: 'bridge',
      description:
        "the node's DNS server for Service names (*.svc.persys.local, *.node.persys.local; other names go to /etc/resolv.conf's servers): " +
        "bridge (the engine's default bridge gateway, port 53), IP[:PORT], or off. Containers use it only on port 53",
    },
    'proxy-mode': {
      type: 'string',
      env: 'PERSYS_PROXY_MODE',
      valueName: 'MODE',
      default: 'iptables',
      description:
        "how Service VIPs work on this node: iptables (DNAT in persys's own nat chains; the VIP range gets an unreachable route, so no " +
        'packet to it leaves the node) or off (removes what an earlier run wrote)',
    },
    'service-cluster-ip-range': {
      type: 'string',
      env: 'PERSYS_SERVICE_CLUSTER_IP_RANGE',
      valueName: 'CIDR',
      default: '10.96.0.0/16',
      description: "the API server's --service-cluster-ip-range: the VIPs this node routes",
    },
    'certificate-renew-after': {
      type: 'string',
      valueName: 'DURATION',
      description: 'testing only: renew the node certificate this long after start or the last renewal, not at 70-90 % of its life',
    },
    'log-level': { type: 'string', env: 'PERSYS_LOG_LEVEL', valueName: 'LEVEL', default: 'info', description: 'pino log level' },
  },
  async run(ctx) {
    const { parseServerList } = await import('../node-agent/address.js');
    let servers: string[];
    try {
      servers = parseServerList(str(ctx.flags, 'server') ?? '');
    } catch (e) {
      throw new UsageError(`--server: ${(e as Error).message}`, 'agent');
    }
    const labels = parseLabels(str(ctx.flags, 'labels'));
    const heartbeatIntervalMs = parseDuration(str(ctx.flags, 'heartbeat-interval')!, 'heartbeat-interval', 'agent');
    const { createLogger } = await import('../lib/observability/logger.js');
    const logger = createLogger('agent', str(ctx.flags, 'log-level'));
    // Agent code is loaded on use, so client commands start fast.
    const { startNodeAgent } = await import('../node-agent/run.js');
    const dnsListen = await checkedDnsListen(str(ctx.flags, 'dns-listen'));
    const proxyMode = str(ctx.flags, 'proxy-mode');
    if (proxyMode !== 'iptables' && proxyMode !== 'off') throw new UsageError(`--proxy-mode: "${proxyMode}" is not iptables or off`, 'agent');
    const serviceClusterIpRange = await checkedRange(str(ctx.flags, 'service-cluster-ip-range')!);
    const running = await startNodeAgent({
      nodeName: str(ctx.flags, 'node-name') || hostname(),
      servers,
      joinServer: str(ctx.flags, 'join-server'),
      token: str(ctx.flags, 'token'),
      caCertHash: str(ctx.flags, 'ca-cert-hash'),
      dataDir: resolve(str(ctx.flags, 'data-dir')!),
      labels,
      nodeIp: nodeIp(str(ctx.flags, 'node-ip')),
      dockerHost: str(ctx.flags, 'docker-host'),
      heartbeatIntervalMs,
      metricsListen: str(ctx.flags, 'metrics-listen'),
      dnsListen,
      proxyMode,
      serviceClusterIpRange,
      reservedCpu: str(ctx.flags, 'reserved-cpu'),
      reservedMemory: str(ctx.flags, 'reserved-memory'),
      agentVersion: clientVersion(),
      certificateRenewAfterMs: str(ctx.flags, 'certificate-renew-after')
        ? parseDuration(str(ctx.flags, 'certificate-renew-after')!, 'certificate-renew-after', 'agent')
        : undefined,
      logger,
    });
    const why = await untilStopped(ctx.io.signal);
    logger.info({ signal: why }, 'stopping');
    await running.stop();
    return 0;
  },
};
