// SwarmServices on a manager's engine: create or update the Docker service (and its overlay networks)
// for one SwarmService, report its status, and prune what persys created for objects that are gone.
// Every call reads or touches only services and networks carrying persys's labels, or the exact names
// a SwarmService asks for.
import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import type { DeepPartial, SwarmService, SwarmServiceStatus } from '../../lib/gen/persys/v1/workloads.js';
import { PRUNE_GRACE_MS } from '../../lib/swarm/prune-grace.js';
import { engineStatus, type EngineGuard } from '../../lib/docker/engine-guard.js';
import { createSwarmService, listServiceTasks, listSwarmNodes, SWARM_CALL_TIMEOUT_MS, swarmStateIsNotEngineHealth, updateSwarmService } from './docker-api.js';
import { ForeignServiceError, InvalidSwarmServiceError, SwarmOperationError } from './errors.js';
import { LABEL_OWNER_UID, LABEL_SPEC_HASH, ownerFilter, serviceKey, swarmNetworkFilter, swarmServiceFilter } from './labels.js';
import { desiredService, type DesiredService, type SwarmNetwork } from './service-spec.js';
import { serviceStatus } from './status.js';

const ROLLBACK_STATES = new Set(['rollback_started', 'rollback_paused', 'rollback_completed']);

export class SwarmServices {
  /** Spec hash this agent last sent per Docker service id: a rolled-back spec is not sent again. */
  private readonly lastSent = new Map<string, string>();

  private readonly node: string;

  constructor(
    private readonly docker: Dockerode,
    private readonly guard: EngineGuard,
    private readonly logger: Logger,
    private readonly pruneGraceMs = PRUNE_GRACE_MS,
  ) {
    this.node = guard.node;
  }

  /**
   * Makes the Docker service match the SwarmService and answers with its status. A service persys may not
   * touch, or a spec Docker cannot take, is answered as a status whose Ready condition says why: trying
   * another manager would not help. `registryAuth` (Docker's X-Registry-Auth, from the service's
   * imagePullSecrets) goes with the create or update, as `docker service create --with-registry-auth`
   * sends it: the swarm keeps it with the task spec so every node can pull. Never logged.
   */
  async apply(svc: DeepPartial<SwarmService>, signal: AbortSignal, registryAuth?: string): Promise<SwarmServiceStatus> {
    try {
      return await this.ensure(svc, signal, registryAuth);
    } catch (e) {
      if (e instanceof ForeignServiceError) return refused('ServiceNameTaken', e.message);
      if (e instanceof InvalidSwarmServiceError) return refused('InvalidSpec', e.message);
      throw e;
    }
  }

  private async ensure(svc: DeepPartial<SwarmService>, signal: AbortSignal, registryAuth: string | undefined): Promise<SwarmServiceStatus> {
    const desired = desiredService(svc);
    const log = this.logger.child({ service: desired.name, uid: desired.uid });
    for (const net of desired.networks) await this.ensureNetwork(net, signal);

    let existing = await this.existing(desired, signal);
    if (existing && isGlobal(existing) !== (desired.replicas === undefined)) {
      // Docker refuses to change a service's mode in place.
      log.info('service mode changed: recreating the Docker service');
      await this.call('remove service', (signal) => this.docker.getService(existing!.ID).remove({ abortSignal: signal }), signal);
      existing = undefined;
    }
    let id: string;
    if (!existing) {
      const created = await this.call('create service', (signal) => createSwarmService(this.docker, registryAuth, { ...desired.spec, abortSignal: signal }), signal);
      id = created.id;
      this.lastSent.set(id, desired.specHash);
      log.info({ serviceId: id }, 'created Docker service');
    } else {
      id = existing.ID;
      const drift = driftOf(existing, desired);
      // Docker rolled back what this agent sent: sending it again would only fail and roll back again.
      const rolledBack = ROLLBACK_STATES.has(existing.UpdateStatus?.State ?? '') && this.lastSent.get(id) === desired.specHash;
      if (drift.length && !rolledBack) {
        const version = existing.Version?.Index;
        await this.call('update service', (signal) =>
          updateSwarmService(this.docker.getService(id), registryAuth, { _query: { version }, _body: desired.spec, abortSignal: signal }),
          signal,
        );
        this.lastSent.set(id, desired.specHash);
        log.info({ serviceId: id, drift }, 'updated Docker service');
      }
    }
    return this.status(id, signal);
  }

  /**
   * Removes the services persys created whose SwarmService uid is not in `keepUids`, then the overlay
   * networks persys created that no service uses any more. Answers `namespace/name` of each removed service.
   */
  async prune(keepUids: string[], signal: AbortSignal): Promise<string[]> {
    const keep = new Set(keepUids);
    const owned = await this.call('list services', (signal) => this.docker.listServices({ filters: { label: [swarmServiceFilter] }, abortSignal: signal }), signal);
    const removed: string[] = [];
    const now = Date.now();
    for (const s of owned) {
      const uid = s.Spec?.Labels?.[LABEL_OWNER_UID];
      if (!uid || keep.has(uid)) continue;
      if (now - Date.parse(s.CreatedAt ?? '') < this.pruneGraceMs) continue;
      await this.call('remove service', (signal) => this.docker.getService(s.ID).remove({ abortSignal: signal }), signal).catch(ignore404);
      removed.push(serviceKey(s.Spec?.Labels));
      this.logger.info({ service: s.Spec?.Name, uid }, 'removed Docker service of a deleted SwarmService');
    }
    await this.pruneNetworks(signal);
    return removed.sort();
  }

