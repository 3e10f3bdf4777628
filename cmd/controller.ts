// `persys controller NAME` runs one controller; `persys controllers` runs all of them in one process.
// A process runs its controllers under one leader-election Lease, so copies of one command never act twice.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Controller, Informer, InformerFactory, RunningControllers } from '../controllers/runtime/index.js';
import { ApiClient } from '../lib/client/client.js';
import type { SwarmClient } from '../lib/client/swarm.js';
import { bool, str, type Command, type CommandContext, type FlagSpecs, type FlagValues } from '../lib/cli/command.js';
import { parseDuration } from '../lib/cli/duration.js';
import { UsageError } from '../lib/cli/usage-error.js';
import { untilStopped } from './apiserver.js';

/** What a controller process runs for one controller. */
export interface ControllerSet {
  controllers: Controller[];
  informers: Informer[];
  /** Releases what the set holds besides its informers (e.g. a gRPC client), after its controllers stop. */
  close?(): void;
}

/** Tunables of individual controllers, from `persys controller(s)` flags; absent means the default. */
export interface ControllerSettings {
  nodeMonitorGracePeriodMs?: number;
  nodeStreamLossGracePeriodMs?: number;
  nodeEvictionTimeoutMs?: number;
  nodeEvictionRate?: number;
  autoscalerSyncPeriodMs?: number;
}

export interface ControllerDeps {
  client: ApiClient;
  logger: Logger;
  registry: Registry;
  settings: ControllerSettings;
  /** The process's informers, one per kind, shared by every controller set that takes them from here. */
  informers: InformerFactory;
}

export type ControllerFactory = (deps: ControllerDeps) => Promise<ControllerSet>;

/** Every controller by name; `persys controllers` runs them all. Controller code loads on use. */
export const CONTROLLERS: Readonly<Record<string, ControllerFactory>> = {
  docker: async (deps) => (await import('../controllers/docker/controller.js')).newDockerController(deps),
  containerset: async (deps) => (await import('../controllers/containerset/controller.js')).newContainerSetController(deps),
  cron: async (deps) => (await import('../controllers/cron/controller.js')).newCronController(deps),
  compose: async (deps) => (await import('../controllers/compose/controller.js')).newComposeController(deps),
  endpoints: async (deps) => (await import('../controllers/endpoints/controller.js')).newEndpointsController(deps),
  autoscaler: async (deps) =>
    (await import('../controllers/autoscaler/controller.js')).newAutoscalerController({
      ...deps,
      syncPeriodMs: deps.settings.autoscalerSyncPeriodMs,
    }),
  'swarm-membership': async (deps) =>
    withSwarmClient(deps, async (swarm) => (await import('../controllers/swarm/membership/controller.js')).newSwarmMembershipController({ ...deps, swarm })),
  'swarm-services': async (deps) =>
    withSwarmClient(deps, async (swarm) => (await import('../controllers/swarm/services/controller.js')).newSwarmServicesController({ ...deps, swarm })),
  node: async (deps) =>
    (await import('../controllers/node/controller.js')).newNodeController({
      ...deps,
      gracePeriodMs: deps.settings.nodeMonitorGracePeriodMs,
      streamLossGracePeriodMs: deps.settings.nodeStreamLossGracePeriodMs,
      evictionTimeoutMs: deps.settings.nodeEvictionTimeoutMs,
      evictionsPerSecond: deps.settings.nodeEvictionRate,
    }),
};

/**
 * Names that select several controllers. `swarm` was one controller before membership and services
 * became two (they share state only through Node status), and still runs both.
 */
export const CONTROLLER_ALIASES: Readonly<Record<string, readonly string[]>> = {
  swarm: ['swarm-membership', 'swarm-services'],
};

