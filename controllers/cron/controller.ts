// Wiring of the cron controller: CronJob and Container informers; each reconcile applies one plan
// (plan.ts): create due runs under deterministic names (a restarted controller can never start a
// time twice), delete replaced, expired and old runs, and write status and Events.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Resource } from '../../lib/api/resource.js';
import type { ContainerObject, CronJobObject } from '../../lib/api/typed.js';
import { type ApiClient } from '../../lib/client/client.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { Controller, type ReconcileContext, type Result } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { BY_OWNER_UID, indexByOwnerUid } from '../runtime/indexers.js';
import type { Informer } from '../runtime/informer.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { objectKey } from '../runtime/keys.js';
import { planCronJob } from './plan.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../lib/client/errors.js';
import { API_VERSION } from '../../lib/api/kinds.js';

export const CRON_CONTROLLER_NAME = 'cron';
/** How long after creating runs their Events and the CronJob's status are written. */
const DEFERRED_WRITES_MS = 1_000;

export interface CronControllerOptions {
  client: Pick<ApiClient, 'list' | 'watch' | 'get' | 'create' | 'update' | 'updateStatus' | 'delete'>;
  logger: Logger;
  registry?: Registry;
  /** @default 8 */
  workers?: number;
  /** @default the EventRecorder of component "cronjob-controller" */
  recorder?: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  informerDelay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The process's shared informers (`persys controllers`); without it the controller has its own. */
  informers?: InformerFactory;
  /** Called with each run created and how late it was (creation time − scheduled time), for the benchmark. */
  onRunCreated?: (run: { name: string; scheduledMs: number; lagMs: number }) => void;
}

export interface CronController {
  controllers: Controller[];
  informers: Informer[];
}


/** The key of the CronJob that owns `c`, if one does. */
function owningCronJob(c: Resource): string | undefined {
  const ref = (c.metadata.ownerReferences ?? []).find((r) => r.kind === 'CronJob' && r.controller);
  return ref ? objectKey({ metadata: { namespace: c.metadata.namespace, name: ref.name } }) : undefined;
}

// Status as stored: proto JSON drops empty fields, so compare on the fields the plan writes.
function comparableStatus(s: CronJobObject['status']): string {
  const v = s ?? {};
  return JSON.stringify({
    active: (v.active ?? []).map((a) => a.name).sort(),
    lastScheduleTime: v.lastScheduleTime || '',
    lastSuccessfulTime: v.lastSuccessfulTime || '',
    nextScheduleTime: v.nextScheduleTime || '',
    observedGeneration: Number(v.observedGeneration ?? 0),
  });
}

export function newCronController(opts: CronControllerOptions): CronController {
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const cronJobs = factory.informerFor('CronJob');
  const containers = factory.informerFor('Container', { indexers: { [BY_OWNER_UID]: indexByOwnerUid } });
  const clock = opts.clock ?? systemClock;
  const recorder = opts.recorder ?? new EventRecorder({ client: opts.client, component: 'cronjob-controller', logger: opts.logger, clock });

  async function reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    const cronJob: CronJobObject | undefined = cronJobs.getByKey(key);
    if (!cronJob || cronJob.metadata.deletionTimestamp) return;
    const uid = cronJob.metadata.uid!;
    const runs: ContainerObject[] = containers.byIndex(BY_OWNER_UID, uid).filter((c) => c.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller));
    const plan = planCronJob({ cronJob, runs, nowMs: clock.now() });
    const namespace = cronJob.metadata.namespace!;
    const template = cronJob.spec?.jobTemplate ?? {};

    for (const d of plan.delete) {
      try {
        await opts.client.delete('Container', d.name, namespace);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    for (const run of plan.create) {
      try {
        await opts.client.create({
          apiVersion: API_VERSION,
          kind: 'Container',
          metadata: {
            name: run.name,
            namespace,
            labels: { ...(template.metadata?.labels ?? {}), ...run.labels },
            annotations: template.metadata?.annotations,
            ownerReferences: [{ apiVersion: cronJob.apiVersion, kind: 'CronJob', name: cronJob.metadata.name!, uid, controller: true, blockOwnerDeletion: true }],
          },
          spec: template.spec ?? {},
        });
        const lagMs = clock.now() - run.scheduledMs;
        opts.onRunCreated?.({ name: run.name, scheduledMs: run.scheduledMs, lagMs });
        ctx.log.info({ run: run.name, scheduled: new Date(run.scheduledMs).toISOString(), attempt: run.attempt, lagMs }, 'created run');
      } catch (err) {
        // The deterministic name is taken: this time was already started (by us before a crash, or by
        // another copy of the controller). Never a second run.
        if (!isAlreadyExists(err)) throw err;
      }
    }
    if (plan.create.length > 0) {
      // Many CronJobs fall due in the same second: their creates go first. The Events and the status of
      // this round follow a moment later (the status from a fresh plan); neither is needed for exactly-once,
      // which rests on the runs' deterministic names.
      const events = plan.events;
      setTimeout(() => {
        for (const e of events) void recorder.record(cronJob, e.type, e.reason, e.message);
      }, DEFERRED_WRITES_MS).unref();
      return { requeueAfterMs: Math.min(DEFERRED_WRITES_MS, plan.requeueAfterMs) };
    }
    for (const e of plan.events) void recorder.record(cronJob, e.type, e.reason, e.message);

    // A suspended CronJob or an invalid schedule has no next time: the old one must not linger.
    const next: CronJobObject['status'] = { ...(cronJob.status ?? {}), ...plan.status, nextScheduleTime: plan.status.nextScheduleTime ?? '', observedGeneration: Number(cronJob.metadata.generation ?? 0) };
    if (comparableStatus(cronJob.status) !== comparableStatus(next)) {
      try {
        await opts.client.updateStatus({ ...cronJob, status: next });
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err)) throw err;
        return { requeueAfterMs: 100 };
      }
    }
    return { requeueAfterMs: plan.requeueAfterMs };
  }

  const controller = new Controller({
    name: CRON_CONTROLLER_NAME,
    workers: opts.workers ?? 8,
    logger: opts.logger,
    registry: opts.registry,
    clock: opts.clock,
    reconcile,
  });
  controller.watch(cronJobs);
  controller.watch(containers, (c) => owningCronJob(c));
  return { controllers: [controller], informers: [cronJobs, containers] };
}
