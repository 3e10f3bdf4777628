// The compose planner: observed Docker state + the desired project → the next actions and each
// service's status. Pure: the agent observes, calls it, acts, and calls it again (level-triggered).
import type { ComposeNetwork, ComposeProject, ComposeService, ComposeVolume, DependsOnCondition } from '../../lib/compose/model.js';
import type { ObservedContainer, ObservedStack } from './observed.js';

export type ComposeAction =
  | { type: 'removeContainer'; id: string; name: string; service: string; reason: string }
  | { type: 'removeNetwork'; id: string; name: string; reason: string }
  | { type: 'removeVolume'; name: string; reason: string }
  | { type: 'createNetwork'; network: ComposeNetwork }
  | { type: 'createVolume'; volume: ComposeVolume }
  | { type: 'createContainer'; service: string; number: number; imageId: string }
  | { type: 'startContainer'; id: string; name: string; service: string };

/** One service's status as reported, plus what the stack's phase is decided from. */
export interface ServiceState {
  name: string;
  desired: number;
  running: number;
  /** Running containers whose healthcheck passes (all running ones when the service has no healthcheck). */
  healthy: number;
  /** Why the service is not ready; '' when it is. */
  reason: string;
  ready: boolean;
  /** Not ready for a reason that needs attention (missing image, exit, unhealthy), not mere progress. */
  trouble: boolean;
}

export interface StackPlan {
  actions: ComposeAction[];
  services: ServiceState[];
  /** Look again after this long even without an event (waiting for health, a delayed restart). */
  requeueAfterMs?: number;
}

export interface PlanInput {
  /** NAMESPACE/NAME: networks and volumes labelled with another stack's key are not this stack's. */
  key: string;
  uid: string;
  node: string;
  project: ComposeProject;
  observed: ObservedStack;
  /** Service → message of its last failed action (shown until an action for it succeeds). */
  failures?: Record<string, string>;
  /** Service → why none of its containers may be created or started now (its image or files are not ready). */
  blocked?: Record<string, string>;
  now: number;
}

/**
 * A container that exited on its own under restart `no` (non-zero code) is started again, like a
 * re-run of `docker compose up` would, but no sooner than this after it exited: no hot crash loop.
 */
export const RESTART_DELAY_MS = 10_000;
/** How soon to look again while waiting for a dependency or a healthcheck (events usually come first). */
export const WAIT_REQUEUE_MS = 1_000;

const WAIT_WORDS: Record<DependsOnCondition, string> = {
  service_started: 'to start',
  service_healthy: 'to be healthy',
  service_completed_successfully: 'to complete successfully',
};

export function hasHealthcheck(s: ComposeService): boolean {
  return !!s.healthcheck && s.healthcheck.test.length > 0 && s.healthcheck.test[0] !== 'NONE';
}

/** Services with every dependency before its dependents (file order otherwise). */
export function startOrder(services: ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const out: ComposeService[] = [];
  const seen = new Set<string>();
  const visit = (s: ComposeService, path: Set<string>) => {
    if (seen.has(s.name) || path.has(s.name)) return; // a cycle is the parser's to reject
    path.add(s.name);
    for (const d of s.dependsOn) {
      const dep = byName.get(d.service);
      if (dep) visit(dep, path);
    }
    path.delete(s.name);
    seen.add(s.name);
    out.push(s);
  };
  for (const s of services) visit(s, new Set());
  return out;
}

interface Wait {
  message: string;
  trouble: boolean;
}

/** Why `dep` does not yet satisfy `condition`, or undefined when it does. */
function dependencyWait(
  service: string,
  dep: ComposeService,
  condition: DependsOnCondition,
  kept: Map<number, ObservedContainer>,
  uid: string,
): Wait | undefined {
  if (condition === 'service_healthy' && !hasHealthcheck(dep) && dep.replicas > 0) {
    return { message: `${service} waits for ${dep.name} to be healthy, but ${dep.name} has no healthcheck`, trouble: true };
  }
  for (let n = 1; n <= dep.replicas; n++) {
    const c = kept.get(n);
    const waiting = { message: `waiting for ${dep.name} ${WAIT_WORDS[condition]}`, trouble: false };
    // A dependency about to be replaced does not count as up.
    if (!c || c.configHash !== dep.configHash || c.stackUid !== uid) return waiting;
    switch (condition) {
      case 'service_started':
        if (c.state === 'created') return waiting;
        break;
      case 'service_healthy':
        if (c.state === 'running' && c.health === 'healthy') break;
        if (c.health === 'unhealthy') return { message: `waiting for ${dep.name} to be healthy: ${c.name} is unhealthy`, trouble: true };
        return waiting;
      case 'service_completed_successfully':
        if (c.state === 'exited' && c.exitCode === 0) break;
        if (c.state === 'exited') return { message: `${dep.name} did not complete successfully: ${c.name} exited with code ${c.exitCode}`, trouble: true };
        return waiting;
    }
  }
  return undefined;
}

