// The scheduling reconcile for one Container: if it is unbound, pick a node from the informers'
// caches, bind it by compare-and-swap on spec.nodeName and report Scheduled, or report why not.
import { status as Code } from '@grpc/grpc-js';
import type { Resource } from '../../lib/api/resource.js';
import type { ApiClient } from '../../lib/client/client.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import type { Reconciler, Result } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import { BY_NODE_NAME } from '../runtime/indexers.js';
import type { Informer } from '../runtime/informer.js';
import { splitKey } from '../runtime/keys.js';
import type { AssumedBindings } from './assumed.js';
import { scheduleContainer } from './schedule.js';

export interface SchedulerDeps {
  client: Pick<ApiClient, 'update' | 'updateStatus'>;
  /** All Containers, indexed by BY_NODE_NAME. */
  containers: Informer;
  nodes: Informer;
  assumed: AssumedBindings;
  recorder: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  /** Retry delay of an unschedulable Container, doubled per attempt; node changes retry sooner. @default 1000 */
  unschedulableInitialBackoffMs?: number;
  /** @default 60000 */
  unschedulableMaxBackoffMs?: number;
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export const SCHEDULED = 'Scheduled';
const UNSCHEDULABLE_REASON = 'Unschedulable';

/** A Container the scheduler still has to place. */
export function needsScheduling(c: Resource): boolean {
  return !c.spec?.nodeName && !c.metadata.deletionTimestamp;
}

/**
 * Bound, but nobody has reported it scheduled (a lost status write, or a nodeName set by the user). A status
 * the node's agent wrote (it always carries Ready) is past scheduling, even Pending while its image is pulled.
 */
export function awaitsScheduledReport(c: Resource): boolean {
  const phase = c.status?.phase ?? '';
  const reportedByAgent = (c.status?.conditions ?? []).some((x: Condition) => x.type === 'Ready');
  return !!c.spec?.nodeName && (phase === '' || phase === 'Pending') && !reportedByAgent && scheduledCondition(c.status)?.status !== 'True';
}

/** Whether the scheduler has anything to do with the Container (deleted ones included, to forget them). */
export function concernsScheduler(c: Resource): boolean {
  return !c.spec?.nodeName || awaitsScheduledReport(c);
}

/** The status after binding to `node`: phase Scheduled and condition Scheduled=True. */
export function scheduledStatus(c: Resource, node: string, now: string): Record<string, unknown> {
  return withScheduledCondition(c, 'Scheduled', { type: SCHEDULED, status: 'True', reason: SCHEDULED, message: `assigned to node ${node}` }, now);
}

/** The status of a Container no node can take: phase Pending and condition Scheduled=False with the reason. */
export function unschedulableStatus(c: Resource, message: string, now: string): Record<string, unknown> {
  return withScheduledCondition(c, 'Pending', { type: SCHEDULED, status: 'False', reason: UNSCHEDULABLE_REASON, message }, now);
}

/** Whether writing `next` would change what the status says (timestamps aside): write on change only. */
export function statusDiffers(current: Record<string, any> | undefined, next: Record<string, any>): boolean {
  const a = scheduledCondition(current);
  const b = scheduledCondition(next);
  return (current?.phase ?? '') !== next.phase || a?.status !== b?.status || a?.reason !== b?.reason || a?.message !== b?.message;
}

// Other conditions (Ready, from the agent) are kept; the transition time moves only when the status flips.
function withScheduledCondition(c: Resource, phase: string, cond: Condition, now: string): Record<string, unknown> {
  const status = { ...(c.status ?? {}) } as Record<string, any>;
  const previous = scheduledCondition(status);
  const next: Condition = {
    ...cond,
    lastTransitionTime: previous && previous.status === cond.status ? (previous.lastTransitionTime ?? now) : now,
    observedGeneration: c.metadata.generation ?? 0,
  };
  const others = ((status.conditions ?? []) as Condition[]).filter((x) => x.type !== SCHEDULED);
  return { ...status, phase, conditions: [...others, next] };
}

function scheduledCondition(status: Record<string, any> | undefined): Condition | undefined {
  return ((status?.conditions ?? []) as Condition[]).find((x) => x.type === SCHEDULED);
}

export function newSchedulerReconciler(deps: SchedulerDeps): Reconciler {
  const clock = deps.clock ?? systemClock;
  const initialBackoff = deps.unschedulableInitialBackoffMs ?? 1_000;
  const maxBackoff = deps.unschedulableMaxBackoffMs ?? 60_000;
  const attempts = new Map<string, number>();
  const now = () => new Date(clock.now()).toISOString();

  return async (key, ctx): Promise<Result> => {
    const { namespace, name } = splitKey(key);
    const c = deps.containers.get(namespace, name);
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
    const byNode = new Map<string, Resource[]>();
    for (const n of nodes) {
      const nodeName = n.metadata.name ?? '';
      byNode.set(nodeName, [...deps.containers.byIndex(BY_NODE_NAME, nodeName), ...(assumedByNode.get(nodeName) ?? [])]);
    }
    const decision = scheduleContainer(c, nodes, byNode);
    if (!decision.node) return reportUnschedulable(c, decision.reason ?? 'no node fits');

    // Assumed before the write, with no await in between, so parallel workers see this placement.
    const binding: Resource = { ...c, spec: { ...c.spec, nodeName: decision.node } };
    deps.assumed.assume(binding);
    let bound: Resource;
    try {
      bound = await deps.client.update(binding);
    } catch (err) {
      deps.assumed.forget(key);
      const code = codeOf(err);
      // Changed since the cache saw it: decide again on the newer version.
      if (code === Code.ABORTED) return { requeue: true };
      if (code === Code.NOT_FOUND) return;
      throw err;
    }
    deps.assumed.assume(bound);
    attempts.delete(key);
    ctx.log.info({ node: decision.node }, 'bound container to node');
    await writeStatus(bound, scheduledStatus(bound, decision.node, now()));
    // The Event is not waited for (as the containerset controller does): a bind is two writes in a row, not three.
    void deps.recorder.record(bound, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${decision.node}`);
    return;

    // A bind whose status write was lost (crash, or a user-set nodeName) still gets reported, but
    // never over what the agent has written since.
    async function reportBound(obj: Resource): Promise<Result> {
      if (!awaitsScheduledReport(obj)) return;
      const next = scheduledStatus(obj, String(obj.spec.nodeName), now());
      if (statusDiffers(obj.status, next)) await writeStatus(obj, next);
    }

    async function reportUnschedulable(obj: Resource, message: string): Promise<Result> {
      ctx.log.info({ reason: message }, 'container is unschedulable');
      const next = unschedulableStatus(obj, message, now());
      if (statusDiffers(obj.status, next) && !(await writeStatus(obj, next))) return { requeue: true };
      await deps.recorder.record(obj, 'Warning', 'FailedScheduling', message);
      const n = attempts.get(key) ?? 0;
      attempts.set(key, n + 1);
      return { requeueAfterMs: Math.min(maxBackoff, initialBackoff * 2 ** Math.min(n, 30)) };
    }

    /** Compare-and-swap on the object's resourceVersion; false when someone wrote it first. */
    async function writeStatus(obj: Resource, status: Record<string, unknown>): Promise<boolean> {
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

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}
