// Where a ComposeStack runs, pure: the whole project goes to one node (its containers share networks
// and volumes there). The stack is placed like one Container with the stack's node selector, its
// published ports and the sum of its memory reservations, so the docker scheduler's filters apply.
// The docker scheduler reads a placed stack's fixed ports from here too, so neither places over the other.
import type { ComposeStackObject, ContainerObject, NodeObject } from '../../lib/api/typed.js';
import type { ComposeProject } from '../../lib/compose/model.js';
import { parseComposeProject } from '../../lib/compose/parse.js';
import { scheduleContainer, type ContainersByNode, type PortClaim, type ScheduleResult } from '../docker/schedule.js';
import { API_VERSION } from '../../lib/api/kinds.js';

/** The stack's project as the agent will run it (undefined when it does not parse: the agent reports why). */
export function projectOf(stack: ComposeStackObject): ComposeProject | undefined {
  const spec = stack.spec ?? {};
  const result = parseComposeProject(spec.compose ?? '', {
    projectName: spec.projectName || stack.metadata.name!,
    env: spec.env ?? {},
    scale: spec.scale ?? {},
    files: spec.files ?? {},
  });
  return result.project;
}

/** The host ports the project's services publish; a service port without a published one claims none. */
export function publishedPorts(project: ComposeProject | undefined): (PortClaim & { containerPort: number })[] {
  return (project?.services ?? []).flatMap((s) =>
    s.ports.filter((p) => p.published).map((p) => ({ containerPort: p.target, hostPort: p.published, protocol: p.protocol.toUpperCase(), hostIp: p.hostIp })),
  );
}

// Informer objects are replaced, never changed, on update: a parse per stack version, not per decision.
const claimsCache = new WeakMap<ComposeStackObject, readonly PortClaim[]>();

/** The fixed host ports a stack holds on its node. */
export function stackPortClaims(stack: ComposeStackObject): readonly PortClaim[] {
  let claims = claimsCache.get(stack);
  if (!claims) claimsCache.set(stack, (claims = publishedPorts(projectOf(stack))));
  return claims;
}

/** The Container the scheduler sees for a stack: what the node must offer for every service of it. */
export function placementProbe(stack: ComposeStackObject, project: ComposeProject | undefined): ContainerObject {
  const ports = publishedPorts(project);
  const memory = (project?.services ?? []).reduce((sum, s) => sum + s.replicas * (s.resources.memoryReservationBytes ?? 0), 0);
  return {
    apiVersion: API_VERSION,
    kind: 'Container',
    metadata: { name: stack.metadata.name, namespace: stack.metadata.namespace, uid: stack.metadata.uid },
    spec: {
      image: 'compose-stack',
      nodeSelector: stack.spec?.nodeSelector,
      ports,
      resources: memory > 0 ? { requests: { memory: String(memory) } } : undefined,
    },
  };
}

export function placeStack(stack: ComposeStackObject, project: ComposeProject | undefined, nodes: readonly NodeObject[], containersOnNodes: ContainersByNode): ScheduleResult {
  return scheduleContainer(placementProbe(stack, project), nodes, containersOnNodes);
}
