// Wiring of the docker controller's scheduler: Container and Node informers, the Controller whose
// keys are Containers, and the events that make an unschedulable Container worth another try.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ContainerObject, NodeObject } from '../../lib/api/typed.js';
import type { ApiClient } from '../../lib/client/client.js';
import type { Clock } from '../../lib/queue/clock.js';
import { Controller } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { BY_NODE_NAME, indexByNodeName } from '../runtime/indexers.js';
import type { Informer } from '../runtime/informer.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { objectKey } from '../runtime/keys.js';
import { AssumedBindings } from './assumed.js';
import { concernsScheduler, needsScheduling, newSchedulerReconciler } from './reconcile.js';

export const SCHEDULER_NAME = 'docker-scheduler';

export interface DockerControllerOptions {
  client: Pick<ApiClient, 'list' | 'watch' | 'get' | 'create' | 'bind' | 'update' | 'updateStatus'>;
  logger: Logger;
  registry?: Registry;
  /**
   * Containers bound in parallel; placements stay consistent through the assume cache. A bind is round trips
   * (bind, then the Scheduled status), not CPU: 4 workers capped binding at ~22/s in the 3,000-Container scale
   * test, and at ~10/s on a loaded machine. @default 32
   */
  workers?: number;
  /** @default the EventRecorder of component "docker-controller" */
  recorder?: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  /** @default 1000 */
  unschedulableInitialBackoffMs?: number;
  /** @default 60000 */
  unschedulableMaxBackoffMs?: number;
  /** Passed to the informers (tests shorten back-off with it). */
  informerDelay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The process's shared informers (`persys controllers`); without it the controller has its own. */
  informers?: InformerFactory;
}

/** What a controller process runs: controllers and the informers they read (see runControllers). */
export interface DockerController {
  controllers: Controller[];
  informers: Informer[];
}

const RETRY_COALESCE_MS = 200;

export function newDockerController(opts: DockerControllerOptions): DockerController {
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const containers = factory.informerFor('Container', { indexers: { [BY_NODE_NAME]: indexByNodeName } });
  const nodes = factory.informerFor('Node');
  const stacks = factory.informerFor('ComposeStack', { indexers: { [BY_NODE_NAME]: indexByNodeName } });
  const recorder = opts.recorder ?? new EventRecorder({ client: opts.client, component: 'docker-controller', logger: opts.logger, clock: opts.clock });
  const controller = new Controller({
    name: SCHEDULER_NAME,
    workers: opts.workers ?? 32,
    logger: opts.logger,
    registry: opts.registry,
    clock: opts.clock,
    reconcile: newSchedulerReconciler({
      client: opts.client,
      containers,
      nodes,
      stacks,
      assumed: new AssumedBindings(60_000, opts.clock),
      recorder,
      clock: opts.clock,
      unschedulableInitialBackoffMs: opts.unschedulableInitialBackoffMs,
      unschedulableMaxBackoffMs: opts.unschedulableMaxBackoffMs,
    }),
  });
  controller.watch(containers, (c) => (concernsScheduler(c) ? objectKey(c) : undefined));

  // What frees or adds room anywhere sends every waiting Container back to the scheduler at once,
  // instead of leaving it to its back-off (kube-scheduler's move to the active queue). One sweep per
  // RETRY_COALESCE_MS: deleting a namespace of 5,000 is then a few sweeps, not 5,000 of them.
  let retryTimer: NodeJS.Timeout | undefined;
  const retryUnscheduled = () => {
    retryTimer ??= setTimeout(() => {
      retryTimer = undefined;
      for (const c of containers.list()) if (needsScheduling(c)) controller.enqueue(objectKey(c));
    }, RETRY_COALESCE_MS);
    retryTimer.unref();
  };
  nodes.addEventHandler({
    onAdd: retryUnscheduled,
    onUpdate: (old, node) => {
      if (nodeFitChanged(old, node)) retryUnscheduled();
    },
  });
  containers.addEventHandler({
    onUpdate: (old, c) => {
      if (holdsNode(old) && !holdsNode(c)) retryUnscheduled();
    },
    onDelete: (c) => {
      if (holdsNode(c)) retryUnscheduled();
    },
  });
  // A stack that leaves its node frees the ports it published there.
  stacks.addEventHandler({
    onUpdate: (old, s) => {
      if (old.spec?.nodeName && old.spec.nodeName !== s.spec?.nodeName) retryUnscheduled();
    },
    onDelete: (s) => {
      if (s.spec?.nodeName) retryUnscheduled();
    },
  });
  return { controllers: [controller], informers: [containers, nodes, stacks] };
}

/** Bound and not finished: it occupies CPU, memory and ports on its node. */
function holdsNode(c: ContainerObject): boolean {
  return !!c.spec?.nodeName && c.status?.phase !== 'Succeeded' && c.status?.phase !== 'Failed';
}

// Heartbeats and usage figures change often and never change what fits.
function nodeFitChanged(a: NodeObject, b: NodeObject): boolean {
  const ready = (n: NodeObject) => (n.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status;
  return (
    ready(a) !== ready(b) ||
    !!a.spec?.unschedulable !== !!b.spec?.unschedulable ||
    JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}) ||
    JSON.stringify(a.status?.allocatable ?? {}) !== JSON.stringify(b.status?.allocatable ?? {})
  );
}
