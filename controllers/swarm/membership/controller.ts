// Wiring of the swarm-membership controller: one cluster-wide round (inspect the Ready nodes, plan,
// record the swarm, carry the plan out, write Node status). Node status.swarm is all it tells others:
// the swarm-services controller finds the reachable managers there, never in this process's memory.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Resource } from '../../../lib/api/resource.js';
import type { ApiClient } from '../../../lib/client/client.js';
import { isConflict, isNotFound } from '../../../lib/client/errors.js';
import { systemClock, type Clock } from '../../../lib/queue/clock.js';
import type { Controller, ReconcileContext, Result } from '../../runtime/controller.js';
import { EventRecorder } from '../../runtime/events.js';
import type { Informer } from '../../runtime/informer.js';
import { InformerFactory } from '../../runtime/informer-factory.js';
import { SelfStartingController } from '../self-starting-controller.js';
import { messageOf, type SwarmCaller, type SwarmControllerOptions } from '../swarm-caller.js';
import { JoinTokenStore } from './join-tokens.js';
import { persysNodeOf, planMembership, type MembershipAction, type MembershipPlan, type Observation, type PersysNode } from './membership.js';
import { nodeStatusAfterRound, quorumTurnedAtRisk } from './node-status.js';
import { describeAction, swarmCallOf } from './operations.js';

/** The controller's name (metrics, logs, `persys controller swarm-membership`). */
export const SWARM_MEMBERSHIP_CONTROLLER_NAME = 'swarm-membership';
/** The one key of the membership controller. */
export const MEMBERSHIP_KEY = 'swarm';
const INSPECT_DEADLINE_MS = 10_000;
const MANAGER_CALL_DEADLINE_MS = 30_000;
/** After a membership change, look again this soon (the next step needs the new state). */
const AFTER_CHANGE_MS = 1_000;

export interface SwarmMembershipControllerOptions extends SwarmControllerOptions {
  /** How often membership is checked without any Node event. @default 10000 */
  resyncMs?: number;
  /** Overlay subnet pools (CIDR) for a swarm persys forms. @default [] (Docker's 10.0.0.0/8) */
  defaultAddrPool?: string[];
}

export interface SwarmMembershipController {
  controllers: Controller[];
  informers: Informer[];
}

/** What of a Node membership planning reads: a change elsewhere (status.swarm, heartbeats) starts no round. */
function membershipFingerprint(node: Resource): string {
  const { lastNodeId: _ignored, joinPendingSince: _pending, ...relevant } = persysNodeOf(node);
  return JSON.stringify(relevant);
}