/** A controller set that calls nodes' engines through the API server, with its own client for that. */
async function withSwarmClient(
  deps: ControllerDeps,
  build: (swarm: SwarmClient) => Promise<Omit<ControllerSet, 'close'>>,
): Promise<ControllerSet> {
  const { SwarmClient } = await import('../lib/client/swarm.js');
  const swarm = new SwarmClient(deps.client.config);
  try {
    return { ...(await build(swarm)), close: () => swarm.close() };
  } catch (err) {
    swarm.close();
    throw err;
  }
}

export const CONTROLLER_FLAGS: FlagSpecs = {
  'leader-elect': {
    type: 'boolean',
    env: 'PERSYS_LEADER_ELECT',
    default: true,
    description:
      'act only while holding the Lease persys-controllers (persys-controller-NAME for one controller); copies that compete must run the same controllers; --leader-elect=false is for a single copy',
  },
  'leader-elect-namespace': {
    type: 'string',
    env: 'PERSYS_LEADER_ELECT_NAMESPACE',
    valueName: 'NS',
    default: 'persys-system',
    description: 'namespace of the leader-election Leases',
  },
  'metrics-listen': {
    type: 'string',
    env: 'PERSYS_METRICS_LISTEN',
    valueName: 'HOST:PORT',
    default: '127.0.0.1:7081',
    description: 'address of /metrics, /healthz and /readyz (port 0 picks one)',
  },
  'log-level': { type: 'string', env: 'PERSYS_LOG_LEVEL', valueName: 'LEVEL', default: 'info', description: 'pino log level' },
  'node-monitor-grace-period': {
    type: 'string',
    env: 'PERSYS_NODE_MONITOR_GRACE_PERIOD',
    valueName: 'DURATION',
    default: '40s',
    description:
      "how old a node's lease may get before the node is NotReady: for an agent that is silent but whose stream never broke (keep it above the agents' 10s stream keepalive and a few heartbeats)",
  },
  'node-stream-loss-grace-period': {
    type: 'string',
    env: 'PERSYS_NODE_STREAM_LOSS_GRACE_PERIOD',
    valueName: 'DURATION',
    default: '3s',
    description:
      "how long a node whose agent stream broke from the agent's side (crash, lost host or link) has to reconnect to any API server before it is NotReady; a live agent reconnects in about 1s; streams an API server closes itself (restart, crash) never count",
  },
  'node-eviction-timeout': {
    type: 'string',
    env: 'PERSYS_NODE_EVICTION_TIMEOUT',
    valueName: 'DURATION',
    default: '5s',
    description: "how long a node stays NotReady before its ContainerSets' Containers are replaced elsewhere (never while every node is NotReady)",
  },
  'node-eviction-rate': {
    type: 'string',
    env: 'PERSYS_NODE_EVICTION_RATE',
    valueName: 'PER_SECOND',
    default: '10',
    description: "Containers evicted per second at most, cluster-wide, in bursts of one second's worth",
  },
  'autoscaler-sync-period': {
    type: 'string',
    env: 'PERSYS_AUTOSCALER_SYNC_PERIOD',
    valueName: 'DURATION',
    default: '15s',
    description: "how often the autoscaler reads usage and resizes ContainerSets with spec.autoscale",
  },
};

/** The ControllerSettings in parsed `persys controller(s)` flags. */
export function controllerSettings(flags: FlagValues, command: string): ControllerSettings {
  const rate = Number(str(flags, 'node-eviction-rate'));
  if (!Number.isFinite(rate) || rate <= 0) {
    throw new UsageError(`invalid --node-eviction-rate "${str(flags, 'node-eviction-rate')}": use a positive number`, command);
  }
  const grace = parseDuration(str(flags, 'node-monitor-grace-period')!, 'node-monitor-grace-period', command);
  if (grace <= 0) throw new UsageError('--node-monitor-grace-period must be longer than 0s', command);
  const lossGrace = parseDuration(str(flags, 'node-stream-loss-grace-period')!, 'node-stream-loss-grace-period', command);
  if (lossGrace <= 0) throw new UsageError('--node-stream-loss-grace-period must be longer than 0s', command);
  return {
    nodeMonitorGracePeriodMs: grace,
    nodeStreamLossGracePeriodMs: lossGrace,
    nodeEvictionTimeoutMs: parseDuration(str(flags, 'node-eviction-timeout')!, 'node-eviction-timeout', command),
    nodeEvictionRate: rate,
    autoscalerSyncPeriodMs: parseDuration(str(flags, 'autoscaler-sync-period')!, 'autoscaler-sync-period', command),
  };
}

