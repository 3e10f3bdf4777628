// Wiring of the node lifecycle controller: Node, node Lease and Container informers feed one cluster-wide
// key, re-evaluated every few seconds because the passing of time is what makes a lease stale.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { setCondition } from '../../lib/api/conditions.js';
import type { ApiClient } from '../../lib/client/client.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { Controller, type ReconcileContext, type Result } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { EvictionLimiter } from './eviction-limiter.js';
import { DEFAULT_EVICTIONS_PER_SECOND, NODE_LEASE_NAMESPACE, planNodeHealth } from './health.js';
import { registerNodeMetrics } from './metrics.js';

export const NODE_CONTROLLER_NAME = 'node-lifecycle';
/** The whole cluster is one key: full-disruption mode needs every node at once. */
export const CLUSTER_KEY = 'cluster';

export interface NodeControllerOptions {
  client: Pick<ApiClient, 'list' | 'watch' | 'get' | 'create' | 'update' | 'updateStatus' | 'delete'>;
  logger: Logger;
  registry?: Registry;
  /** @default DEFAULT_NODE_GRACE_PERIOD_MS (40 s) */
  gracePeriodMs?: number;
  /** @default DEFAULT_STREAM_LOSS_GRACE_PERIOD_MS (5 s) */
  streamLossGracePeriodMs?: number;
  /** @default DEFAULT_EVICTION_TIMEOUT_MS (5 s) */
  evictionTimeoutMs?: number;
  /** @default DEFAULT_EVICTIONS_PER_SECOND (10) */
  evictionsPerSecond?: number;
  /** How often the cluster is re-evaluated without any event. @default 2000 */
  resyncMs?: number;
  /**
   * Least time between two evaluations. Each looks at every node, Lease and Container, and 1,000 nodes
   * renew 100 Leases a second: evaluating on each event would cost the process a core. A grace period
   * that runs out is still acted on at once (the plan says when the next one is due). @default 500
   */
  minIntervalMs?: number;
  /** @default the EventRecorder of component "node-controller" */
  recorder?: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  informerDelay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The process's shared informers (`persys controllers`); without it the controller has its own. */
  informers?: InformerFactory;
}

export interface NodeController {
  controllers: Controller[];
  informers: Informer[];
}

