// The node agent's decision logic, pure: from a uid's desired object and the managed containers
// Docker reports for it, the steps that converge them (one container per uid) and its status.
import type { Resource } from '../lib/api/resource.js';
import { specHash } from './docker/labels.js';
import type { ManagedContainer } from './docker/runtime.js';
import type { Condition } from '../lib/api/resource.js';

/** kubelet's CrashLoopBackOff: 10 s doubling to 5 min, forgotten after 10 min of running. */
export const RESTART_BACKOFF_INITIAL_MS = 10_000;
export const RESTART_BACKOFF_MAX_MS = 300_000;
export const RESTART_BACKOFF_RESET_MS = 600_000;

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** What the agent remembers about one uid between passes (Docker does not know it). */
export interface ContainerMemory {
  restartCount: number;
  /** Delay before the next restart. */
  backoffMs: number;
  /** The last failed action for this uid; no new attempt before `at + retryAfterMs`. */
  failure?: ActionFailure;
}

export interface ActionFailure {
  /** ImageNotPresent, CreateContainerConfigError, CreateContainerError, StartError. */
  reason: string;
  message: string;
  at: number;
  retryAfterMs: number;
}

export type Action =
  /** Create the container and start it. */
  | { type: 'create'; uid: string; container: Resource }
  /** Start a container that was created but never started (an agent crashed in between). */
  | { type: 'start'; uid: string; id: string }
  /** Start an exited container again; on success the agent remembers restartCount and backoffMs. */
  | { type: 'restart'; uid: string; id: string; restartCount: number; backoffMs: number }
  | { type: 'remove'; uid: string; id: string; reason: 'orphan' | 'duplicate' | 'dead' }
  /** The spec changed: remove this container, then create and start the new one. */
  | { type: 'recreate'; uid: string; id: string; container: Resource };

/** ContainerStatus in its JSON form, as StatusReport carries it. */
export interface ContainerStatus {
  phase: 'Pending' | 'Creating' | 'Running' | 'Succeeded' | 'Failed';
  containerId?: string;
  restartCount?: number;
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface ReconcileInput {
  node: string;
  /** Every object the node must run (Containers, and others whose uids protect their Docker objects). */
  desired: Resource[];
  /** listManaged(): every labelled container on the engine. */
  observed: ManagedContainer[];
  memory: ReadonlyMap<string, ContainerMemory>;
  /** The last status computed per uid, to keep condition transition times. */
  previous: ReadonlyMap<string, ContainerStatus>;
  now: number;
}

export interface ReconcileResult {
  /** In the order to apply them; actions of one uid must run serially. */
  actions: Action[];
  statuses: Map<string, ContainerStatus>;
  /** When time alone will make a new decision (a back-off ends). */
  requeueAfterMs?: number;
}

export function restartPolicyOf(container: Resource): RestartPolicy {
  const p = container.spec?.restartPolicy;
  return p === 'OnFailure' || p === 'Never' ? p : 'Always';
}

function wantsRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

const time = (iso: string | undefined) => (iso ? Date.parse(iso) : NaN);

/**
 * The container kept for a uid when a crash left several: the running one with the current spec,
 * then any running one, then the current spec, then the most recently started.
 */
function keeperOf(list: ManagedContainer[], hash: string): ManagedContainer {
  const score = (c: ManagedContainer) => (c.state === 'running' ? 2 : 0) + (c.specHash === hash ? 1 : 0);
  return [...list].sort(
    (a, b) => score(b) - score(a) || (time(b.startedAt) || 0) - (time(a.startedAt) || 0) || a.id.localeCompare(b.id),
  )[0]!;
}

/** The decision for one uid: what the agent's worker for that uid acts on. */
export interface UidInput {
  node: string;
  uid: string;
  /** The desired object with this uid; absent when nothing desired has it (its containers are orphans). */
  desired?: Resource;
  /** Managed containers labelled with this uid; those of another node are left alone. */
  observed: ManagedContainer[];
  memory?: ContainerMemory;
  /** The last status computed for this uid, to keep condition transition times. */
  previous?: ContainerStatus;
  now: number;
}

export interface UidResult {
  /** To apply serially, in this order. */
  actions: Action[];
  /** Only for a desired Container. */
  status?: ContainerStatus;
  /** When time alone will make a new decision (a back-off ends). */
  requeueAfterMs?: number;
}

/** The whole node at once: reconcileUid for every uid desired or observed. */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const actions: Action[] = [];
  const statuses = new Map<string, ContainerStatus>();
  let requeueAfterMs: number | undefined;
  const desiredByUid = new Map<string, Resource>();
  for (const o of input.desired) if (o.metadata.uid) desiredByUid.set(o.metadata.uid, o);
  const byUid = new Map<string, ManagedContainer[]>();
  for (const c of input.observed) byUid.set(c.uid, [...(byUid.get(c.uid) ?? []), c]);
  const one = (uid: string, desired: Resource | undefined) => {
    const r = reconcileUid({
      node: input.node,
      uid,
      desired,
      observed: byUid.get(uid) ?? [],
      memory: input.memory.get(uid),
      previous: input.previous.get(uid),
      now: input.now,
    });
    actions.push(...r.actions);
    if (r.status) statuses.set(uid, r.status);
    if (r.requeueAfterMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, r.requeueAfterMs);
  };
  // Orphans first: a new incarnation under the same name may need the old one's name freed.
  for (const uid of byUid.keys()) if (!desiredByUid.has(uid)) one(uid, undefined);
  for (const o of input.desired) if (o.metadata.uid) one(o.metadata.uid, o);
  return { actions, statuses, requeueAfterMs };
}

