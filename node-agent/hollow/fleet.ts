// Many hollow nodes in one process (kubemark's hollow kubelet, kwok): each joins with the token and a CSR,
// holds its own mTLS stream to the API servers and runs the real agent code over a simulated engine.
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { serveObservability, type ObservabilityServer } from '../../lib/observability/http.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { createRegistry } from '../../lib/observability/metrics.js';
import { defaultJoinServer, splitHostPort } from '../address.js';
import type { BackoffOptions } from '../connection.js';
import { ensureNodeCredentials, JoinError, loadCredentials, type NodeCredentials } from '../join.js';
import { startHollowNode, type HollowNode } from './node.js';

export interface HollowFleetOptions {
  count: number;
  /** mTLS API server addresses; node i uses this list rotated by i, so nodes spread and fail over in order. */
  servers: string[];
  /** @default each node's first server's port + 1 */
  joinServer?: string;
  /** Needed only by nodes with no certificate in their data dir yet. */
  token?: string;
  caCertHash?: string;
  /** @default 'hollow-' */
  namePrefix?: string;
  /** One sub-directory per node holds its certificate. */
  dataDir: string;
  /** @default 500 */
  startDelayMs?: number;
  /** @default 0 */
  failureRate?: number;
  /** @default 10_000 */
  heartbeatIntervalMs?: number;
  labels?: Record<string, string>;
  /** HOST:PORT of /metrics, /healthz, /readyz; none when absent. */
  metricsListen?: string;
  /** Joins in flight at once. @default 20 */
  joinConcurrency?: number;
  /** Deadline of the reachability check of each address and of each join call. @default 10_000 */
  connectTimeoutMs?: number;
  agentVersion?: string;
  logger?: Logger;
  backoff?: BackoffOptions;
}

export interface HollowFleet {
  readonly nodes: readonly HollowNode[];
  /** Distinct API servers the nodes share. */
  readonly servers: readonly string[];
  connectedCount(): number;
  /** Resolves once every node holds a stream that has received its desired state. */
  allConnected(): Promise<void>;
  metricsPort?: number;
  /** Stops every node (their containers vanish with the process). */
  stop(): Promise<void>;
}

/** An address the fleet must talk to did not answer: nothing was started. */
export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';
}

/** hollow-0000 …: zero-padded to at least 4 digits so names sort in order. */
export function hollowNodeName(prefix: string, i: number, count: number): string {
  return `${prefix}${String(i).padStart(Math.max(4, String(count - 1).length), '0')}`;
}

/** Node i's server list: the list rotated by i. */
export function serversOfNode(servers: readonly string[], i: number): string[] {
  const k = i % servers.length;
  return [...servers.slice(k), ...servers.slice(0, k)];
}

