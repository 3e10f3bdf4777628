// Wiring of the ContainerSet autoscaler: every sync period each set with spec.autoscale is measured
// (hpa.ts), resized through spec.replicas when the decision says so, and its status.autoscale updated.
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ContainerSetObject } from '../../lib/api/typed.js';
import { type ApiClient } from '../../lib/client/client.js';
import type { ClientConfig } from '../../lib/client/config.js';
import { OperationsClient } from '../../lib/client/operations.js';
import { registeredOnce } from '../../lib/observability/metrics.js';
import { isContainerReady } from '../containerset/rollout.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { Controller, type ReconcileContext, type Result } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { BY_OWNER_UID, indexByOwnerUid } from '../runtime/indexers.js';
import type { Informer } from '../runtime/informer.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { splitKey } from '../runtime/keys.js';
import { decideReplicas, type ReplicaObservation } from './hpa.js';
import type { Recommendation } from './stabilization.js';
import { autoscaleStatus, autoscaleStatusChanged, type AutoscaleStatus, type LastScale } from './status.js';
import { UsageSnapshot, type UsageSource } from './usage.js';
import { isConflict, isNotFound } from '../../lib/client/errors.js';

export const AUTOSCALER_CONTROLLER_NAME = 'autoscaler';

type AutoscalerClient = Pick<ApiClient, 'list' | 'watch' | 'get' | 'create' | 'update' | 'updateStatus'> & { config?: ClientConfig };

export interface AutoscalerControllerOptions {
  /** Its config (an ApiClient has one) reaches Operations.Top unless `usage` is given. */
  client: AutoscalerClient;
  logger: Logger;
  registry?: Registry;
  /** How often each set is measured (Kubernetes' --horizontal-pod-autoscaler-sync-period). @default 15000 */
  syncPeriodMs?: number;
  /** @default the EventRecorder of component "autoscaler" */
  recorder?: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  /** @default Operations.Top('containers') of the API server the client talks to */
  usage?: UsageSource;
  informerDelay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The process's shared informers (`persys controllers`); without it the controller has its own. */
  informers?: InformerFactory;
}

export interface AutoscalerController {
  controllers: Controller[];
  informers: Informer[];
}

interface SetState {
  history: Recommendation[];
  lastEvalMs: number;
}

/** Conflicting writers (the ContainerSet controller's status, a user's edit) are re-read this often. */
const CONFLICT_ATTEMPTS = 4;


function autoscalerMetrics(registry: Registry | undefined) {
  if (!registry) return undefined;
  const once = <M>(name: string, make: () => M): M => registeredOnce(registry, name, make);
  return {
    desired: once('persys_autoscaler_desired_replicas', () =>
      new Gauge({
        name: 'persys_autoscaler_desired_replicas',
        help: 'Replicas the autoscaler last decided on, per ContainerSet.',
        labelNames: ['namespace', 'containerset'] as const,
        registers: [registry],
      })),
    rescales: once('persys_autoscaler_rescales_total', () =>
      new Counter({
        name: 'persys_autoscaler_rescales_total',
        help: 'Changes of spec.replicas made by the autoscaler, by direction (up, down).',
        labelNames: ['direction'] as const,
        registers: [registry],
      })),
  };
}

function defaultUsage(client: AutoscalerClient): UsageSource {
  if (!client.config) throw new Error('the autoscaler needs either a usage source or a client with a config to call Operations.Top');
  let ops: OperationsClient | undefined;
  return async () => {
    ops ??= new OperationsClient(client.config!);
    return (await ops.top('containers')).containers;
  };
}