/** Actions that take down everything a stack made on this node (volumes only when asked). */
export function planDelete(observed: ObservedStack, key: string, removeVolumes: boolean): ComposeAction[] {
  const actions: ComposeAction[] = observed.containers.map((c) => ({
    type: 'removeContainer' as const,
    id: c.id,
    name: c.name,
    service: c.service,
    reason: 'stack deleted',
  }));
  for (const n of observed.networks) {
    if (n.owner === key) actions.push({ type: 'removeNetwork', id: n.id, name: n.name, reason: 'stack deleted' });
  }
  if (removeVolumes) {
    for (const v of observed.volumes) {
      if (v.owner === key) actions.push({ type: 'removeVolume', name: v.name, reason: 'stack deleted (removeVolumesOnDelete)' });
    }
  }
  return actions;
}

export function planStack(input: PlanInput): StackPlan {
  const { project, observed, key, uid, node, now } = input;
  const removals: ComposeAction[] = [];
  const setup: ComposeAction[] = [];
  const work: ComposeAction[] = [];
  let requeueAfterMs: number | undefined;
  const requeue = (ms: number) => (requeueAfterMs = Math.min(requeueAfterMs ?? ms, ms));

  // Containers: keep one per (service, number) within the scale; everything else goes.
  const byName = new Map(project.services.map((s) => [s.name, s]));
  const kept = new Map<string, Map<number, ObservedContainer>>(project.services.map((s) => [s.name, new Map()]));
  const doomed: { c: ObservedContainer; reason: string }[] = [];
  for (const c of [...observed.containers].sort((a, b) => a.number - b.number)) {
    const svc = byName.get(c.service);
    let reason: string | undefined;
    if (c.project !== project.name) reason = `project renamed from ${c.project} to ${project.name}`;
    else if (!svc) reason = `service ${c.service} is no longer in the project`;
    else if (c.number < 1 || c.number > svc.replicas) reason = `scaled down to ${svc.replicas}`;
    else if (kept.get(c.service)!.has(c.number)) reason = `duplicate of ${c.service} number ${c.number}`;
    else if (c.state === 'dead') reason = 'dead';
    if (reason === undefined) kept.get(c.service)!.set(c.number, c);
    else doomed.push({ c, reason });
  }
  // Highest numbers first, as `docker compose up --scale` removes them.
  for (const { c, reason } of doomed.sort((a, b) => b.c.number - a.c.number)) {
    removals.push({ type: 'removeContainer', id: c.id, name: c.name, service: c.service, reason });
  }

  // Networks: this stack's that the project no longer names go; missing ones are created.
  const wanted = new Set(project.networks.map((n) => n.name));
  const removedNets = new Set<string>();
  for (const n of observed.networks) {
    if (n.owner !== key) continue;
    if (!wanted.has(n.name) || (n.project !== undefined && n.project !== project.name)) {
      removedNets.add(n.id);
      removals.push({ type: 'removeNetwork', id: n.id, name: n.name, reason: 'no longer in the project' });
    }
  }
  const netProblem = new Map<string, string>();
  for (const net of project.networks) {
    const o = observed.networks.find((x) => x.name === net.name && !removedNets.has(x.id));
    if (net.external) {
      if (!o) netProblem.set(net.key, `external network ${net.name} not found on node ${node}`);
    } else if (!o) setup.push({ type: 'createNetwork', network: net });
    else if (o.owner && o.owner !== key) netProblem.set(net.key, `network ${net.name} belongs to stack ${o.owner}`);
  }
  // Volumes are only ever created here: their data outlives services and scale.
  const volProblem = new Map<string, string>();
  for (const vol of project.volumes) {
    const o = observed.volumes.find((x) => x.name === vol.name);
    if (o) continue;
    if (vol.external) volProblem.set(vol.key, `external volume ${vol.name} not found on node ${node}`);
    else setup.push({ type: 'createVolume', volume: vol });
  }

  const services: ServiceState[] = [];
  for (const svc of startOrder(project.services)) {
    const mine = kept.get(svc.name)!;
    const problems: string[] = [];
    const image = observed.images[svc.image];
    const imageId = typeof image === 'string' ? image : undefined;
    const blocked = input.blocked?.[svc.name];
    if (blocked) problems.push(blocked);
    else if (image === null) problems.push(`image ${svc.image} is not present on node ${node}`);
    for (const n of svc.networks) {
      const p = netProblem.get(n.key);
      if (p) problems.push(p);
    }
    for (const m of svc.volumes) {
      const p = m.type === 'volume' && m.source !== undefined ? volProblem.get(m.source) : undefined;
      if (p) problems.push(p);
    }
    let wait: Wait | undefined;
    for (const d of svc.dependsOn) {
      const dep = byName.get(d.service);
      if (!dep) continue;
      wait = dependencyWait(svc.name, dep, d.condition, kept.get(dep.name)!, uid);
      if (wait) break;
    }
    const canAct = problems.length === 0 && !wait && imageId !== undefined;
    const notes: string[] = [];
    let trouble = problems.length > 0 || !!wait?.trouble;
    let running = 0;
    let healthy = 0;
    let done = 0;
    let acting = false;
    for (let n = 1; n <= svc.replicas; n++) {
      const c = mine.get(n);
      if (!c) {
        if (canAct) {
          work.push({ type: 'createContainer', service: svc.name, number: n, imageId });
          acting = true;
        }
        continue;
      }
      if (c.state === 'running') running++;
      if (c.state === 'running' && (!hasHealthcheck(svc) || c.health === 'healthy')) healthy++;
      if (c.configHash !== svc.configHash || c.stackUid !== uid) {
        // The old container keeps running until its replacement can be made.
        if (canAct) {
          work.push({ type: 'removeContainer', id: c.id, name: c.name, service: svc.name, reason: 'configuration changed' });
          work.push({ type: 'createContainer', service: svc.name, number: n, imageId });
          acting = true;
        }
        continue;
      }
      switch (c.state) {
        case 'running':
          if (hasHealthcheck(svc) && c.health === 'healthy') done++;
          else if (!hasHealthcheck(svc)) done++;
          else if (c.health === 'unhealthy') {
            notes.push(`${c.name} is unhealthy`);
            trouble = true;
          } else {
            notes.push(`waiting for ${c.name} to be healthy`);
            requeue(WAIT_REQUEUE_MS);
          }
          break;
        case 'created':
          if (canAct) {
            work.push({ type: 'startContainer', id: c.id, name: c.name, service: svc.name });
            acting = true;
          }
          break;
        case 'exited': {
          const policy = (svc.restart || 'no').split(':')[0];
          if (policy === 'always' || policy === 'unless-stopped') {
            if (canAct) {
              work.push({ type: 'startContainer', id: c.id, name: c.name, service: svc.name });
              acting = true;
            }
            break;
          }
          if (c.exitCode === 0) {
            done++; // a one-shot service that finished is what its file asks for
            break;
          }
          notes.push(`${c.name} exited with code ${c.exitCode}`);
          trouble = true;
          const wait = (c.finishedAt ?? 0) + RESTART_DELAY_MS - now;
          if (wait > 0) requeue(wait);
          else if (canAct) work.push({ type: 'startContainer', id: c.id, name: c.name, service: svc.name });
          break;
        }
        case 'removing':
          requeue(WAIT_REQUEUE_MS);
          break;
        default:
          notes.push(`${c.name} is ${c.state}`);
          trouble = true;
      }
    }
    const ready = done === svc.replicas && mine.size === svc.replicas;
    const failure = input.failures?.[svc.name];
    if (failure) trouble = true;
    if (wait && !wait.trouble) requeue(WAIT_REQUEUE_MS);
    const reason = ready
      ? ''
      : (problems[0] ?? failure ?? wait?.message ?? notes[0] ?? (acting ? `creating ${svc.name}` : `waiting for ${svc.name}`));
    services.push({ name: svc.name, desired: svc.replicas, running, healthy, reason, ready, trouble: !ready && trouble });
  }
  // Report in the file's order.
  const order = new Map(project.services.map((s, i) => [s.name, i]));
  services.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return { actions: [...removals, ...setup, ...work], services, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}
