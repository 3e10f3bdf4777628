// Wiring of the compose controller: places each unplaced ComposeStack on a node (spec.nodeName, like
// the scheduler binds a Container) and says why when no node fits; the node's agent brings the
// project up and reports its status.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ComposeStackObject, ContainerObject } from '../../lib/api/typed.js';
import type { ApiClient } from '../../lib/client/client.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { Controller, type ReconcileContext, type Result } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { BY_NODE_NAME, indexByNodeName } from '../runtime/indexers.js';
import type { Informer } from '../runtime/informer.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { objectKey } from '../runtime/keys.js';
import { placementProbe, placeStack, projectOf } from './placement.js';

export const COMPOSE_CONTROLLER_NAME = 'compose';
const RETRY_UNSCHEDULABLE_MS = 10_000;

export interface ComposeControllerOptions {
  client: Pick<ApiClient, 'list' | 'watch' | 'get' | 'create' | 'update' | 'updateStatus'>;
  logger: Logger;
  registry?: Registry;
  /** @default the EventRecorder of component "compose-controller" */
  recorder?: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  informerDelay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The process's shared informers (`persys controllers`); without it the controller has its own. */
  informers?: InformerFactory;
}

export interface ComposeController {
  controllers: Controller[];
  informers: Informer[];
}

export function newComposeController(opts: ComposeControllerOptions): ComposeController {
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const stacks = factory.informerFor('ComposeStack', { indexers: { [BY_NODE_NAME]: indexByNodeName } });
  const nodes = factory.informerFor('Node');
  const containers = factory.informerFor('Container', { indexers: { [BY_NODE_NAME]: indexByNodeName } });
  const clock = opts.clock ?? systemClock;
  const recorder = opts.recorder ?? new EventRecorder({ client: opts.client, component: 'compose-controller', logger: opts.logger, clock });

  // What occupies each node: its Containers, and every other stack placed there (as its placement probe).
  const occupants = (except: ComposeStackObject): Map<string, ContainerObject[]> => {
    const byNode = new Map<string, ContainerObject[]>();
    for (const node of nodes.list()) {
      const name = node.metadata.name!;
      const placed = stacks
        .byIndex(BY_NODE_NAME, name)
        .filter((s) => s.metadata.uid !== except.metadata.uid)
        .map((s) => placementProbe(s, projectOf(s)));
      byNode.set(name, [...containers.byIndex(BY_NODE_NAME, name), ...placed]);
    }
    return byNode;
  };

  async function reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    const stack: ComposeStackObject | undefined = stacks.getByKey(key);
    if (!stack || stack.metadata.deletionTimestamp || stack.spec?.nodeName) return;
    const result = placeStack(stack, projectOf(stack), nodes.list(), occupants(stack));
    const now = new Date(clock.now()).toISOString();
    if (!result.node) {
      const message = result.reason ?? 'no node fits';
      const before = (stack.status?.conditions ?? []).find((c) => c.type === 'Scheduled');
      if (stack.status?.phase !== 'Pending' || before?.message !== message) {
        await opts.client.updateStatus({
          ...stack,
          status: { ...(stack.status ?? {}), phase: 'Pending', conditions: [{ type: 'Scheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: now }] },
        });
        await recorder.record(stack, 'Warning', 'FailedScheduling', message);
      }
      return { requeueAfterMs: RETRY_UNSCHEDULABLE_MS };
    }
    // Binding is a compare-and-swap on the read: a concurrent edit makes it fail and the key is retried.
    const bound = await opts.client.update({ ...stack, spec: { ...stack.spec, nodeName: result.node } });
    await opts.client.updateStatus({
      ...bound,
      status: { ...(bound.status ?? {}), phase: 'Pending', nodeName: result.node, conditions: [{ type: 'Scheduled', status: 'True', reason: 'Scheduled', message: `assigned to node ${result.node}`, lastTransitionTime: now }] },
    });
    ctx.log.info({ node: result.node }, 'placed compose stack');
    await recorder.record(stack, 'Normal', 'Scheduled', `Successfully assigned ${stack.metadata.namespace}/${stack.metadata.name} to ${result.node}`);
    return;
  }

  const controller = new Controller({ name: COMPOSE_CONTROLLER_NAME, logger: opts.logger, registry: opts.registry, clock: opts.clock, reconcile });
  controller.watch(stacks);
  // A node that appears, becomes ready or is uncordoned may fit stacks that fitted nowhere.
  const unplaced = () => stacks.list().filter((s) => !s.spec?.nodeName).map((s) => objectKey(s));
  controller.watch(nodes, unplaced);
  return { controllers: [controller], informers: [stacks, nodes, containers] };
}
