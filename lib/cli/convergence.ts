// Whether an applied object has converged, and what it still waits for, in kubectl's words: used by
// `persys rollout status` and `persys apply --wait`.
import type { Condition, Resource } from '../api/resource.js';

export interface Convergence {
  done: boolean;
  /** Set when the object will not converge without a change (a failed rollout, a failed run). */
  failed?: string;
  /** What is still converging, or the success line. */
  message: string;
}

const conditionOf = (obj: Resource, type: string): Condition | undefined =>
  ((obj.status?.conditions ?? []) as Condition[]).find((c) => c.type === type);

/** kubectl rollout status for a ContainerSet. */
export function containerSetConvergence(set: Resource): Convergence {
  const name = set.metadata.name;
  const generation = Number(set.metadata.generation ?? 0);
  const status = set.status ?? {};
  if (Number(status.observedGeneration ?? 0) < generation) {
    return { done: false, message: `Waiting for containerset "${name}" spec update to be observed...` };
  }
  const progressing = conditionOf(set, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { done: false, failed: `containerset "${name}" exceeded its progress deadline`, message: progressing.message ?? '' };
  }
  const desired = Number(set.spec?.replicas ?? 1);
  const updated = Number(status.updatedReplicas ?? 0);
  const total = Number(status.replicas ?? 0);
  const available = Number(status.availableReplicas ?? 0);
  const waiting = `Waiting for containerset "${name}" rollout to finish:`;
  if (updated < desired) return { done: false, message: `${waiting} ${updated} out of ${desired} new replicas have been updated...` };
  if (total > updated) return { done: false, message: `${waiting} ${total - updated} old replicas are pending termination...` };
  if (available < updated) return { done: false, message: `${waiting} ${available} of ${updated} updated replicas are available...` };
  return { done: true, message: `containerset "${name}" successfully rolled out` };
}

/** A Container is converged when it runs and is ready (or has finished successfully). */
export function containerConvergence(c: Resource): Convergence {
  const name = `container "${c.metadata.name}"`;
  const phase: string = c.status?.phase ?? 'Pending';
  const why = [c.status?.reason, c.status?.message].filter(Boolean).join(': ');
  if (phase === 'Succeeded') return { done: true, message: `${name} succeeded` };
  if (phase === 'Failed' && c.spec?.restartPolicy === 'Never') {
    return { done: false, failed: `${name} failed${why ? ` (${why})` : ''}`, message: `${name} failed` };
  }
  const ready = conditionOf(c, 'Ready');
  if (phase === 'Running' && (ready ? ready.status === 'True' : !c.spec?.healthcheck)) {
    return { done: true, message: `${name} is running on ${c.spec?.nodeName ?? 'its node'}` };
  }
  const detail = phase === 'Running' ? 'Running, not ready yet' : phase;
  return { done: false, message: `Waiting for ${name}: ${detail}${why ? ` (${why})` : ''}` };
}

/**
 * A SwarmService is converged when its spec is observed, Docker's update (if any) has completed and every
 * desired task runs; a paused or rolled-back update needs a change to go anywhere.
 */
export function swarmServiceConvergence(svc: Resource): Convergence {
  const name = `swarmservice "${svc.metadata.name}"`;
  const status = svc.status ?? {};
  if (Number(status.observedGeneration ?? 0) < Number(svc.metadata.generation ?? 0)) {
    return { done: false, message: `Waiting for ${name} spec update to be observed...` };
  }
  const running = Number(status.runningTasks ?? 0);
  const desired = Number(status.desiredTasks ?? 0);
  const state: string = status.updateState ?? '';
  const why = status.updateMessage ? `: ${status.updateMessage}` : '';
  if (state === 'paused' || state === 'rollback_paused') return { done: false, failed: `${name} update is paused${why}`, message: `${name} update is paused` };
  if (state === 'rollback_completed') return { done: false, failed: `${name} update was rolled back${why}`, message: `${name} update was rolled back` };
  const errors = ((status.taskErrors ?? []) as string[]).slice(0, 3);
  const detail = errors.length ? ` (${errors.join('; ')})` : '';
  if (state === 'updating' || state === 'rollback_started') {
    const what = state === 'updating' ? 'rolling update' : 'rollback';
    return { done: false, message: `Waiting for ${name} ${what} to finish: ${running} of ${desired} tasks running...${detail}` };
  }
  if (running < desired || !status.serviceId) {
    return { done: false, message: `Waiting for ${name}: ${running} of ${desired} tasks running...${detail}` };
  }
  return { done: true, message: `${name} converged: ${running}/${desired} tasks running` };
}

/** Kinds without a notion of rolling out are converged once stored. */
export function convergence(obj: Resource): Convergence {
  switch (obj.kind) {
    case 'ContainerSet':
      return containerSetConvergence(obj);
    case 'Container':
      return containerConvergence(obj);
    case 'SwarmService':
      return swarmServiceConvergence(obj);
    default:
      return { done: true, message: `${obj.kind.toLowerCase()} "${obj.metadata.name}" is stored` };
  }
}