export function newNodeController(opts: NodeControllerOptions): NodeController {
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const nodes = factory.informerFor('Node');
  const leases = factory.informerFor('Lease', { namespace: NODE_LEASE_NAMESPACE });
  const containers = factory.informerFor('Container');
  const clock = opts.clock ?? systemClock;
  const recorder = opts.recorder ?? new EventRecorder({ client: opts.client, component: 'node-controller', logger: opts.logger, clock });
  const perSecond = opts.evictionsPerSecond ?? DEFAULT_EVICTIONS_PER_SECOND;
  // A burst of one second's worth: a lost node's few replicas go together, a mass failure still drains at the rate.
  const limiter = new EvictionLimiter(perSecond, Math.max(1, Math.floor(perSecond)));
  // Standalone Containers already reported, by uid, so each is reported once rather than every round.
  const reported = new Set<string>();
  const resyncMs = opts.resyncMs ?? 2_000;
  const minIntervalMs = opts.minIntervalMs ?? 500;
  let lastEvaluation = -Infinity;

  async function reconcile(_key: string, ctx: ReconcileContext): Promise<Result> {
    const now = clock.now();
    // Events since the last evaluation are folded into the next one, at most minIntervalMs away.
    if (now - lastEvaluation < minIntervalMs) return { requeueAfterMs: Math.max(1, Math.ceil(lastEvaluation + minIntervalMs - now)) };
    lastEvaluation = now;
    const plan = planNodeHealth({
      nodes: nodes.list(),
      leases: leases.list(),
      containers: containers.list(),
      nowMs: now,
      gracePeriodMs: opts.gracePeriodMs,
      streamLossGracePeriodMs: opts.streamLossGracePeriodMs,
      evictionTimeoutMs: opts.evictionTimeoutMs,
      evictionBudget: limiter.available(now),
    });
    const stamp = new Date(now).toISOString();
    // One failed write must not hold back the others: each is retried on the next round.
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        ctx.log.warn({ err }, `${what} failed; retrying next round`);
      }
    };

    for (const { node, condition } of plan.readyChanges) {
      if (ctx.signal.aborted) return;
      await attempt(`setting Ready=${condition.status} on node ${node.metadata.name}`, async () => {
        const conditions = setCondition(node.status?.conditions, condition, stamp);
        await opts.client.updateStatus({ ...node, status: { ...(node.status ?? {}), conditions } });
        ctx.log.info({ node: node.metadata.name, ready: condition.status, reason: condition.reason }, 'node Ready changed');
        if (condition.status !== 'True') await recorder.record(node, 'Warning', 'NodeNotReady', `Node ${node.metadata.name} status is now: ${condition.reason} (${condition.message})`);
        else await recorder.record(node, 'Normal', 'NodeReady', `Node ${node.metadata.name} renews its lease again`);
      });
    }
    for (const c of plan.markUnknown) {
      if (ctx.signal.aborted) return;
      await attempt(`marking container ${c.metadata.namespace}/${c.metadata.name} Unknown`, () =>
        opts.client.updateStatus({ ...c, status: { ...(c.status ?? {}), phase: 'Unknown', reason: 'NodeLost', message: `node ${c.spec?.nodeName} is not ready` } }),
      );
    }
    let evicted = 0;
    for (const c of plan.evict) {
      if (ctx.signal.aborted) return;
      await attempt(`evicting container ${c.metadata.namespace}/${c.metadata.name}`, async () => {
        evicted++;
        await recorder.record(c, 'Warning', 'EvictingContainer', `node ${c.spec?.nodeName} is not ready; deleting so its ContainerSet replaces it`);
        await opts.client.delete('Container', c.metadata.name!, c.metadata.namespace ?? '', { uid: c.metadata.uid });
        ctx.log.info({ container: `${c.metadata.namespace}/${c.metadata.name}`, node: c.spec?.nodeName }, 'evicted container');
      });
    }
    for (const c of plan.reschedule) {
      if (ctx.signal.aborted) return;
      await attempt(`rescheduling container ${c.metadata.namespace}/${c.metadata.name}`, async () => {
        evicted++;
        const lost = c.spec?.nodeName;
        // Unbound, the scheduler places it on a healthy node; the lost node's agent removes its copy when back.
        const moved = await opts.client.update({ ...c, spec: { ...c.spec, nodeName: '' } });
        await opts.client.updateStatus({ ...moved, status: { phase: 'Pending', reason: 'Rescheduled', message: `node ${lost} was lost` } });
        await recorder.record(c, 'Warning', 'Rescheduling', `node ${lost} is not ready; moving this Container to a healthy node (rescheduleOnNodeLoss)`);
        ctx.log.info({ container: `${c.metadata.namespace}/${c.metadata.name}`, node: lost }, 'rescheduled container');
      });
    }
    limiter.spend(evicted);
    for (const c of plan.stranded) {
      const uid = c.metadata.uid ?? `${c.metadata.namespace}/${c.metadata.name}`;
      if (reported.has(uid)) continue;
      reported.add(uid);
      await recorder.record(c, 'Warning', 'NodeNotReady', `node ${c.spec?.nodeName} is not ready and nothing owns this Container to replace it; left in place`);
    }
    if (plan.evictionsDeferred > 0) ctx.log.info({ deferred: plan.evictionsDeferred }, 'evictions deferred by the rate limit');
    if (plan.fullDisruption) ctx.log.warn('every node is NotReady: evictions are suspended');
    // Wake when a grace period or timeout runs out, not up to a resync later; deferred evictions wait for a token.
    const due = [resyncMs, plan.recheckInMs ?? Infinity, plan.evictionsDeferred > 0 ? Math.ceil(1000 / perSecond) : Infinity];
    return { requeueAfterMs: Math.max(50, Math.min(...due)) };
  }

  if (opts.registry) {
    registerNodeMetrics(opts.registry, {
      synced: () => nodes.hasSynced() && leases.hasSynced(),
      nodes: () => nodes.list(),
      leases: () => leases.list(),
      now: () => clock.now(),
    });
  }
  const controller = new Controller({ name: NODE_CONTROLLER_NAME, logger: opts.logger, registry: opts.registry, clock: opts.clock, reconcile });
  for (const inf of [nodes, leases, containers]) controller.watch(inf, () => CLUSTER_KEY);
  return { controllers: [controller], informers: [nodes, leases, containers] };
}

