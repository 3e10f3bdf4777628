// The node agent's decision logic, pure: from a uid's desired object and the managed containers
// Docker reports for it, the steps that converge them (one container per uid) and its status.
import type { Resource } from '../lib/api/resource.js';
import { isContainer, type ContainerObject } from '../lib/api/typed.js';
import { effectivePullPolicy, parseImageReference, withDefaultTag, type PullPolicy } from '../lib/registry/reference.js';
import type { PullBytes } from './images/progress.js';
import { specHash } from './docker/labels.js';
import type { BoundPort, ManagedContainer } from './runtime.js';
import type { Condition } from '../lib/api/resource.js';
import { conditionOf, withTransitionTime } from '../lib/api/conditions.js';

/** kubelet's CrashLoopBackOff: 10 s doubling to 5 min, forgotten after 10 min of running. */
export const RESTART_BACKOFF_INITIAL_MS = 10_000;
export const RESTART_BACKOFF_MAX_MS = 300_000;
export const RESTART_BACKOFF_RESET_MS = 600_000;
/**
 * How long a failed pull shows ErrImagePull before ImagePullBackOff (at most half the back-off), as
 * kubelet shows the error at the failed sync and the back-off at the syncs after it.
 */
export const ERR_IMAGE_PULL_SHOWN_MS = 5_000;

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
  /** ErrImagePull, ErrImageNeverPull, ImageNotPresent, CreateContainerConfigError, CreateContainerError, StartError. */
  reason: string;
  message: string;
  /** For image failures: the image, and the registry's own message (for ImagePullBackOff's text). */
  image?: string;
  detail?: string;
  at: number;
  retryAfterMs: number;
}

/** What the agent knows about one uid's image between passes. */
export interface ImageState {
  /** The spec.image this is about: a state about another image is ignored. */
  image: string;
  /** A pull is in flight, with its progress so far. */
  pulling?: PullBytes;
  /** The image is on the node as the pull policy wants: the next create may go ahead (and uses this up). */
  ready?: boolean;
}

export type Action =
  /**
   * Make the image present as the pull policy says (check, pull, or refuse under Never) before a create or
   * recreate: a recreate's old container keeps running while the new image is pulled, and when that fails.
   */
  | { type: 'ensureImage'; uid: string; image: string; policy: PullPolicy; container: ContainerObject }
  /** Create the container and start it. */
  | { type: 'create'; uid: string; container: ContainerObject }
  /** Start a container that was created but never started (an agent crashed in between). */
  | { type: 'start'; uid: string; id: string }
  /** Start an exited container again; on success the agent remembers restartCount and backoffMs. */
  | { type: 'restart'; uid: string; id: string; restartCount: number; backoffMs: number }
  | { type: 'remove'; uid: string; id: string; reason: 'orphan' | 'duplicate' | 'dead' }
  /** The spec changed: remove this container, then create and start the new one. */
  | { type: 'recreate'; uid: string; id: string; container: ContainerObject };

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
  /** The running image: repository@sha256:… when pulled from a registry, else the image id. */
  imageId?: string;
  /** While pulling; int64 counts in their JSON form (strings). */
  imagePull?: { image: string; downloadedBytes: string; totalBytes: string };
  /** Its address on its Docker network while it runs: where a Service's endpoint reaches it on its node. */
  containerIp?: string;
  /** The spec's published ports with the host port Docker bound (the picked one for publish: true). */
  ports?: PortStatus[];
}

export interface PortStatus {
  name?: string;
  containerPort: number;
  protocol: string;
  hostPort: number;
  hostIp?: string;
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
  /** Image pull state per uid. */
  images?: ReadonlyMap<string, ImageState>;
  /** RepoDigests of local images by image id (sha256:…), for status.imageId. */
  repoDigests?: ReadonlyMap<string, readonly string[]>;
  now: number;
}

export interface ReconcileResult {
  /** In the order to apply them; actions of one uid must run serially. */
  actions: Action[];
  statuses: Map<string, ContainerStatus>;
  /** When time alone will make a new decision (a back-off ends). */
  requeueAfterMs?: number;
}

