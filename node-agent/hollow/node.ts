// One hollow node: the real NodeAgent, RequestHandler and AgentConnection over a HollowRuntime, with
// made-up capacity and usage; only Containers (and the ConfigMaps and Secrets they read) run here.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Resource } from '../../lib/api/resource.js';
import type { Heartbeat, NodeInfo } from '../../lib/gen/persys/v1/agent.js';
import type { NodeUsage } from '../../lib/gen/persys/v1/cluster.js';
import { NodeAgent } from '../agent.js';
import { DIRECTORY_KINDS, type ServiceDirectory } from '../dns/directory.js';
import { AgentConnection, type BackoffOptions } from '../connection.js';
import { DesiredRouter, type DesiredStateConsumer } from '../desired-router.js';
import type { NodeCredentials } from '../join.js';
import { RequestHandler } from '../requests.js';
import { buildNodeInfo, ContainerUsageSampler } from '../usage.js';
import { ContainerUsageLoop } from '../usage-loop.js';
import { HollowRuntime, HollowUnsupportedError } from './runtime.js';

export interface HollowNodeOptions {
  name: string;
  /** API servers, failed over in this order. */
  servers: string[];
  credentials: NodeCredentials;
  /** Where the node's ConfigMap/Secret volume files would go (its own data dir). */
  dataDir: string;
  startDelayMs?: number;
  failureRate?: number;
  /** @default 10_000 (the product default) */
  heartbeatIntervalMs?: number;
  labels?: Record<string, string>;
  /** @default 32 */
  cpus?: number;
  /** @default 64 GiB */
  memoryBytes?: number;
  agentVersion?: string;
  logger: Logger;
  backoff?: BackoffOptions;
  onConnectedChange?(connected: boolean, server: string): void;
  /** The node's InternalIP in its NodeInfo; none: a Hostname address only. */
  nodeIp?: string;
  /** Fed with every Service, EndpointSlice and Node (the stream asks for them), for a DNS server on it. */
  serviceDirectory?: ServiceDirectory;
}

export interface HollowNode {
  readonly name: string;
  readonly runtime: HollowRuntime;
  readonly agent: NodeAgent;
  readonly connection: AgentConnection;
  stop(): Promise<void>;
}

/** What a hollow node says it uses: a little, and always the same. */
const HOLLOW_USAGE: NodeUsage = {
  cpuPercent: 1,
  memoryBytes: String(256 * 1024 * 1024),
  diskReadBytesPerSecond: '0',
  diskWriteBytesPerSecond: '0',
  networkRxBytesPerSecond: '0',
  networkTxBytesPerSecond: '0',
};

/** ComposeStacks have no engine on a hollow node: each is logged once rather than dropped silently. */
class NotOnHollowNode implements DesiredStateConsumer {
  private readonly warned = new Set<string>();
  constructor(private readonly log: Logger) {}
  attach(): void {}
  detach(): void {}
  setDesired(objects: Resource[]): void {
    for (const o of objects) this.warn(o);
  }
  applyChange(type: 'UPSERT' | 'DELETE', obj: Resource): void {
    if (type === 'UPSERT') this.warn(obj);
  }
  private warn(o: Resource): void {
    const uid = o.metadata.uid ?? `${o.metadata.namespace}/${o.metadata.name}`;
    if (this.warned.has(uid)) return;
    this.warned.add(uid);
    this.log.warn({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }, `${o.kind} is not supported on a hollow node; ignoring it`);
  }
}

export function startHollowNode(opts: HollowNodeOptions): HollowNode {
  const log = opts.logger;
  const runtime = new HollowRuntime({ node: opts.name, startDelayMs: opts.startDelayMs, failureRate: opts.failureRate });
  const agent = new NodeAgent({
    node: opts.name,
    runtime,
    logger: log.child({ loop: 'reconcile' }),
    volumesDir: join(opts.dataDir, 'volumes'),
  });
  const unsupported = (what: string) => async (): Promise<never> => {
    throw new HollowUnsupportedError(`${what} are not supported on a hollow node (${opts.name})`);
  };
  const requests = new RequestHandler(
    runtime,
    () => agent.managedContainers(),
    log.child({ loop: 'requests' }),
    unsupported('ComposeStacks'),
    unsupported('swarm operations'),
  );
  // As on a real node: usage sampled on its own timer, the heartbeat never waits for it.
  const containerUsage = new ContainerUsageLoop({
    sampler: new ContainerUsageSampler(runtime),
    containers: () => agent.managedContainers(),
    engineHealthy: () => true,
    intervalMs: opts.heartbeatIntervalMs,
    logger: log.child({ loop: 'usage' }),
  });
  const heartbeat = (): Heartbeat => ({
    usage: HOLLOW_USAGE,
    containers: containerUsage.snapshot(),
    dockerHealthy: true,
    dockerMessage: '',
    conditions: [],
  });
  const nodeInfo = async (): Promise<NodeInfo> =>
    buildNodeInfo({
      cpus: opts.cpus ?? 32,
      memTotalBytes: opts.memoryBytes ?? 64 * 1024 ** 3,
      reservedCpu: '0',
      reservedMemory: '0',
      dockerVersion: 'hollow',
      hostname: opts.name,
      interfaces: {},
      labels: opts.labels ?? {},
      os: 'linux',
      architecture: 'amd64',
      agentVersion: opts.agentVersion ?? '',
      nodeIp: opts.nodeIp,
    });
  const connection = new AgentConnection({
    servers: opts.servers,
    credentials: opts.credentials,
    agent: new DesiredRouter([
      { kinds: ['Container', 'Secret', 'ConfigMap'], consumer: agent },
      { kinds: ['ComposeStack'], consumer: new NotOnHollowNode(log) },
      ...(opts.serviceDirectory ? [{ kinds: DIRECTORY_KINDS, consumer: opts.serviceDirectory }] : []),
    ]),
    serviceDiscovery: !!opts.serviceDirectory,
    requests,
    nodeInfo,
    heartbeat,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    backoff: opts.backoff,
    logger: log.child({ loop: 'stream' }),
    onConnectedChange: opts.onConnectedChange,
  });
  agent.start();
  containerUsage.start();
  connection.start();
  return {
    name: opts.name,
    runtime,
    agent,
    connection,
    async stop() {
      await connection.stop();
      await containerUsage.stop();
      await agent.stop();
      runtime.close();
    },
  };
}
