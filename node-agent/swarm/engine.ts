// The node agent's side of the swarm controller's SwarmOperations: carries out one SwarmRequest on
// this node's own Docker engine (membership here, services in services.ts) and answers what it found.
// Join tokens pass through it in both directions, registry credentials towards Docker; neither is logged.
import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import type { SwarmInit, SwarmJoin, SwarmNodeUpdate, SwarmRequest, SwarmResponse, SwarmState } from '../../lib/gen/persys/v1/agent.js';
import { engineStatus, type EngineGuard } from '../../lib/docker/engine-guard.js';
import { listSwarmNodes, SWARM_CALL_TIMEOUT_MS, swarmInfo, swarmJoinTokens, swarmStateIsNotEngineHealth, type SwarmInfo, type SwarmNode } from './docker-api.js';
import { AlreadyInSwarmError, NotSwarmManagerError, SwarmOperationError } from './errors.js';
import { SwarmServices } from './services.js';
import { managerWithoutMembers, swarmState } from './state.js';

/** Swarm's default port; listening on every address lets the advertised one be any of them. */
const LISTEN_ADDR = '0.0.0.0:2377';
/** Size of each overlay subnet carved from a DefaultAddrPool (the engine's allocator fails on 0). */
const SUBNET_SIZE = 24;

export interface SwarmEngineOptions {
  docker: Dockerode;
  /** The node's engine guard (its name is the node's, for messages), shared with its Containers and stacks. */
  guard: EngineGuard;
  logger: Logger;
  /** A persys service younger than this is never pruned. @default PRUNE_GRACE_MS (lib/swarm/prune-grace.ts) */
  pruneGraceMs?: number;
}

export class SwarmEngine {
  private readonly docker: Dockerode;
  private readonly guard: EngineGuard;
  private readonly node: string;
  private readonly logger: Logger;
  private readonly services: SwarmServices;

  constructor(opts: SwarmEngineOptions) {
    this.docker = opts.docker;
    this.guard = opts.guard;
    this.node = opts.guard.node;
    this.logger = opts.logger.child({ component: 'swarm' });
    this.services = new SwarmServices(this.docker, this.guard, this.logger, opts.pruneGraceMs);
  }

  /** Carries out `req`; a thrown Error's message is the failure the controller sees. */
  async handle(req: SwarmRequest, signal: AbortSignal): Promise<SwarmResponse> {
    const op = req.operation;
    if (!op) throw new Error('swarm request names no operation');
    this.logger.debug({ operation: op.$case }, 'swarm operation');
    switch (op.$case) {
      case 'inspect':
        return { state: await this.inspect(signal), removedServices: [] };
      case 'init':
        return { state: await this.init(op.value, signal), removedServices: [] };
      case 'join':
        return { state: await this.join(op.value, signal), removedServices: [] };
      case 'leave':
        return { state: await this.leave(op.value.force, signal), removedServices: [] };
      case 'updateNode':
        await this.requireManager(signal);
        await this.updateNode(op.value, signal);
        return { state: await this.inspect(signal), removedServices: [] };
      case 'removeNode':
        await this.requireManager(signal);
        await this.call('remove swarm node', (signal) => this.docker.getNode(op.value.nodeId).remove({ force: op.value.force, abortSignal: signal }), signal).catch(
          (e: SwarmOperationError) => {
            if (engineStatus(e.cause) !== 404) throw e;
          },
        );
        this.logger.info({ nodeId: op.value.nodeId }, 'removed swarm node');
        return { state: await this.inspect(signal), removedServices: [] };
      case 'applyService':
        await this.requireManager(signal);
        return { service: await this.services.apply(op.value, signal, req.registryAuth || undefined), removedServices: [] };
      case 'pruneServices':
        await this.requireManager(signal);
        return { removedServices: await this.services.prune(op.value.keepUids, signal) };
      default:
        throw new Error(`unknown swarm operation ${(op as { $case: string }).$case}`);
    }
  }

  /**
   * The engine's swarm state; a manager adds the members and the join tokens. A manager that cannot
   * list them (without quorum) still answers what docker info says, the failure in `error`: the
   * controller must see a manager of the swarm, not an engine that does not answer.
   */
  private async inspect(signal: AbortSignal): Promise<SwarmState> {
    const info = await this.info(signal);
    if (!info.ControlAvailable) return swarmState(info);
    try {
      const [members, tokens] = await Promise.all([
        this.call('list swarm nodes', (signal) => listSwarmNodes(this.docker, signal), signal),
        this.call('inspect swarm', (signal) => swarmJoinTokens(this.docker, signal), signal),
      ]);
      return swarmState(info, members, tokens);
    } catch (e) {
      if (signal.aborted) throw e;
      const failure = e instanceof Error ? e.message : String(e);
      this.logger.warn({ error: failure }, 'this swarm manager cannot list the members; answering without them');
      return managerWithoutMembers(info, failure);
    }
  }

