// Wiring of the swarm-services controller: one reconcile per SwarmService (apply it on a reachable
// manager, write its status, poll while it converges), and pruning of the Docker services of deleted
// SwarmServices. The managers come from Node status (services/managers.ts), which the swarm-membership
// controller writes: the two share no memory and may run in different processes.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Resource } from '../../../lib/api/resource.js';
import type { ApiClient } from '../../../lib/client/client.js';
import { isConflict, isNotFound } from '../../../lib/client/errors.js';
import { SwarmService, type SwarmServiceStatus } from '../../../lib/gen/persys/v1/workloads.js';
import { systemClock, type Clock } from '../../../lib/queue/clock.js';
import { PRUNE_GRACE_MS } from '../../../lib/swarm/prune-grace.js';
import type { Controller, ReconcileContext, Result } from '../../runtime/controller.js';
import { EventRecorder } from '../../runtime/events.js';
import type { Informer } from '../../runtime/informer.js';
import { InformerFactory } from '../../runtime/informer-factory.js';
import { objectKey } from '../../runtime/keys.js';
import { sameStatus } from '../same-status.js';
import { SelfStartingController } from '../self-starting-controller.js';
import { messageOf, type SwarmCaller, type SwarmControllerOptions } from '../swarm-caller.js';
import { managerFingerprint, swarmManagersOf } from './managers.js';
import { chooseRegistryAuth, PULL_SECRETS_CONDITION, type PullSecretLookup, type RegistryAuthChoice } from './registry-auth.js';
import { answerFingerprint, nextPollMs, statusAfterApply, statusAfterFailure, withPullSecretsCondition } from './service-status.js';

/** The controller's name (metrics, logs, `persys controller swarm-services`). */
export const SWARM_SERVICES_CONTROLLER_NAME = 'swarm-services';
/** The key for pruning; it has no "/", so it is never a SwarmService's key. */
export const PRUNE_KEY = 'prune';
const MANAGER_CALL_DEADLINE_MS = 30_000;
const APPLY_RETRY_MIN_MS = 1_000;
const APPLY_RETRY_MAX_MS = 30_000;
const CONFLICT_RETRY_MS = 100;

export interface SwarmServicesControllerOptions extends SwarmControllerOptions {
  /**
   * How often the swarm is pruned of the services of deleted SwarmServices without any delete event
   * (one deleted while no controller ran, or whose prune failed). @default 10000
   */
  pruneEveryMs?: number;
}

export interface SwarmServicesController {
  controllers: Controller[];
  informers: Informer[];
}

