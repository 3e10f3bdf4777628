// A Docker service's state as a SwarmServiceStatus, from the service, its tasks and the swarm's nodes:
// pure, so the rules for counting tasks and picking the errors worth showing are tested without a swarm.
import type Dockerode from 'dockerode';
import type { SwarmServiceStatus } from '../../lib/gen/persys/v1/workloads.js';
import type { SwarmNode, SwarmTask } from './docker-api.js';
import { LABEL_NODE } from './labels.js';

export const MAX_TASK_ERRORS = 10;

/** Desired states of a task the orchestrator still wants (it sets `shutdown` on the ones it gave up). */
const WANTED = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);
const FAILED = new Set(['failed', 'rejected']);

/** What serviceStatus reads of a listed service (listServices with `status: true`). */
export type ListedService = Pick<Dockerode.Service, 'ID' | 'Spec' | 'ServiceStatus' | 'UpdateStatus'>;

/** observedGeneration and conditions are left to the controller. */
export function serviceStatus(service: ListedService, tasks: SwarmTask[], nodes: Map<string, SwarmNode>): SwarmServiceStatus {
  const running = tasks.filter((t) => t.DesiredState === 'running' && t.Status?.State === 'running').length;
  const replicas = service.Spec?.Mode?.Replicated?.Replicas;
  const desired = replicas ?? tasks.filter((t) => t.DesiredState === 'running').length;
  return {
    serviceId: service.ID,
    desiredTasks: service.ServiceStatus?.DesiredTasks ?? desired,
    runningTasks: service.ServiceStatus?.RunningTasks ?? running,
    updateState: service.UpdateStatus?.State ?? '',
    updateMessage: service.UpdateStatus?.Message ?? '',
    taskErrors: taskErrors(tasks, nodes),
    observedGeneration: 0,
    conditions: [],
  };
}

/**
 * Why tasks are not running, as `node NAME: ERROR`, sorted, deduplicated, at most MAX_TASK_ERRORS.
 * Docker gives a rejected or failed task the desired state `shutdown` at once and starts a new one
 * after a delay, so a wanted task's own error is not enough: for a slot (a node, for a global
 * service) that still wants a task but runs none, the newest failure in the slot's history counts too.
 */
export function taskErrors(tasks: SwarmTask[], nodes: Map<string, SwarmNode>): string[] {
  const errors = new Set<string>();
  const slots = new Map<string, SwarmTask[]>();
  for (const t of tasks) {
    const key = t.Slot ? `slot ${t.Slot}` : `node ${t.NodeID ?? ''}`;
    slots.set(key, [...(slots.get(key) ?? []), t]);
  }
  for (const history of slots.values()) {
    const wanted = history.filter((t) => WANTED.has(t.DesiredState ?? ''));
    if (!wanted.length) continue; // the slot was scaled away
    for (const t of wanted) if (failure(t)) errors.add(describe(t, nodes));
    if (wanted.some((t) => t.Status?.State === 'running')) continue;
    const newest = history.filter(failure).sort((a, b) => time(b) - time(a))[0];
    if (newest) errors.add(describe(newest, nodes));
  }
  return [...errors].sort().slice(0, MAX_TASK_ERRORS);
}

function failure(t: SwarmTask): boolean {
  return !!t.Status?.Err || FAILED.has(t.Status?.State ?? '');
}

function time(t: SwarmTask): number {
  return Date.parse(t.Status?.Timestamp ?? t.CreatedAt ?? '') || 0;
}

function describe(t: SwarmTask, nodes: Map<string, SwarmNode>): string {
  const message = t.Status?.Err || `task ${t.Status?.State}: ${t.Status?.Message ?? ''}`.trim();
  if (!t.NodeID) return message; // not placed yet, e.g. "no suitable node"
  const node = nodes.get(t.NodeID);
  return `node ${node?.Spec?.Labels?.[LABEL_NODE] || node?.Description?.Hostname || t.NodeID}: ${message}`;
}