export function restartPolicyOf(container: ContainerObject): RestartPolicy {
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
  image?: ImageState;
  /** RepoDigests of local images by image id (sha256:…), for status.imageId. */
  repoDigests?: ReadonlyMap<string, readonly string[]>;
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
      image: input.images?.get(uid),
      repoDigests: input.repoDigests,
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
  if (!isContainer(container)) return { actions };

  const hash = specHash(container.spec);
  const policy = restartPolicyOf(container);
  const reported = (input.previous ?? container.status) as ContainerStatus | undefined;
  const keeper = observed.length ? keeperOf(observed, hash) : undefined;
  for (const c of observed) {
    if (c !== keeper && c.state !== 'removing') actions.push({ type: 'remove', uid, id: c.id, reason: 'duplicate' });
  }
  const seededCount = keeper && reported?.containerId === keeper.id ? (reported.restartCount ?? 0) : 0;
  const memory = input.memory ?? { restartCount: seededCount, backoffMs: RESTART_BACKOFF_INITIAL_MS };
  const image = String(container.spec?.image ?? '');
  // A failed pull of another image (the spec moved on to a new one) neither blocks nor shows.
  const otherImage = !!memory.failure?.image && withDefaultTag(memory.failure.image) !== withDefaultTag(image);
  const failure = otherImage ? undefined : memory.failure;
  const blocked = !!failure && now < failure.at + failure.retryAfterMs;
  if (blocked) requeue(failure.at + failure.retryAfterMs - now);
  if (blocked && failure.reason === 'ErrImagePull' && now < failure.at + errImagePullShownMs(failure)) {
    requeue(failure.at + errImagePullShownMs(failure) - now); // to show ImagePullBackOff
  }
  const observedOf = (c: ManagedContainer) => observedFields(c, container, memory, input.repoDigests);

  // Every create (and recreate) waits for its image: pulled, checked or refused as the policy says.
  const pullPolicy = effectivePullPolicy(image, container.spec?.imagePullPolicy as string | undefined);
  const imageState = input.image?.image === image ? input.image : undefined;
  const imageFirst = (next: Action): Action =>
    imageState?.ready ? next : { type: 'ensureImage', uid, image, policy: pullPolicy, container };
  const pulling = imageState?.pulling ?? (!imageState?.ready && pullPolicy === 'Always' ? { downloadedBytes: 0, totalBytes: 0 } : undefined);
  // A retry after a failed pull shows the new pull, as kubelet's Pulling does.
  const retryingPull = !blocked && failure?.reason === 'ErrImagePull';

  let status: ContainerStatus;
  if (!keeper) {
    const finished = reported?.phase === 'Succeeded' || reported?.phase === 'Failed';
    if (finished && !wantsRestart(policy, reported.exitCode ?? 0)) {
      // Ran to completion and the container is gone since: running it again would repeat the job.
      return { actions, status: withGeneration({ ...reported }, container), requeueAfterMs };
    }
    if (imageState?.pulling) {
      status = pullingStatus(image, imageState.pulling);
    } else {
      const step = imageFirst({ type: 'create', uid, container });
      if (!blocked) actions.push(step);
      if (failure && !(retryingPull && step.type === 'ensureImage' && pulling)) {
        status = { phase: 'Pending', ...failureStatus(failure, now) };
      } else if (step.type === 'ensureImage' && pulling) {
        status = pullingStatus(image, pulling);
      } else {
        status = { phase: 'Creating', reason: 'ContainerCreating' };
      }
    }
  } else if (keeper.specHash && keeper.specHash !== hash) {
    // The old container runs on while the new image is pulled: its phase stays what it is.
    const during = (s: Pick<ContainerStatus, 'reason' | 'message' | 'imagePull'>): ContainerStatus => ({
      ...observedOf(keeper),
      reason: s.reason,
      message: s.message,
      ...(s.imagePull ? { imagePull: s.imagePull } : {}),
      phase: keeper.state === 'running' ? 'Running' : 'Pending',
    });
    if (imageState?.pulling) {
      status = during(pullingStatus(image, imageState.pulling));
    } else {
      const step = imageFirst({ type: 'recreate', uid, id: keeper.id, container });
      if (!blocked && keeper.state !== 'removing') actions.push(step);
      if (failure && !(retryingPull && step.type === 'ensureImage' && pulling)) status = during(failureStatus(failure, now));
      else if (step.type === 'ensureImage' && pulling) status = during(pullingStatus(image, pulling));
      else status = { ...observedOf(keeper), phase: 'Creating', reason: 'SpecChanged', message: 'recreating the container for the new spec' };
    }
  } else {
    status = observedOf(keeper);
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
    if (failure && status.phase !== 'Running') Object.assign(status, failureStatus(failure, now));
  }
  status.conditions = [readyCondition(keeper, status, reported, now)];
  return { actions, status: withGeneration(status, container), requeueAfterMs };
}