export function newSwarmMembershipController(opts: SwarmMembershipControllerOptions): SwarmMembershipController {
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const nodes = factory.informerFor('Node');
  const clock = opts.clock ?? systemClock;
  const recorder = opts.recorder ?? new EventRecorder({ client: opts.client, component: 'swarm-membership-controller', logger: opts.logger, clock });
  const tokens = new JoinTokenStore(opts.client);
  const resyncMs = opts.resyncMs ?? 10_000;

  async function inspectAll(ready: PersysNode[], ctx: ReconcileContext): Promise<Map<string, Observation>> {
    const answers = await Promise.all(
      ready.map(async (n): Promise<[string, Observation]> => {
        try {
          const res = await opts.swarm.call(n.name, { $case: 'inspect', value: {} }, { deadlineMs: INSPECT_DEADLINE_MS });
          if (!res.state) return [n.name, { reachable: false, error: 'the agent answered without a swarm state' }];
          return [n.name, { reachable: true, state: res.state }];
        } catch (err) {
          ctx.log.debug({ node: n.name, error: messageOf(err) }, 'swarm inspect failed; the node counts as unreachable');
          return [n.name, { reachable: false, error: messageOf(err) }];
        }
      }),
    );
    return new Map(answers);
  }

  const nodeObject = (name: string) => nodes.get('', name);

  async function recordEvent(node: string, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const obj = nodeObject(node);
    if (obj) await recorder.record(obj, type, reason, message);
  }

  /** The Event a successful action is worth, if any. */
  async function announce(action: MembershipAction): Promise<void> {
    switch (action.type) {
      case 'init':
        return recordEvent(action.node, 'Normal', 'SwarmInitialized', `formed a new swarm on this node${action.advertiseAddr ? ` advertising ${action.advertiseAddr}` : ''}`);
      case 'join':
        return recordEvent(action.node, 'Normal', 'SwarmJoined', `joined the swarm as a ${action.role}`);
      case 'leave':
        if (action.bestEffort) return;
        if (action.joinTimedOut) return recordEvent(action.node, 'Warning', 'SwarmJoinTimedOut', 'left the swarm it could not finish joining; joining again');
        return recordEvent(action.node, 'Normal', 'SwarmLeft', 'left the swarm: spec.swarm.role is none');
      case 'updateNode':
        if (action.roleChange) {
          return recordEvent(action.node, 'Normal', 'SwarmRoleChanged', `${action.roleChange === 'promote' ? 'promoted' : 'demoted'} to ${action.role}`);
        }
        return;
      case 'removeNode':
        return;
    }
  }

  /** Carries the actions out one by one; returns whether any changed the swarm. */
  async function carryOut(plan: MembershipPlan, ctx: ReconcileContext): Promise<boolean> {
    let changed = false;
    let promotionFailed = false;
    for (const action of plan.actions) {
      if (ctx.signal.aborted) break;
      // A demotion counted on this round's promotions; without them it could strand the swarm.
      if (promotionFailed && action.type === 'updateNode' && action.roleChange === 'demote') continue;
      const what = describeAction(action);
      const call = swarmCallOf(action, plan.record, opts.defaultAddrPool);
      const deadlineMs = action.type === 'updateNode' || action.type === 'removeNode' ? MANAGER_CALL_DEADLINE_MS : undefined;
      try {
        await opts.swarm.call(call.node, call.operation, deadlineMs ? { deadlineMs } : {});
        changed = true;
        ctx.log.info({ op: action.type, node: action.node, via: call.node }, `swarm: ${what}`);
        await announce(action);
      } catch (err) {
        if (action.type === 'updateNode' && action.roleChange === 'promote') promotionFailed = true;
        if (action.type === 'leave' && action.bestEffort) {
          ctx.log.info({ op: action.type, node: action.node, error: messageOf(err) }, `swarm: could not ${what}; removing it anyway`);
          continue;
        }
        ctx.log.warn({ op: action.type, node: action.node, via: call.node, error: messageOf(err) }, `swarm: failed to ${what}`);
        await recordEvent(action.node, 'Warning', 'SwarmOperationFailed', `could not ${what}: ${messageOf(err)}`);
      }
    }
    return changed;
  }

  /** Read-modify-write of one Node's status; true when it must be tried again (a conflict persisted). */
  async function writeNodeStatus(obj: Resource, plan: MembershipPlan, now: string, atRisk: Resource[], ctx: ReconcileContext): Promise<boolean> {
    const name = obj.metadata.name!;
    const report = plan.reports.get(name);
    if (!report) return false;
    let current = obj;
    for (let attempt = 0; attempt < 2; attempt++) {
      const next = nodeStatusAfterRound(current.status, report, plan.quorum, now);
      if (!next) return false;
      try {
        await opts.client.updateStatus({ ...current, status: next });
        if (quorumTurnedAtRisk(current.status, next)) atRisk.push(current);
        return false;
      } catch (err) {
        if (isNotFound(err)) return false;
        if (!isConflict(err)) {
          ctx.log.warn({ err, node: name }, 'could not write the swarm status of a node; retrying next round');
          return true;
        }
        // Someone else wrote the Node since the cache saw it: start again from theirs.
        current = await opts.client.get('Node', name);
      }
    }
    return true;
  }

  async function writeNodeStatuses(plan: MembershipPlan, ctx: ReconcileContext): Promise<boolean> {
    const now = new Date(clock.now()).toISOString();
    const atRisk: Resource[] = [];
    let retry = false;
    for (const obj of nodes.list().sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1))) {
      if (ctx.signal.aborted) break;
      if (await writeNodeStatus(obj, plan, now, atRisk, ctx)) retry = true;
    }
    if (atRisk.length > 0 && plan.quorum) {
      ctx.log.warn({ quorum: plan.quorum.message }, 'swarm quorum at risk');
      await recorder.record(atRisk[0]!, 'Warning', 'SwarmQuorumAtRisk', plan.quorum.message);
    }
    return retry;
  }

  async function reconcileMembership(_key: string, ctx: ReconcileContext): Promise<Result> {
    const planned = nodes.list().map(persysNodeOf);
    const observed = await inspectAll(planned.filter((n) => n.ready), ctx);
    const record = await tokens.read();
    const plan = planMembership({ nodes: planned, observed, record, now: clock.now() });
    if (ctx.signal.aborted) return;

    // The record changes before any action: a new swarm must never be formed while the old one is recorded.
    if (plan.recordWrite === 'write') {
      await tokens.write(plan.record!);
      ctx.log.info({ clusterId: plan.record!.clusterId }, record?.clusterId === plan.record!.clusterId ? 'recorded new swarm join tokens' : 'recorded the swarm');
    } else if (plan.recordWrite === 'forget') {
      await tokens.forget();
      ctx.log.warn({ clusterId: record?.clusterId }, 'forgot the recorded swarm: no node with role manager is in it any more');
    }

    const changed = await carryOut(plan, ctx);
    // Node status is how the services controller learns of the managers (status.swarm of each).
    const retry = await writeNodeStatuses(plan, ctx);
    ctx.log.debug({ managers: plan.managers, changed }, 'membership round done');
    return { requeueAfterMs: changed || retry ? AFTER_CHANGE_MS : resyncMs };
  }

  const controller = new SelfStartingController(
    { name: SWARM_MEMBERSHIP_CONTROLLER_NAME, logger: opts.logger, registry: opts.registry, clock: opts.clock, reconcile: reconcileMembership },
    () => [MEMBERSHIP_KEY],
  );

  nodes.addEventHandler({
    onAdd: () => controller.enqueue(MEMBERSHIP_KEY),
    onUpdate: (old, obj) => {
      if (membershipFingerprint(old) !== membershipFingerprint(obj)) controller.enqueue(MEMBERSHIP_KEY);
    },
    onDelete: () => controller.enqueue(MEMBERSHIP_KEY),
  });

  return { controllers: [controller], informers: [nodes] };
}
