// Wiring of the swarm controller: one cluster-wide membership round (inspect the Ready nodes, plan,
// carry out, record the swarm, write Node status) and one reconcile per SwarmService (apply it on a
// reachable manager, write its status, poll while it converges), plus pruning of deleted services.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Resource } from '../../lib/api/resource.js';
import type { ApiClient } from '../../lib/client/client.js';
import type { SwarmClient } from '../../lib/client/swarm.js';
import { SwarmService, type SwarmServiceStatus } from '../../lib/gen/persys/v1/workloads.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { Controller, type ControllerOptions, type ReconcileContext, type Result } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { objectKey } from '../runtime/keys.js';
import { PRUNE_GRACE_MS } from '../../lib/swarm/prune-grace.js';
import { JoinTokenStore, redactTokens } from './membership/join-tokens.js';
import { persysNodeOf, planMembership, type MembershipAction, type MembershipPlan, type Observation, type PersysNode } from './membership/membership.js';
import { nodeStatusAfterRound, quorumTurnedAtRisk } from './membership/node-status.js';
import { describeAction, swarmCallOf } from './membership/operations.js';
import { sameStatus } from './same-status.js';
import { chooseRegistryAuth, PULL_SECRETS_CONDITION, type PullSecretLookup, type RegistryAuthChoice } from './services/registry-auth.js';
import { answerFingerprint, nextPollMs, statusAfterApply, statusAfterFailure, withPullSecretsCondition } from './services/service-status.js';
import { isConflict, isNotFound } from '../../lib/client/errors.js';

export const SWARM_CONTROLLER_NAME = 'swarm';
/** The name of the per-SwarmService controller (metrics and logs). */
export const SWARM_SERVICES_CONTROLLER_NAME = 'swarm-services';
/** The one key of the membership controller. */
export const MEMBERSHIP_KEY = 'swarm';
/** The services controller's key for pruning; it has no "/", so it is never a SwarmService's key. */
const PRUNE_KEY = 'prune';
const INSPECT_DEADLINE_MS = 10_000;
const MANAGER_CALL_DEADLINE_MS = 30_000;
/** After a membership change, look again this soon (the next step needs the new state). */
const AFTER_CHANGE_MS = 1_000;
const WAIT_FOR_MEMBERSHIP_MS = 1_000;
const APPLY_RETRY_MIN_MS = 1_000;
const APPLY_RETRY_MAX_MS = 30_000;
const CONFLICT_RETRY_MS = 100;

/** The part of SwarmClient the controller needs. */
export type SwarmCaller = Pick<SwarmClient, 'call'>;

export interface SwarmControllerOptions {
  client: Pick<ApiClient, 'list' | 'watch' | 'get' | 'create' | 'update' | 'updateStatus' | 'delete'>;
  logger: Logger;
  registry?: Registry;
  swarm: SwarmCaller;
  /** @default the EventRecorder of component "swarm-controller" */
  recorder?: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  informerDelay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The process's shared informers (`persys controllers`); without it the controller has its own. */
  informers?: InformerFactory;
  /** How often membership is checked without any Node event. @default 10000 */
  resyncMs?: number;
  /** Overlay subnet pools (CIDR) for a swarm persys forms. @default [] (Docker's 10.0.0.0/8) */
  defaultAddrPool?: string[];
}

export interface SwarmController {
  controllers: Controller[];
  informers: Informer[];
}

/** A Controller that queues keys of its own choosing whenever it starts (its sources are custom handlers). */
class SelfStartingController extends Controller {
  constructor(
    opts: ControllerOptions,
    private readonly onStart: () => string[],
  ) {
    super(opts);
  }

  override run(signal: AbortSignal): Promise<void> {
    // run() creates the queue before its first await, so the keys land in this run's queue.
    const running = super.run(signal);
    for (const key of this.onStart()) this.enqueue(key);
    return running;
  }
}

const messageOf = (err: unknown) => redactTokens(err instanceof Error ? err.message : String(err));

/** What of a Node membership planning reads: a change elsewhere (status.swarm, heartbeats) starts no round. */
function membershipFingerprint(node: Resource): string {
  const { lastNodeId: _ignored, joinPendingSince: _pending, ...relevant } = persysNodeOf(node);
  return JSON.stringify(relevant);
}