  private async pruneNetworks(signal: AbortSignal): Promise<void> {
    const networks = await this.call('list networks', (signal) =>
      this.docker.listNetworks({ filters: { label: [swarmNetworkFilter] }, abortSignal: signal } as Dockerode.NetworkListOptions),
      signal,
    );
    if (!networks.length) return;
    const services = await this.call('list services', (signal) => this.docker.listServices({ abortSignal: signal }), signal);
    const used = new Set(services.flatMap((s) => [...(s.Spec?.TaskTemplate?.Networks ?? []), ...(s.Spec?.Networks ?? [])].map((n) => n.Target)));
    for (const n of networks) {
      if (used.has(n.Id) || used.has(n.Name)) continue;
      try {
        await this.guard.call('remove network', (abortSignal) => this.docker.getNetwork(n.Id).remove({ abortSignal }), { signal });
        this.logger.info({ network: n.Name }, 'removed unused swarm network');
      } catch (e) {
        // Tasks of a just-removed service still hold it for a moment: the next prune gets it.
        if (engineStatus(e) === 404 || /in use|active endpoints/i.test(String((e as Error).message))) continue;
        throw new SwarmOperationError(`remove network ${n.Name}`, this.node, { cause: e });
      }
    }
  }

  /** The service made for this SwarmService: by owner uid, or by name if persys made it for an earlier incarnation. */
  private async existing(desired: DesiredService, signal: AbortSignal): Promise<Dockerode.Service | undefined> {
    const mine = await this.call('list services', (signal) =>
      this.docker.listServices({ filters: { label: [ownerFilter(desired.uid)] }, abortSignal: signal }),
      signal,
    );
    if (mine[0]) return mine[0];
    // The name filter matches prefixes.
    const named = (
      await this.call('list services', (signal) => this.docker.listServices({ filters: { name: [desired.name] }, abortSignal: signal }), signal)
    ).find((s) => s.Spec?.Name === desired.name);
    if (named && !named.Spec?.Labels?.[LABEL_OWNER_UID]) throw new ForeignServiceError(desired.name);
    return named;
  }

  /** Creates the overlay network when no network of that name exists; one persys did not create is used as it is. */
  private async ensureNetwork(net: SwarmNetwork, signal: AbortSignal): Promise<void> {
    const exists = async () => {
      // The name filter matches substrings.
      const found = await this.call('list networks', (signal) =>
        this.docker.listNetworks({ filters: { name: [net.name] }, abortSignal: signal } as Dockerode.NetworkListOptions),
        signal,
      );
      return found.some((n) => n.Name === net.name);
    };
    if (await exists()) return;
    try {
      await this.docker.createNetwork({ Name: net.name, Driver: 'overlay', Attachable: true, CheckDuplicate: true, Labels: net.labels, abortSignal: signal });
      this.logger.info({ network: net.name }, 'created swarm network');
    } catch (e) {
      if (engineStatus(e) === 409 && (await exists())) return; // created concurrently
      throw new SwarmOperationError(`create network ${net.name}`, this.node, { cause: e });
    }
  }

  private async status(id: string, signal: AbortSignal): Promise<SwarmServiceStatus> {
    // `status: true` adds ServiceStatus (running/desired task counts) on API 1.41 and later.
    const [service] = await this.call('list services', (signal) => this.docker.listServices({ filters: { id: [id] }, status: true, abortSignal: signal }), signal);
    if (!service) throw new SwarmOperationError(`inspect service ${id}`, this.node, { cause: new Error('the service vanished right after it was applied') });
    const tasks = await this.call('list tasks', (signal) => listServiceTasks(this.docker, id, signal), signal);
    const placed = tasks.some((t) => t.NodeID && (t.Status?.Err || t.Status?.State === 'failed' || t.Status?.State === 'rejected'));
    const nodes = placed ? await this.call('list nodes', (signal) => listSwarmNodes(this.docker, signal), signal) : [];
    return serviceStatus(service, tasks, new Map(nodes.map((n) => [n.ID, n])));
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

/**
 * What differs between the Docker service and the SwarmService: the spec persys last wrote (its hash
 * label), or what a hand-made change (`docker service scale`, `docker service update --image`) altered
 * while keeping that label.
 */
export function driftOf(existing: Dockerode.Service, desired: DesiredService): string[] {
  const drift: string[] = [];
  if (existing.Spec?.Labels?.[LABEL_SPEC_HASH] !== desired.specHash) drift.push('spec');
  if (desired.replicas !== undefined && existing.Spec?.Mode?.Replicated?.Replicas !== desired.replicas) drift.push('replicas');
  // The docker CLI pins the image digest when it can reach a registry; the name is what persys compares.
  const image = (existing.Spec?.TaskTemplate as Dockerode.ContainerTaskSpec | undefined)?.ContainerSpec?.Image?.replace(/@sha256:[0-9a-f]+$/, '');
  if (image !== (desired.spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec?.Image) drift.push('image');
  return drift;
}

/** The answer for a SwarmService persys will not apply until it changes (or the name is freed). */
function refused(reason: string, message: string): SwarmServiceStatus {
  return {
    serviceId: '',
    desiredTasks: 0,
    runningTasks: 0,
    updateState: '',
    updateMessage: '',
    taskErrors: [],
    observedGeneration: 0,
    conditions: [{ type: 'Ready', status: 'False', reason, message, lastTransitionTime: '', lastUpdateTime: '', observedGeneration: 0 }],
  };
}

function isGlobal(s: Dockerode.Service): boolean {
  return !!s.Spec?.Mode?.Global;
}

function ignore404(e: unknown): undefined {
  const cause = e instanceof SwarmOperationError ? e.cause : e;
  if (engineStatus(cause) === 404) return undefined;
  throw e;
}
