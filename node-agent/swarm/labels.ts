// The labels persys puts on the Swarm services and overlay networks it creates: how a manager's agent
// finds them again, and what keeps it away from every service and network someone else made.
import { LABEL_KIND, LABEL_NAME, LABEL_NAMESPACE, LABEL_NODE, LABEL_SPEC_HASH } from '../docker/labels.js';

export { LABEL_KIND, LABEL_NAME, LABEL_NAMESPACE, LABEL_NODE, LABEL_SPEC_HASH };

/**
 * The uid of the SwarmService a Docker service belongs to. Not `dev.persys.uid`: that label marks
 * containers an agent owns, and nothing here may look like one of those.
 */
export const LABEL_OWNER_UID = 'dev.persys.owner-uid';

export const KIND_SWARM_SERVICE = 'SwarmService';
export const KIND_SWARM_NETWORK = 'SwarmNetwork';

/** `label` filter values for listServices/listNetworks. */
export const swarmServiceFilter = `${LABEL_KIND}=${KIND_SWARM_SERVICE}`;
export const swarmNetworkFilter = `${LABEL_KIND}=${KIND_SWARM_NETWORK}`;
export const ownerFilter = (uid: string) => `${LABEL_OWNER_UID}=${uid}`;

/** `namespace/name` of the SwarmService a labelled Docker service was made for. */
export function serviceKey(labels: Record<string, string> | undefined): string {
  return `${labels?.[LABEL_NAMESPACE] ?? ''}/${labels?.[LABEL_NAME] ?? ''}`;
}