  private async init(req: SwarmInit, signal: AbortSignal): Promise<SwarmState> {
    await this.requireOutsideSwarm(signal);
    const body: Record<string, unknown> = { ListenAddr: LISTEN_ADDR };
    if (req.advertiseAddr) body['AdvertiseAddr'] = req.advertiseAddr;
    if (req.defaultAddrPool.length) {
      body['DefaultAddrPool'] = req.defaultAddrPool;
      body['SubnetSize'] = SUBNET_SIZE;
    }
    await this.call('swarm init', (signal) => this.docker.swarmInit({ ...body, abortSignal: signal }), signal);
    this.logger.info({ advertiseAddr: req.advertiseAddr }, 'initialised a new swarm');
    return this.inspect(signal);
  }

  private async join(req: SwarmJoin, signal: AbortSignal): Promise<SwarmState> {
    await this.requireOutsideSwarm(signal);
    const body: Record<string, unknown> = { ListenAddr: LISTEN_ADDR, RemoteAddrs: req.remoteAddrs, JoinToken: req.joinToken };
    if (req.advertiseAddr) body['AdvertiseAddr'] = req.advertiseAddr;
    await this.call('swarm join', (signal) => this.docker.swarmJoin({ ...body, abortSignal: signal }), signal);
    this.logger.info({ remoteAddrs: req.remoteAddrs, advertiseAddr: req.advertiseAddr }, 'joined a swarm');
    return this.inspect(signal);
  }

  /** Leaving when not in a swarm succeeds: the engine is where the caller wants it. */
  private async leave(force: boolean, signal: AbortSignal): Promise<SwarmState> {
    const info = await this.info(signal);
    if ((info.LocalNodeState ?? 'inactive') !== 'inactive') {
      await this.call('swarm leave', (signal) => this.docker.swarmLeave({ force, abortSignal: signal }), signal).catch((e: SwarmOperationError) => {
        if (engineStatus(e.cause) !== 503) throw e; // 503: not part of a swarm (any more)
      });
      this.logger.info({ force }, 'left the swarm');
    }
    return this.inspect(signal);
  }

  /** Sets role, availability and labels (labels replace the old ones); sends nothing when all match. */
  private async updateNode(req: SwarmNodeUpdate, signal: AbortSignal): Promise<void> {
    const handle = this.docker.getNode(req.nodeId);
    const current = (await this.call(`inspect swarm node ${req.nodeId}`, (signal) => handle.inspect({ abortSignal: signal }), signal)) as SwarmNode;
    const spec = current.Spec ?? {};
    const next = {
      ...spec,
      Role: req.role || spec.Role,
      Availability: req.availability || spec.Availability,
      Labels: { ...req.labels },
    };
    if (next.Role === spec.Role && next.Availability === spec.Availability && sameLabels(next.Labels, spec.Labels ?? {})) return;
    const version = current.Version?.Index;
    await this.call(`update swarm node ${req.nodeId}`, (signal) => handle.update({ _query: { version }, _body: next, abortSignal: signal }), signal);
    this.logger.info({ nodeId: req.nodeId, role: next.Role, availability: next.Availability }, 'updated swarm node');
  }

  private async requireManager(signal: AbortSignal): Promise<void> {
    if (!(await this.info(signal)).ControlAvailable) throw new NotSwarmManagerError(this.node);
  }

  private async requireOutsideSwarm(signal: AbortSignal): Promise<void> {
    const info = await this.info(signal);
    const state = info.LocalNodeState ?? 'inactive';
    if (state !== 'inactive') throw new AlreadyInSwarmError(this.node, info.NodeID ?? '', state);
  }

  private info(signal: AbortSignal): Promise<SwarmInfo> {
    return this.call('docker info', (signal) => swarmInfo(this.docker, signal), signal);
  }

  /** One engine call through the node's guard (deadline and breaker), failures worded as the operation's. */
  private async call<T>(operation: string, attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    try {
      return await this.guard.call(operation, (s) => attempt(s).catch(swarmStateIsNotEngineHealth), { signal, timeoutMs: SWARM_CALL_TIMEOUT_MS });
    } catch (e) {
      throw new SwarmOperationError(operation, this.node, { cause: e });
    }
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