export function reconcileUid(input: UidInput): UidResult {
  const { now, uid } = input;
  const actions: Action[] = [];
  let requeueAfterMs: number | undefined;
  const requeue = (ms: number) => (requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, Math.max(ms, 0)));

  // Another node's agent may share this engine (tests, or a renamed node): not ours to touch.
  const observed = input.observed.filter((c) => c.uid === uid && (!c.node || c.node === input.node));
  const container = input.desired;
  if (!container) {
    for (const c of observed) if (c.state !== 'removing') actions.push({ type: 'remove', uid, id: c.id, reason: 'orphan' });
    return { actions };
  }
  // Other desired kinds only lend their uid to protect their Docker objects.
  if (container.kind !== 'Container') return { actions };

  const hash = specHash(container.spec);
  const policy = restartPolicyOf(container);
  const reported = (input.previous ?? container.status) as ContainerStatus | undefined;
  const keeper = observed.length ? keeperOf(observed, hash) : undefined;
  for (const c of observed) {
    if (c !== keeper && c.state !== 'removing') actions.push({ type: 'remove', uid, id: c.id, reason: 'duplicate' });
  }
  const seededCount = keeper && reported?.containerId === keeper.id ? (reported.restartCount ?? 0) : 0;
  const memory = input.memory ?? { restartCount: seededCount, backoffMs: RESTART_BACKOFF_INITIAL_MS };
  const failure = memory.failure;
  const blocked = !!failure && now < failure.at + failure.retryAfterMs;
  if (blocked) requeue(failure.at + failure.retryAfterMs - now);

  let status: ContainerStatus;
  if (!keeper) {
    const finished = reported?.phase === 'Succeeded' || reported?.phase === 'Failed';
    if (finished && !wantsRestart(policy, reported.exitCode ?? 0)) {
      // Ran to completion and the container is gone since: running it again would repeat the job.
      return { actions, status: withGeneration({ ...reported }, container), requeueAfterMs };
    }
    if (!blocked) actions.push({ type: 'create', uid, container });
    status = failure
      ? { phase: 'Pending', reason: failure.reason, message: failure.message }
      : { phase: 'Creating', reason: 'ContainerCreating' };
  } else if (keeper.specHash && keeper.specHash !== hash) {
    if (!blocked && keeper.state !== 'removing') actions.push({ type: 'recreate', uid, id: keeper.id, container });
    status = { ...observedFields(keeper, memory), phase: 'Creating', reason: 'SpecChanged', message: 'recreating the container for the new spec' };
  } else {
    status = observedFields(keeper, memory);
    switch (keeper.state) {
      case 'created':
        if (!blocked) actions.push({ type: 'start', uid, id: keeper.id });
        status.phase = 'Creating';
        status.reason = 'ContainerCreating';
        break;
      case 'running':
      case 'restarting':
      case 'paused':
        status.phase = 'Running';
        break;
      case 'removing':
        status.phase = 'Creating';
        break;
      case 'dead':
        if (!blocked) actions.push({ type: 'remove', uid, id: keeper.id, reason: 'dead' });
        status.phase = 'Creating';
        status.reason = 'ContainerDead';
        break;
      default: {
        // exited
        const exit = keeper.exitCode;
        status.exitCode = exit;
        if (!wantsRestart(policy, exit)) {
          status.phase = exit === 0 ? 'Succeeded' : 'Failed';
          status.reason = exit === 0 ? 'Completed' : 'Error';
          break;
        }
        const ran = time(keeper.finishedAt) - time(keeper.startedAt);
        const delay = ran >= RESTART_BACKOFF_RESET_MS ? RESTART_BACKOFF_INITIAL_MS : memory.backoffMs;
        const finishedAt = time(keeper.finishedAt);
        const due = Number.isNaN(finishedAt) ? now : finishedAt + delay;
        status.phase = 'Running';
        status.reason = 'CrashLoopBackOff';
        status.message = `back-off ${Math.round(delay / 1000)}s restarting the exited container (exit code ${exit})`;
        if (blocked) break;
        if (now >= due) {
          actions.push({
            type: 'restart',
            uid,
            id: keeper.id,
            restartCount: memory.restartCount + 1,
            backoffMs: Math.min(delay * 2, RESTART_BACKOFF_MAX_MS),
          });
        } else {
          requeue(due - now);
        }
      }
    }
    if (failure && status.phase !== 'Running') {
      status.reason = failure.reason;
      status.message = failure.message;
    }
  }
  status.conditions = [readyCondition(keeper, status, reported, now)];
  return { actions, status: withGeneration(status, container), requeueAfterMs };
}