function errImagePullShownMs(f: ActionFailure): number {
  return Math.min(ERR_IMAGE_PULL_SHOWN_MS, f.retryAfterMs / 2);
}

/** A failure's reason and message; a failed pull turns into ImagePullBackOff once its error was shown. */
function failureStatus(f: ActionFailure, now: number): Pick<ContainerStatus, 'reason' | 'message'> {
  if (f.reason === 'ErrImagePull' && now >= f.at + errImagePullShownMs(f)) {
    return { reason: 'ImagePullBackOff', message: `Back-off pulling image ${JSON.stringify(f.image ?? '')}: ${f.detail ?? f.message}` };
  }
  return { reason: f.reason, message: f.message };
}

function pullingStatus(image: string, bytes: PullBytes): ContainerStatus & { phase: 'Pending' } {
  return {
    phase: 'Pending',
    reason: 'Pulling',
    message: `pulling image ${JSON.stringify(image)}`,
    imagePull: { image, downloadedBytes: String(bytes.downloadedBytes), totalBytes: String(bytes.totalBytes) },
  };
}

/**
 * status.imageId of a container: the digest under the repository the container names (what kubelet
 * reports for a pulled image), else the local image id (an image built or loaded on the node).
 */
export function runningImageId(imageRef: string, imageId: string | undefined, repoDigests: readonly string[] | undefined): string | undefined {
  if (!imageId) return undefined;
  const want = repositoryOf(imageRef);
  return repoDigests?.find((d) => repositoryOf(d) === want) ?? imageId;
}

function repositoryOf(ref: string): string {
  const r = parseImageReference(ref);
  return `${r.registry.toLowerCase()}/${r.repository}`;
}

function observedFields(
  c: ManagedContainer,
  container: ContainerObject,
  memory: ContainerMemory,
  repoDigests?: ReadonlyMap<string, readonly string[]>,
): ContainerStatus {
  const s: ContainerStatus = { phase: 'Running', containerId: c.id, restartCount: memory.restartCount };
  const imageId = runningImageId(c.image, c.imageId, c.imageId ? repoDigests?.get(c.imageId) : undefined);
  if (imageId) s.imageId = imageId;
  if (c.startedAt) s.startedAt = c.startedAt;
  if (c.ipAddress && c.state === 'running') s.containerIp = c.ipAddress;
  if (c.finishedAt && c.state !== 'running') s.finishedAt = c.finishedAt;
  const ports = portStatuses(container, c.ports ?? []);
  if (ports.length) s.ports = ports;
  return s;
}

type SpecPort = { name?: string; containerPort?: number; hostPort?: number; protocol?: string; hostIp?: string; publish?: boolean };

/**
 * Each published spec port with the binding Docker made for it: a fixed hostPort is matched as is, a
 * picked one is the binding of that container port no fixed one claims. Docker binds 0.0.0.0 and :: on
 * the same port; the IPv4 binding is reported. Ports without a binding (a stopped container) are left out.
 */
export function portStatuses(container: ContainerObject, bound: readonly BoundPort[]): PortStatus[] {
  const specPorts = (container.spec?.ports ?? []) as SpecPort[];
  const keyOf = (port: number | undefined, protocol: string | undefined) => `${port ?? 0}/${(protocol || 'TCP').toUpperCase()}`;
  const fixed = new Set(specPorts.filter((p) => (p.hostPort ?? 0) > 0).map((p) => `${keyOf(p.containerPort, p.protocol)}:${p.hostPort}`));
  const out: PortStatus[] = [];
  for (const p of specPorts) {
    if (!p.hostPort && !p.publish) continue;
    const key = keyOf(p.containerPort, p.protocol);
    const candidates = bound.filter(
      (b) =>
        keyOf(b.containerPort, b.protocol) === key &&
        (p.hostPort ? b.hostPort === p.hostPort : !fixed.has(`${key}:${b.hostPort}`)) &&
        (!p.hostIp || b.hostIp === p.hostIp),
    );
    const b = candidates.find((x) => !x.hostIp.includes(':')) ?? candidates[0];
    if (!b) continue;
    out.push({ ...(p.name ? { name: p.name } : {}), containerPort: b.containerPort, protocol: b.protocol, hostPort: b.hostPort, hostIp: b.hostIp });
  }
  return out;
}

function withGeneration(s: ContainerStatus, container: ContainerObject): ContainerStatus {
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
  return withTransitionTime(conditionOf(reported?.conditions, 'Ready'), cond, new Date(now).toISOString());
}
