// Labels on every Docker object a ComposeStack owns: Compose's own (so `docker compose ls/ps` see the
// project) and persys's (so this agent finds them again). Never dev.persys.uid: that is the Container reconciler's.
import { COMPOSE_LABELS, type ComposeNetwork, type ComposeProject, type ComposeService, type ComposeVolume } from '../../lib/compose/model.js';
import { LABEL_KIND, LABEL_NAME, LABEL_NAMESPACE, LABEL_NODE } from '../docker/labels.js';

export const LABEL_STACK_UID = 'dev.persys.stack-uid';
export const COMPOSE_STACK_KIND = 'ComposeStack';
/** The Compose release whose label conventions persys writes (`docker compose` reads them). */
export const COMPOSE_VERSION = '2.20.2';

/** Which stack, on which node, a Docker object belongs to. */
export interface StackIdentity {
  namespace: string;
  name: string;
  uid: string;
  node: string;
}

/** The queue key and map key of a stack: NAMESPACE/NAME. */
export function stackKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function persysLabels(id: StackIdentity): Record<string, string> {
  return {
    [LABEL_STACK_UID]: id.uid,
    [LABEL_NODE]: id.node,
    [LABEL_NAMESPACE]: id.namespace,
    [LABEL_NAME]: id.name,
    [LABEL_KIND]: COMPOSE_STACK_KIND,
  };
}

/** Engine label filters selecting the objects of one stack on this node (or of every stack, without a name). */
export function ownedFilter(node: string, key?: { namespace: string; name: string }): string[] {
  const f = [`${LABEL_KIND}=${COMPOSE_STACK_KIND}`, `${LABEL_NODE}=${node}`];
  if (key) f.push(`${LABEL_NAMESPACE}=${key.namespace}`, `${LABEL_NAME}=${key.name}`);
  return f;
}

/** Compose's depends_on label: "db:service_healthy:false,cache:service_started:false". */
export function dependsOnLabel(service: ComposeService): string {
  return service.dependsOn.map((d) => `${d.service}:${d.condition}:false`).join(',');
}

export function containerLabels(
  project: ComposeProject,
  service: ComposeService,
  num: number,
  id: StackIdentity,
  imageId: string,
): Record<string, string> {
  const labels: Record<string, string> = {
    ...service.labels,
    [COMPOSE_LABELS.project]: project.name,
    [COMPOSE_LABELS.service]: service.name,
    [COMPOSE_LABELS.containerNumber]: String(num),
    [COMPOSE_LABELS.configHash]: service.configHash,
    [COMPOSE_LABELS.oneoff]: 'False',
    [COMPOSE_LABELS.image]: imageId,
    [COMPOSE_LABELS.version]: COMPOSE_VERSION,
    [COMPOSE_LABELS.configFiles]: `persys:${id.namespace}/${id.name}`,
    [COMPOSE_LABELS.workingDir]: '/',
    ...persysLabels(id),
  };
  if (service.dependsOn.length) labels[COMPOSE_LABELS.dependsOn] = dependsOnLabel(service);
  return labels;
}

export function networkLabels(project: ComposeProject, network: ComposeNetwork, id: StackIdentity): Record<string, string> {
  return {
    ...network.labels,
    [COMPOSE_LABELS.network]: network.key,
    [COMPOSE_LABELS.project]: project.name,
    [COMPOSE_LABELS.version]: COMPOSE_VERSION,
    ...persysLabels(id),
  };
}

export function volumeLabels(project: ComposeProject, volume: ComposeVolume, id: StackIdentity): Record<string, string> {
  return {
    ...volume.labels,
    [COMPOSE_LABELS.volume]: volume.key,
    [COMPOSE_LABELS.project]: project.name,
    [COMPOSE_LABELS.version]: COMPOSE_VERSION,
    ...persysLabels(id),
  };
}