function observedFields(c: ManagedContainer, memory: ContainerMemory): ContainerStatus {
  const s: ContainerStatus = { phase: 'Running', containerId: c.id, restartCount: memory.restartCount };
  if (c.startedAt) s.startedAt = c.startedAt;
  if (c.finishedAt && c.state !== 'running') s.finishedAt = c.finishedAt;
  return s;
}

function withGeneration(s: ContainerStatus, container: Resource): ContainerStatus {
  const gen = Number(container.metadata.generation ?? 0);
  if (gen) s.observedGeneration = gen;
  return s;
}

/** Ready follows Docker's healthcheck when there is one, else whether the container runs. */
function readyCondition(
  c: ManagedContainer | undefined,
  status: ContainerStatus,
  reported: ContainerStatus | undefined,
  now: number,
): Condition {
  let cond: Condition;
  if (c?.state === 'running' && status.phase === 'Running') {
    if (!c.health || c.health === 'healthy') cond = { type: 'Ready', status: 'True' };
    else if (c.health === 'starting') cond = { type: 'Ready', status: 'False', reason: 'HealthcheckStarting' };
    else cond = { type: 'Ready', status: 'False', reason: 'Unhealthy', message: 'the container healthcheck fails' };
  } else {
    cond = { type: 'Ready', status: 'False', reason: status.reason ?? 'ContainerNotRunning' };
  }
  const before = reported?.conditions?.find((x) => x.type === 'Ready');
  cond.lastTransitionTime =
    before?.status === cond.status && before.lastTransitionTime ? before.lastTransitionTime : new Date(now).toISOString();
  return cond;
}