/** A TCP connect within timeoutMs, or ServerUnreachableError naming `what`. */
export function assertReachable(address: string, what: string, timeoutMs: number): Promise<void> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(new ServerUnreachableError(`cannot reach ${what} ${address}: ${why}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.once('error', (e) => fail(e.message));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

export async function startHollowFleet(opts: HollowFleetOptions): Promise<HollowFleet> {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new RangeError(`count must be a positive integer, got ${opts.count}`);
  if (!opts.servers.length) throw new RangeError('no API server address');
  const log = opts.logger ?? silentLogger();
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  const prefix = opts.namePrefix ?? 'hollow-';
  const plan = Array.from({ length: opts.count }, (_, i) => {
    const name = hollowNodeName(prefix, i, opts.count);
    const servers = serversOfNode(opts.servers, i);
    const dataDir = join(opts.dataDir, name);
    return { name, servers, dataDir, joinServer: opts.joinServer ?? defaultJoinServer(servers[0]!), stored: loadCredentials(dataDir) };
  });
  const joining = plan.filter((p) => !p.stored);
  // Checked before anything starts, so bad input fails at once instead of in 1,000 retry loops.
  if (joining.length && !opts.token) throw new JoinError(`${joining.length} nodes have no certificate under ${opts.dataDir} and no --token was given to join with`);
  if (joining.length && !opts.caCertHash) throw new JoinError('--ca-cert-hash is required to join: it is how the nodes know the cluster CA');
  await Promise.all([...new Set(opts.servers)].map((s) => assertReachable(s, 'API server', timeoutMs)));
  await Promise.all([...new Set(joining.map((p) => p.joinServer))].map((s) => assertReachable(s, 'the join port', timeoutMs)));

  const credentials = await joinAll(plan, opts, log, timeoutMs);

  const registry = createRegistry();
  const nodes: HollowNode[] = [];
  let connected = 0;
  let waiters: (() => void)[] = [];
  const settle = () => {
    if (connected < opts.count) return;
    for (const w of waiters.splice(0)) w();
  };
  new Gauge({ name: 'persys_hollow_nodes', help: 'Hollow nodes this process runs.', registers: [registry] }).set(opts.count);
  new Gauge({
    name: 'persys_hollow_nodes_connected',
    help: 'Hollow nodes whose stream to an API server is up.',
    registers: [registry],
    collect() {
      this.set(connected);
    },
  });
  new Gauge({
    name: 'persys_hollow_containers',
    help: 'Simulated containers on the hollow nodes, by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      let total = 0;
      let running = 0;
      for (const n of nodes) {
        const c = n.runtime.counts();
        total += c.total;
        running += c.running;
      }
      this.set({ state: 'running' }, running);
      this.set({ state: 'other' }, total - running);
    },
  });
  for (const [i, p] of plan.entries()) {
    nodes.push(
      startHollowNode({
        name: p.name,
        servers: p.servers,
        credentials: credentials[i]!,
        dataDir: p.dataDir,
        startDelayMs: opts.startDelayMs,
        failureRate: opts.failureRate,
        heartbeatIntervalMs: opts.heartbeatIntervalMs,
        labels: opts.labels,
        agentVersion: opts.agentVersion,
        logger: log.child({ node: p.name }),
        backoff: opts.backoff,
        onConnectedChange: (up) => {
          connected += up ? 1 : -1;
          settle();
        },
      }),
    );
  }
  let obs: ObservabilityServer | undefined;
  const stopNodes = () => Promise.all(nodes.map((n) => n.stop()));
  if (opts.metricsListen) {
    try {
      const { host, port } = splitHostPort(opts.metricsListen);
      obs = await serveObservability({
        host,
        port,
        registry,
        readiness: [
          {
            name: 'streams',
            check: async () => {
              if (connected < opts.count) throw new Error(`${opts.count - connected} of ${opts.count} hollow nodes not connected`);
            },
          },
        ],
      });
    } catch (e) {
      await stopNodes();
      throw e;
    }
    log.info({ port: obs.port }, 'serving /metrics, /healthz and /readyz');
  }
  log.info({ count: opts.count, servers: opts.servers }, 'hollow nodes started');
  return {
    nodes,
    servers: [...new Set(opts.servers)],
    metricsPort: obs?.port,
    connectedCount: () => connected,
    allConnected: () =>
      new Promise((resolve) => {
        waiters.push(resolve);
        settle();
      }),
    async stop() {
      await stopNodes();
      await obs?.close();
      waiters = [];
      log.info('hollow nodes stopped');
    },
  };
}

/** Each node's credentials, stored (checked to be its own) or fresh from a join; at most joinConcurrency joins at once, the first failure ends them all. */
async function joinAll(
  plan: { name: string; dataDir: string; joinServer: string; stored?: NodeCredentials }[],
  opts: HollowFleetOptions,
  log: Logger,
  timeoutMs: number,
): Promise<NodeCredentials[]> {
  const out: NodeCredentials[] = new Array(plan.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < plan.length) {
      const i = next++;
      const p = plan[i]!;
      // Stored credentials are read again there, and checked to be this node's.
      mkdirSync(p.dataDir, { recursive: true, mode: 0o700 });
      try {
        out[i] = await ensureNodeCredentials({
          dataDir: p.dataDir,
          nodeName: p.name,
          joinServer: p.joinServer,
          token: opts.token,
          caCertHash: opts.caCertHash,
          timeoutMs,
          logger: log.child({ node: p.name }),
        });
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const workers = Array.from({ length: Math.min(opts.joinConcurrency ?? 20, plan.length) }, worker);
  // Every worker ends before the first error is thrown: no join is left running behind the caller.
  const results = await Promise.allSettled(workers);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return out;
}