export function newAutoscalerController(opts: AutoscalerControllerOptions): AutoscalerController {
  const clock = opts.clock ?? systemClock;
  const syncPeriodMs = opts.syncPeriodMs ?? 15_000;
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const sets = factory.informerFor('ContainerSet');
  const containers = factory.informerFor('Container', { indexers: { [BY_OWNER_UID]: indexByOwnerUid } });
  const recorder = opts.recorder ?? new EventRecorder({ client: opts.client, component: 'autoscaler', logger: opts.logger, clock });
  // Half a period: every set of one round shares a fetch, and the next round sees fresh figures.
  const usage = new UsageSnapshot(opts.usage ?? defaultUsage(opts.client), clock, syncPeriodMs / 2);
  const metrics = autoscalerMetrics(opts.registry);
  // Recommendations live in memory, as in Kubernetes: a restarted controller starts its windows afresh.
  const state = new Map<string, SetState>();

  /** Sets spec.replicas, re-reading on conflicts; undefined when the set is gone or no longer autoscaled. */
  async function scaleTo(set: ContainerSetObject, replicas: number): Promise<ContainerSetObject | undefined> {
    let cur = set;
    for (let attempt = 1; ; attempt++) {
      try {
        return await opts.client.update({ ...cur, spec: { ...cur.spec, replicas } });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if (!isConflict(err) || attempt >= CONFLICT_ATTEMPTS) throw err;
      }
      cur = await opts.client.get('ContainerSet', set.metadata.name!, set.metadata.namespace ?? '');
      if (cur.metadata.uid !== set.metadata.uid || !cur.spec?.autoscale || cur.metadata.deletionTimestamp) return undefined;
    }
  }

  async function writeStatus(set: ContainerSetObject, autoscale: AutoscaleStatus): Promise<void> {
    let cur = set;
    for (let attempt = 1; ; attempt++) {
      try {
        await opts.client.updateStatus({ ...cur, status: { ...(cur.status ?? {}), autoscale } });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err) || attempt >= CONFLICT_ATTEMPTS) throw err;
      }
      cur = await opts.client.get('ContainerSet', set.metadata.name!, set.metadata.namespace ?? '');
      if (cur.metadata.uid !== set.metadata.uid) return;
    }
  }

  async function reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    const set: ContainerSetObject | undefined = sets.getByKey(key);
    if (!set || set.metadata.deletionTimestamp || !set.spec?.autoscale) {
      state.delete(key);
      const { namespace, name } = splitKey(key);
      metrics?.desired.remove({ namespace, containerset: name });
      return;
    }
    const now = clock.now();
    const st = state.get(key) ?? { history: [], lastEvalMs: -Infinity };
    // Set events (including our own writes) arrive between rounds; measuring stays on the period.
    if (now - st.lastEvalMs < syncPeriodMs) return { requeueAfterMs: syncPeriodMs - (now - st.lastEvalMs) };
    // Kubernetes' rule: a user who scaled to zero has switched autoscaling off until scaling up again.
    if (Number(set.spec.replicas ?? 1) === 0) return { requeueAfterMs: syncPeriodMs };

    const byUid = await usage.get();
    const uid = set.metadata.uid!;
    const replicas: ReplicaObservation[] = containers
      .byIndex(BY_OWNER_UID, uid)
      .filter((c) => c.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller))
      .filter((c) => !c.metadata.deletionTimestamp && c.status?.phase !== 'Succeeded' && c.status?.phase !== 'Failed')
      .map((c) => ({ name: c.metadata.name!, ready: isContainerReady(c), usage: byUid.get(c.metadata.uid ?? '') }));
    const decision = decideReplicas({ set, replicas, history: st.history, nowMs: now });
    state.set(key, { history: decision.history, lastEvalMs: now });
    const { namespace, name } = splitKey(key);
    metrics?.desired.set({ namespace, containerset: name }, decision.desiredReplicas);

    let latest: ContainerSetObject | undefined = set;
    let scaled: LastScale | undefined;
    if (decision.desiredReplicas !== decision.currentReplicas) {
      latest = await scaleTo(set, decision.desiredReplicas);
      if (!latest) return;
      scaled = { time: new Date(now).toISOString(), reason: decision.reason };
      metrics?.rescales.inc({ direction: decision.desiredReplicas > decision.currentReplicas ? 'up' : 'down' });
      ctx.log.info({ from: decision.currentReplicas, to: decision.desiredReplicas, reason: decision.reason }, 'rescaled');
      await recorder.record(latest, 'Normal', 'SuccessfulRescale', `New size: ${decision.desiredReplicas}; reason: ${decision.reason}`);
    }
    const previous = latest.status?.autoscale as AutoscaleStatus | undefined;
    const next = autoscaleStatus(decision, previous, scaled);
    if (autoscaleStatusChanged(previous, next, set.spec.autoscale)) await writeStatus(latest, next);
    return { requeueAfterMs: syncPeriodMs };
  }

  const controller = new Controller({ name: AUTOSCALER_CONTROLLER_NAME, logger: opts.logger, registry: opts.registry, clock: opts.clock, reconcile });
  controller.watch(sets);
  return { controllers: [controller], informers: [sets, containers] };
}