export function newSwarmController(opts: SwarmControllerOptions): SwarmController {
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const nodes = factory.informerFor('Node');
  const services = factory.informerFor('SwarmService');
  const clock = opts.clock ?? systemClock;
  const recorder = opts.recorder ?? new EventRecorder({ client: opts.client, component: 'swarm-controller', logger: opts.logger, clock });
  const tokens = new JoinTokenStore(opts.client);
  const resyncMs = opts.resyncMs ?? 10_000;

  // What the last membership round learned, for the services: reachable managers, the leader first.
  let membershipDone = false;
  let managers: string[] = [];
  const applyFailures = new Map<string, number>();
  /** What the last poll of each service learned and how long it then waited (to back off while nothing moves). */
  const lastPolls = new Map<string, { fingerprint: string; delayMs: number }>();

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
        // A node that left or stopped managing takes no more manager calls from the services.
        if (action.type === 'leave' || (action.type === 'updateNode' && action.roleChange === 'demote')) managers = managers.filter((m) => m !== action.node);
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

    const hadManagers = managers.length > 0;
    managers = plan.managers;
    membershipDone = true;
    // Services that found no manager wait in back-off; now there is one, they need not.
    if (!hadManagers && managers.length > 0) for (const key of services.keys()) servicesController.enqueue(key);

    const changed = await carryOut(plan, ctx);
    const retry = await writeNodeStatuses(plan, ctx);
    // Pruning waits for a round at rest, when the managers list is what the swarm says.
    if (!changed && services.hasSynced() && managers.length > 0) servicesController.enqueue(PRUNE_KEY);
    return { requeueAfterMs: changed || retry ? AFTER_CHANGE_MS : resyncMs };
  }

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
    for (const manager of [...managers]) {
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
    if (!membershipDone) return { requeueAfterMs: WAIT_FOR_MEMBERSHIP_MS };
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
    // Only a complete cache may say which services are still wanted; the next round prunes otherwise.
    if (!services.hasSynced() || managers.length === 0) return;
    const keepUids = services
      .list()
      .map((s) => s.metadata.uid ?? '')
      .filter(Boolean);
    const errors: string[] = [];
    for (const manager of [...managers]) {
      if (ctx.signal.aborted) return;
      try {
        const res = await opts.swarm.call(manager, { $case: 'pruneServices', value: { keepUids } }, { deadlineMs: MANAGER_CALL_DEADLINE_MS });
        if (res.removedServices.length > 0) ctx.log.info({ removed: res.removedServices, manager }, 'removed the Docker services of deleted SwarmServices');
        return;
      } catch (err) {
        errors.push(`${manager}: ${messageOf(err)}`);
      }
    }
    throw new Error(`no swarm manager could prune deleted services: ${errors.join('; ')}`);
  }

  const membershipController = new SelfStartingController(
    { name: SWARM_CONTROLLER_NAME, logger: opts.logger, registry: opts.registry, clock: opts.clock, reconcile: reconcileMembership },
    () => {
      // A new run (a regained leadership) must not trust what an old one learned.
      membershipDone = false;
      managers = [];
      return [MEMBERSHIP_KEY];
    },
  );
  const servicesController = new SelfStartingController(
    { name: SWARM_SERVICES_CONTROLLER_NAME, workers: 4, logger: opts.logger, registry: opts.registry, clock: opts.clock, reconcile: reconcileService },
    () => services.keys(),
  );

  nodes.addEventHandler({
    onAdd: () => membershipController.enqueue(MEMBERSHIP_KEY),
    onUpdate: (old, obj) => {
      if (membershipFingerprint(old) !== membershipFingerprint(obj)) membershipController.enqueue(MEMBERSHIP_KEY);
    },
    onDelete: () => membershipController.enqueue(MEMBERSHIP_KEY),
  });
  // Only spec changes (a new generation) need an apply now; status writes (ours) need none.
  services.addEventHandler({
    onAdd: (obj) => servicesController.enqueue(objectKey(obj)),
    onUpdate: (old, obj) => {
      if (old.metadata.generation !== obj.metadata.generation || old.metadata.uid !== obj.metadata.uid) servicesController.enqueue(objectKey(obj));
    },
    onDelete: (obj) => {
      applyFailures.delete(objectKey(obj));
      servicesController.enqueue(PRUNE_KEY);
      // A Docker service younger than the grace survives the first prune.
      servicesController.enqueueAfter(PRUNE_KEY, PRUNE_GRACE_MS + 1_000);
    },
  });

  return { controllers: [membershipController, servicesController], informers: [nodes, services] };
}
