// Where a ComposeStack runs, pure: the whole project goes to one node (its containers share networks
// and volumes there). The stack is placed like one Container with the stack's node selector, its
// published ports and the sum of its memory reservations, so the docker scheduler's filters apply.
import type { ComposeStackObject, ContainerObject, NodeObject } from '../../lib/api/typed.js';
import type { ComposeProject } from '../../lib/compose/model.js';
import { scheduleContainer, type ContainersByNode, type ScheduleResult } from '../docker/schedule.js';
import { API_VERSION } from '../../lib/api/kinds.js';

/** The Container the scheduler sees for a stack: what the node must offer for every service of it. */
export function placementProbe(stack: ComposeStackObject, project: ComposeProject | undefined): ContainerObject {
  const ports = (project?.services ?? []).flatMap((s) =>
    s.ports.filter((p) => p.published).map((p) => ({ containerPort: p.target, hostPort: p.published, protocol: p.protocol.toUpperCase(), hostIp: p.hostIp })),
  );
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
