// The swarm node labels persys keeps on a Node's engine: which Node it belongs to, the Node's labels,
// and which keys persys set (so it removes only those).
import type { PersysNode } from './membership-model.js';

/** The swarm node label naming the persys Node an engine belongs to; persys manages only members that carry it. */
export const PERSYS_NODE_LABEL = 'dev.persys.node';
/** The swarm node label listing (comma-separated, sorted) the Node-label keys persys set: the only ones it may remove. */
export const MANAGED_LABELS_LABEL = 'dev.persys.managed-labels';

/**
 * The swarm labels a Node's engine should carry: the labels it has, minus the Node-label keys persys set
 * last time, plus the Node's labels, dev.persys.node and the list of Node-label keys set. Labels added by
 * hand (`docker node update --label-add`) or by whoever formed an adopted swarm stay.
 */
export function desiredSwarmLabels(node: Pick<PersysNode, 'name' | 'labels'>, current: Record<string, string> = {}): Record<string, string> {
  const labels = { ...current };
  for (const key of (current[MANAGED_LABELS_LABEL] ?? '').split(',')) if (key) delete labels[key];
  delete labels[MANAGED_LABELS_LABEL];
  const keys = Object.keys(node.labels)
    .filter((k) => k !== PERSYS_NODE_LABEL && k !== MANAGED_LABELS_LABEL)
    .sort();
  for (const key of keys) labels[key] = node.labels[key]!;
  labels[PERSYS_NODE_LABEL] = node.name;
  if (keys.length > 0) labels[MANAGED_LABELS_LABEL] = keys.join(',');
  return labels;
}

/** Whether two label sets hold the same keys with the same values. */
export function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ea = Object.entries(a ?? {});
  return ea.length === Object.keys(b ?? {}).length && ea.every(([k, v]) => (b ?? {})[k] === v);
}