export function newSwarmServicesController(opts: SwarmServicesControllerOptions): SwarmServicesController {
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const nodes = factory.informerFor('Node');
  const services = factory.informerFor('SwarmService');
  const clock = opts.clock ?? systemClock;
  const recorder = opts.recorder ?? new EventRecorder({ client: opts.client, component: 'swarm-services-controller', logger: opts.logger, clock });
  const pruneEveryMs = opts.pruneEveryMs ?? 10_000;

  // Per-key memory of this controller's own reconciles (back-off and poll pacing), never shared.
  const applyFailures = new Map<string, number>();
  /** What the last poll of each service learned and how long it then waited (to back off while nothing moves). */
  const lastPolls = new Map<string, { fingerprint: string; delayMs: number }>();

  /** Reachable managers of the persys swarm, the leader first, as Node status says now. */
  const managers = () => swarmManagersOf(nodes.list());

  async function writeServiceStatus(svc: Resource, next: any): Promise<'ok' | 'conflict' | 'gone'> {
    if (sameStatus(svc.status, next)) return 'ok';
    try {
      await opts.client.updateStatus({ ...svc, status: next });
      return 'ok';
    } catch (err) {
      if (isNotFound(err)) return 'gone';
      if (isConflict(err)) return 'conflict';
      throw err;
    }
  }

  /** The service's imagePullSecrets, each read now (Secrets are not cached here: few services name any). */
  async function readPullSecrets(svc: Resource): Promise<PullSecretLookup[]> {
    const names = ((svc.spec?.imagePullSecrets ?? []) as { name?: string }[]).map((r) => r?.name).filter((n): n is string => !!n);
    return Promise.all(
      names.map(async (name): Promise<PullSecretLookup> => {
        try {
          return { name, secret: await opts.client.get('Secret', name, svc.metadata.namespace || 'default') };
        } catch (err) {
          if (isNotFound(err)) return { name };
          throw err;
        }
      }),
    );
  }

  async function applyOnAManager(svc: Resource, registryAuth: string | undefined, ctx: ReconcileContext): Promise<{ answer?: SwarmServiceStatus; errors: string[] }> {
    const errors: string[] = [];
    const request = SwarmService.fromJSON(svc);
    for (const manager of managers()) {
      if (ctx.signal.aborted) break;
      try {
        // registryAuth goes to the manager only; it is never logged here.
        const res = await opts.swarm.call(manager, { $case: 'applyService', value: request }, { deadlineMs: MANAGER_CALL_DEADLINE_MS, ...(registryAuth && { registryAuth }) });
        if (res.service) return { answer: res.service, errors };
        errors.push(`${manager}: answered without the service's status`);
      } catch (err) {
        errors.push(`${manager}: ${messageOf(err)}`);
        ctx.log.warn({ manager, error: messageOf(err) }, 'applying the service failed on a manager; trying the next');
      }
    }
    return { errors };
  }

  async function reconcileService(key: string, ctx: ReconcileContext): Promise<Result> {
    if (key === PRUNE_KEY) return prune(ctx);
    const svc = services.getByKey(key);
    // Deleted services are removed from the swarm by pruning, which knows every uid still wanted.
    if (!svc || svc.metadata.deletionTimestamp) {
      applyFailures.delete(key);
      lastPolls.delete(key);
      return;
    }
    const now = new Date(clock.now()).toISOString();
    const pull: RegistryAuthChoice = chooseRegistryAuth(String(svc.spec?.image ?? ''), await readPullSecrets(svc));
    const { answer, errors } = await applyOnAManager(svc, pull.registryAuth, ctx);
    if (ctx.signal.aborted) return;
    await warnOnPullSecrets(svc, pull);

    if (!answer) {
      const message =
        errors.length > 0
          ? `no swarm manager could apply the service: ${errors.join('; ')}`
          : 'no reachable swarm manager: set spec.swarm.role to manager on a Ready node';
      const failures = (applyFailures.get(key) ?? 0) + 1;
      applyFailures.set(key, failures);
      const before = svc.status;
      const next = withPullSecretsCondition(statusAfterFailure(before, message, now), pull.condition, now);
      if ((await writeServiceStatus(svc, next)) === 'gone') return;
      if (!sameStatus(before, next)) await recorder.record(svc, 'Warning', 'SwarmApplyFailed', message);
      return { requeueAfterMs: Math.min(APPLY_RETRY_MAX_MS, APPLY_RETRY_MIN_MS * 2 ** (failures - 1)) };
    }
    applyFailures.delete(key);
    const next = withPullSecretsCondition(statusAfterApply(svc.status, answer, Number(svc.metadata.generation ?? 0), now), pull.condition, now);
    const written = await writeServiceStatus(svc, next);
    if (written === 'gone') return;
    if (written === 'conflict') return { requeueAfterMs: CONFLICT_RETRY_MS };
    const delayMs = nextPollMs(answer, lastPolls.get(key));
    lastPolls.set(key, { fingerprint: answerFingerprint(answer), delayMs });
    return { requeueAfterMs: delayMs };
  }

  /** A Warning Event when the imagePullSecrets turn unusable (once per change of the reason, not per poll). */
  async function warnOnPullSecrets(svc: Resource, pull: RegistryAuthChoice): Promise<void> {
    if (pull.condition?.status !== 'False') return;
    const before = ((svc.status?.conditions ?? []) as { type: string; reason?: string; message?: string }[]).find((c) => c.type === PULL_SECRETS_CONDITION);
    if (before?.reason === pull.condition.reason && before?.message === pull.condition.message) return;
    await recorder.record(svc, 'Warning', pull.condition.reason, pull.condition.message);
  }

  async function prune(ctx: ReconcileContext): Promise<Result> {
    const again = { requeueAfterMs: pruneEveryMs };
    const reachable = managers();
    // Only a complete cache may say which services are still wanted; the next prune waits for one otherwise.
    if (!services.hasSynced() || reachable.length === 0) return again;
    const keepUids = services
      .list()
      .map((s) => s.metadata.uid ?? '')
      .filter(Boolean);
    const errors: string[] = [];
    for (const manager of reachable) {
      if (ctx.signal.aborted) return;
      try {
        const res = await opts.swarm.call(manager, { $case: 'pruneServices', value: { keepUids } }, { deadlineMs: MANAGER_CALL_DEADLINE_MS });
        if (res.removedServices.length > 0) ctx.log.info({ removed: res.removedServices, manager }, 'removed the Docker services of deleted SwarmServices');
        return again;
      } catch (err) {
        errors.push(`${manager}: ${messageOf(err)}`);
      }
    }
    throw new Error(`no swarm manager could prune deleted services: ${errors.join('; ')}`);
  }

  const controller = new SelfStartingController(
    { name: SWARM_SERVICES_CONTROLLER_NAME, workers: 4, logger: opts.logger, registry: opts.registry, clock: opts.clock, reconcile: reconcileService },
    () => [...services.keys(), PRUNE_KEY],
  );

  // Services that found no manager wait in back-off; once Node status names another, they need not.
  const retryFailed = () => {
    if (applyFailures.size === 0 || managers().length === 0) return;
    for (const key of applyFailures.keys()) controller.enqueue(key);
  };
  nodes.addEventHandler({
    onAdd: retryFailed,
    onUpdate: (old, obj) => {
      if (managerFingerprint(old) !== managerFingerprint(obj)) retryFailed();
    },
  });
  // Only spec changes (a new generation) need an apply now; status writes (ours) need none.
  services.addEventHandler({
    onAdd: (obj) => controller.enqueue(objectKey(obj)),
    onUpdate: (old, obj) => {
      if (old.metadata.generation !== obj.metadata.generation || old.metadata.uid !== obj.metadata.uid) controller.enqueue(objectKey(obj));
    },
    onDelete: (obj) => {
      applyFailures.delete(objectKey(obj));
      controller.enqueue(PRUNE_KEY);
      // A Docker service younger than the grace survives the first prune.
      controller.enqueueAfter(PRUNE_KEY, PRUNE_GRACE_MS + 1_000);
    },
  });

  return { controllers: [controller], informers: [nodes, services] };
}
