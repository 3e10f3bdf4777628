// The scheduling reconcile for one Container: if it is unbound, pick a node from the informers'
// caches and bind it (one compare-and-swap of spec.nodeName and the Scheduled status), or report why not.
import { status as Code } from '@grpc/grpc-js';
import type { ContainerObject } from '../../lib/api/typed.js';
import { scheduledCondition, scheduledStatus, unschedulableStatus } from '../../lib/api/scheduling.js';
import type { ApiClient } from '../../lib/client/client.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import type { Reconciler, Result } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import { BY_NODE_NAME } from '../runtime/indexers.js';
import type { Informer } from '../runtime/informer.js';
import { splitKey } from '../runtime/keys.js';
import type { AssumedBindings } from './assumed.js';
import { NodeUsageCache, scheduleContainer, type NodeContainers } from './schedule.js';
import { stackPortClaims } from '../compose/placement.js';
import { codeOf, isUnimplemented } from '../../lib/client/errors.js';

export interface SchedulerDeps {
  client: Pick<ApiClient, 'bind' | 'update' | 'updateStatus'>;
  /** All Containers, indexed by BY_NODE_NAME. */
  containers: Informer;
  /** All ComposeStacks, indexed by BY_NODE_NAME: their published ports are taken on their node. */
  stacks?: Informer;
  nodes: Informer;
  assumed: AssumedBindings;
  recorder: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  /** Retry delay of an unschedulable Container, doubled per attempt; node changes retry sooner. @default 1000 */
  unschedulableInitialBackoffMs?: number;
  /** @default 60000 */
  unschedulableMaxBackoffMs?: number;
}

/** A Container the scheduler still has to place. */
export function needsScheduling(c: ContainerObject): boolean {
  return !c.spec?.nodeName && !c.metadata.deletionTimestamp;
}

/**
 * Bound, but nobody has reported it scheduled (a lost status write, or a nodeName set by the user). A status
 * the node's agent wrote (it always carries Ready) is past scheduling, even Pending while its image is pulled.
 */
export function awaitsScheduledReport(c: ContainerObject): boolean {
  const phase = c.status?.phase ?? '';
  const reportedByAgent = (c.status?.conditions ?? []).some((x) => x.type === 'Ready');
  return !!c.spec?.nodeName && (phase === '' || phase === 'Pending') && !reportedByAgent && scheduledCondition(c.status)?.status !== 'True';
}

/** Whether the scheduler has anything to do with the Container (deleted ones included, to forget them). */
export function concernsScheduler(c: ContainerObject): boolean {
  return !c.spec?.nodeName || awaitsScheduledReport(c);
}

/** Whether writing `next` would change what the status says (timestamps aside): write on change only. */
export function statusDiffers(current: ContainerObject['status'], next: NonNullable<ContainerObject['status']>): boolean {
  const a = scheduledCondition(current);
  const b = scheduledCondition(next);
  return (current?.phase ?? '') !== next.phase || a?.status !== b?.status || a?.reason !== b?.reason || a?.message !== b?.message;
}