const known = () => Object.keys(CONTROLLERS).join(', ');
const knownWithAliases = () =>
  `${known()}; ${Object.entries(CONTROLLER_ALIASES)
    .map(([alias, names]) => `${alias} runs ${names.join(' and ')}`)
    .join('; ')}`;

/** The controllers a `persys controller NAME` argument selects: the one named, or every one an alias names. */
export function controllersNamed(name: string): string[] | undefined {
  if (Object.hasOwn(CONTROLLER_ALIASES, name)) return [...CONTROLLER_ALIASES[name]!];
  return Object.hasOwn(CONTROLLERS, name) ? [name] : undefined;
}

export const controllerCommand: Command = {
  name: 'controller',
  usage: 'persys controller NAME [flags]',
  description: `Runs the named controller until SIGINT or SIGTERM. Controllers: ${knownWithAliases()}.`,
  flags: CONTROLLER_FLAGS,
  async run(ctx) {
    const name = ctx.args[0];
    if (!name) throw new UsageError(`missing controller name: one of ${knownWithAliases()}`, 'controller');
    if (ctx.args.length > 1) throw new UsageError(`unexpected arguments: ${ctx.args.slice(1).join(' ')}`, 'controller');
    const names = controllersNamed(name);
    if (!names) throw new UsageError(`unknown controller "${name}": one of ${knownWithAliases()}`, 'controller');
    return runNamedControllers(ctx, names, name);
  },
};

export const controllersCommand: Command = {
  name: 'controllers',
  usage: 'persys controllers [flags]',
  description: `Runs ${known()} until SIGINT or SIGTERM, all under one leader-election Lease (persys-controllers).`,
  flags: CONTROLLER_FLAGS,
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`unexpected arguments: ${ctx.args.join(' ')}`, 'controllers');
    return runNamedControllers(ctx, Object.keys(CONTROLLERS), undefined);
  },
};

export interface StartControllersOptions {
  client: ApiClient;
  names: string[];
  logger: Logger;
  registry: Registry;
  /** Where the process serves /metrics, /healthz, /readyz. */
  metrics: { host: string; port: number };
  /** Namespace of the leader-election Lease; undefined runs without leader election. */
  leaderElectNamespace?: string;
  settings?: ControllerSettings;
}

/**
 * Leader election of a controller process (kube-controller-manager's): one Lease for all its controllers,
 * renewed every 5 s (720 writes an hour, where seven Leases at 2 s wrote ~12,600). A copy that crashes is
 * replaced within lease + retry (≤ 21 s); one that stops cleanly releases the Lease at once. Meanwhile only
 * new decisions wait: running containers, agents and node Leases do not depend on a controller leader.
 */
export const CONTROLLER_LEADER_TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 5_000 } as const;

/**
 * The Lease a controller process competes for: one per set of controllers, so copies of the same command
 * (`persys controllers` twice, or `persys controller cron` twice) never both act. The set an alias names
 * keeps the alias's Lease (`persys controller swarm`: persys-controller-swarm, as before the split).
 */
export function leaseName(names: string[]): string {
  const sorted = [...names].sort();
  const alias = Object.entries(CONTROLLER_ALIASES).find(([, members]) => [...members].sort().join() === sorted.join())?.[0];
  if (alias) return `persys-controller-${alias}`;
  if (names.length === 1) return `persys-controller-${names[0]}`;
  return names.length === Object.keys(CONTROLLERS).length ? 'persys-controllers' : `persys-controllers-${sorted.join('-')}`;
}