export function newSchedulerReconciler(deps: SchedulerDeps): Reconciler {
  const clock = deps.clock ?? systemClock;
  const initialBackoff = deps.unschedulableInitialBackoffMs ?? 1_000;
  const maxBackoff = deps.unschedulableMaxBackoffMs ?? 60_000;
  const attempts = new Map<string, number>();
  const usage = new NodeUsageCache();
  const now = () => new Date(clock.now()).toISOString();

  return async (key, ctx): Promise<Result> => {
    const { namespace, name } = splitKey(key);
    const c: ContainerObject | undefined = deps.containers.get(namespace, name);
    if (!c) {
      deps.assumed.forget(key);
      attempts.delete(key);
      return;
    }
    if (c.metadata.deletionTimestamp) return;
    if (c.spec?.nodeName) {
      attempts.delete(key);
      return reportBound(c);
    }
    // Bound by us a moment ago; the informer has not shown it yet.
    if (deps.assumed.has(key)) return;

    const assumedByNode = deps.assumed.byNode((k) => deps.containers.getByKey(k));
    const nodes = deps.nodes.list();
    // A node with bindings the informer has not shown yet is read afresh; the others keep their sums.
    const onNodes: NodeContainers = {
      on: (node) => {
        const bound = deps.containers.byIndex(BY_NODE_NAME, node);
        const assumed = assumedByNode.get(node);
        return assumed ? [...bound, ...assumed] : bound;
      },
      stamp: (node) => (assumedByNode.has(node) ? undefined : deps.containers.indexStamp(BY_NODE_NAME, node)),
      claimedPorts: (node) => (deps.stacks?.byIndex(BY_NODE_NAME, node) ?? []).flatMap(stackPortClaims),
    };
    const decision = scheduleContainer(c, nodes, onNodes, usage);
    if (!decision.node) return reportUnschedulable(c, decision.reason ?? 'no node fits');

    // Assumed before the write, with no await in between, so parallel workers see this placement.
    deps.assumed.assume({ ...c, spec: { ...c.spec, nodeName: decision.node } });
    let bound: ContainerObject;
    try {
      bound = await bind(c, decision.node);
    } catch (err) {
      deps.assumed.forget(key);
      const code = codeOf(err);
      // Changed since the cache saw it: decide again on the newer version.
      if (code === Code.ABORTED) return { requeue: true };
      // Gone, being deleted, or bound meanwhile by someone else: the informer will show it.
      if (code === Code.NOT_FOUND || code === Code.FAILED_PRECONDITION) return;
      throw err;
    }
    deps.assumed.assume(bound);
    attempts.delete(key);
    ctx.log.info({ node: decision.node }, 'bound container to node');
    // The Event is not waited for (as the containerset controller does): a bind is one write.
    void deps.recorder.record(bound, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${decision.node}`);
    return;

    // A bind whose status write was lost (crash, or a user-set nodeName) still gets reported, but
    // never over what the agent has written since.
    async function reportBound(obj: ContainerObject): Promise<Result> {
      if (!awaitsScheduledReport(obj)) return;
      const next = scheduledStatus(obj, obj.spec?.nodeName ?? '', now());
      if (statusDiffers(obj.status, next)) await writeStatus(obj, next);
    }

    async function reportUnschedulable(obj: ContainerObject, message: string): Promise<Result> {
      ctx.log.info({ reason: message }, 'container is unschedulable');
      const next = unschedulableStatus(obj, message, now());
      if (statusDiffers(obj.status, next) && !(await writeStatus(obj, next))) return { requeue: true };
      await deps.recorder.record(obj, 'Warning', 'FailedScheduling', message);
      const n = attempts.get(key) ?? 0;
      attempts.set(key, n + 1);
      return { requeueAfterMs: Math.min(maxBackoff, initialBackoff * 2 ** Math.min(n, 30)) };
    }

    /**
     * spec.nodeName and the Scheduled status in one write (Bind). An API server older than Bind answers
     * UNIMPLEMENTED: then the two writes it takes there, spec and status.
     */
    async function bind(obj: ContainerObject, node: string): Promise<ContainerObject> {
      const { namespace: ns, name: n, resourceVersion, uid } = obj.metadata;
      try {
        return await deps.client.bind(ns ?? '', n ?? '', node, { resourceVersion, uid });
      } catch (err) {
        if (!isUnimplemented(err)) throw err;
      }
      const bound = await deps.client.update({ ...obj, spec: { ...obj.spec, nodeName: node } });
      await writeStatus(bound, scheduledStatus(bound, node, now()));
      return bound;
    }

    /** Compare-and-swap on the object's resourceVersion; false when someone wrote it first. */
    async function writeStatus(obj: ContainerObject, status: ContainerObject['status']): Promise<boolean> {
      try {
        await deps.client.updateStatus({ ...obj, status });
        return true;
      } catch (err) {
        const code = codeOf(err);
        if (code !== Code.ABORTED && code !== Code.NOT_FOUND) throw err;
        ctx.log.debug({ code }, 'status changed or object gone before the status write; leaving it');
        return false;
      }
    }
  };
}