/** Starts the named controllers in this process under one leader election (`persys controllers` and `persys up` use it). */
export async function startControllers(opts: StartControllersOptions): Promise<RunningControllers> {
  const { client, logger, registry } = opts;
  const identity = `${hostname()}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const { InformerFactory, runControllers } = await import('../controllers/runtime/index.js');
  const informers = new InformerFactory({ client, logger, registry });
  const sets: ControllerSet[] = [];
  try {
    for (const name of opts.names) {
      sets.push(await CONTROLLERS[name]!({ client, logger: logger.child({ controllerSet: name }), registry, settings: opts.settings ?? {}, informers }));
    }
    const started = await runControllers({
      controllers: sets.flatMap((s) => s.controllers),
      // One entry per use: the factory counts users, and releases an informer when the last lets go.
      informers: sets.flatMap((s) => s.informers),
      informerFactory: informers,
      registry,
      logger,
      observability: opts.metrics,
      leaderElection:
        opts.leaderElectNamespace !== undefined
          ? { client, name: leaseName(opts.names), namespace: opts.leaderElectNamespace, identity, ...CONTROLLER_LEADER_TIMING }
          : undefined,
    });
    logger.info({ controllers: opts.names, metricsPort: started.metricsPort, identity }, 'controllers started');
    return {
      ...started,
      async stop() {
        await started.stop();
        for (const s of sets) s.close?.();
      },
    };
  } catch (err) {
    for (const s of sets) s.close?.();
    // A controller set that failed to start never releases what it took.
    await informers.stop();
    throw err;
  }
}

/** selection: the NAME of `persys controller NAME`; undefined for `persys controllers`. */
async function runNamedControllers(ctx: CommandContext, names: string[], selection: string | undefined): Promise<number> {
  const command = selection ? 'controller' : 'controllers';
  const [host, port] = splitHostPort(str(ctx.flags, 'metrics-listen')!, command);
  const settings = controllerSettings(ctx.flags, command);
  const { STREAM_KEEPALIVE_DETECTION_MS } = await import('../node-agent/connection.js');
  const { createLogger } = await import('../lib/observability/logger.js');
  const { createRegistry } = await import('../lib/observability/metrics.js');
  const logger = createLogger(selection ? `controller-${selection}` : 'controllers', str(ctx.flags, 'log-level'));
  if (names.includes('node') && settings.nodeMonitorGracePeriodMs! <= STREAM_KEEPALIVE_DETECTION_MS) {
    logger.warn(
      { gracePeriodMs: settings.nodeMonitorGracePeriodMs, keepaliveDetectionMs: STREAM_KEEPALIVE_DETECTION_MS },
      "--node-monitor-grace-period is not longer than the agents' stream keepalive timeout: a slow network can make nodes flap",
    );
  }
  const client = new ApiClient(ctx.config());
  let running: RunningControllers | undefined;
  try {
    running = await startControllers({
      client,
      names,
      logger,
      registry: createRegistry(),
      metrics: { host, port },
      leaderElectNamespace: bool(ctx.flags, 'leader-elect') ? str(ctx.flags, 'leader-elect-namespace')! : undefined,
      settings,
    });
    const why = await untilStopped(ctx.io.signal);
    logger.info({ signal: why }, 'stopping');
    return 0;
  } finally {
    await running?.stop();
    client.close();
  }
}

/** HOST:PORT of a listen flag (--metrics-listen by default); a UsageError naming the flag when it is not one. */
export function splitHostPort(hostPort: string, command: string, flag = 'metrics-listen'): [string, number] {
  const i = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`invalid --${flag} "${hostPort}": use HOST:PORT`, command);
  }
  return [hostPort.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port];
}
