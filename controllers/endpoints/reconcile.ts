// The endpoints decision, pure: from a Service, the Containers of its namespace and the Nodes, the
// endpoints its EndpointSlice lists and the status the Service reports. No I/O, table-tested.
import { conditionOf, transitionTime } from '../../lib/api/conditions.js';
import type { ContainerObject, EndpointSliceObject, NodeObject, ServiceObject } from '../../lib/api/typed.js';

export type Endpoint = NonNullable<EndpointSliceObject['endpoints']>[number];
export type EndpointPort = NonNullable<Endpoint['ports']>[number];
export type ServiceStatus = NonNullable<ServiceObject['status']>;

export const ENDPOINTS_READY = 'EndpointsReady';

/** Whether the Container's labels hold every pair of the selector; an empty selector selects nothing. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const pairs = Object.entries(selector ?? {});
  return pairs.length > 0 && pairs.every(([k, v]) => labels?.[k] === v);
}

const isTrue = (status: { conditions?: { type?: string; status?: string }[] } | undefined, type: string) =>
  conditionOf(status, type)?.status === 'True';

/** Running, its healthcheck passing (Ready, as the agent reports it), on a Ready node, not being deleted. */
export function isReadyEndpoint(c: ContainerObject, node: NodeObject | undefined): boolean {
  return !c.metadata.deletionTimestamp && c.status?.phase === 'Running' && isTrue(c.status, 'Ready') && !!node && isTrue(node.status, 'Ready');
}

/** The node's InternalIP, else its first address. */
export function nodeAddress(node: NodeObject | undefined): string | undefined {
  const addresses = node?.status?.addresses ?? [];
  return (addresses.find((a) => a.type === 'InternalIP') ?? addresses[0])?.address || undefined;
}

/**
 * The Container's ports for the Service's: targetPort as a number, or the containerPort of the
 * Container's port of that name (a Container without it offers no such port: it is left out), with
 * the hostPort where the spec publishes it.
 */
export function endpointPorts(svc: ServiceObject, c: ContainerObject): EndpointPort[] {
  const own = c.spec?.ports ?? [];
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const protocol = sp.protocol || 'TCP';
    const target = sp.targetPort || String(sp.port ?? '');
    const port = /^\d+$/.test(target) ? Number(target) : own.find((p) => p.name === target)?.containerPort;
    if (!port) continue;
    // The port the engine bound (a picked one for publish with hostPort 0), else the spec's fixed one.
    const matching = (p: { containerPort?: number; protocol?: string; hostPort?: number }) =>
      p.containerPort === port && (p.protocol || 'TCP').toUpperCase() === protocol && !!p.hostPort;
    const published = (c.status?.ports ?? []).find(matching) ?? own.find(matching);
    const e: EndpointPort = { port, protocol };
    if (sp.name) e.name = sp.name;
    if (published?.hostPort) e.hostPort = published.hostPort;
    out.push(e);
  }
  return out;
}

export interface EndpointsDecision {
  /** What the EndpointSlice lists, sorted by container name. */
  endpoints: Endpoint[];
  status: ServiceStatus;
}

/**
 * The endpoints of `svc`: every selected Container that is placed on a node and not being deleted,
 * ready or not (ready says which to route to, as Kubernetes' EndpointSlice conditions do), and the
 * Service's counts and EndpointsReady condition, whose transition time moves only when it flips.
 */
export function desiredEndpoints(
  svc: ServiceObject,
  containers: readonly ContainerObject[],
  nodes: ReadonlyMap<string, NodeObject>,
  now: string,
): EndpointsDecision {
  const selected = containers.filter(
    (c) => c.metadata.namespace === svc.metadata.namespace && !c.metadata.deletionTimestamp && selects(svc.spec?.selector, c.metadata.labels),
  );
  const endpoints: Endpoint[] = [];
  for (const c of selected) {
    const nodeName = c.spec?.nodeName;
    if (!nodeName) continue;
    const node = nodes.get(nodeName);
    const e: Endpoint = { containerName: c.metadata.name!, nodeName, ready: isReadyEndpoint(c, node), ports: endpointPorts(svc, c) };
    const address = nodeAddress(node);
    if (address) e.nodeAddress = address;
    if (c.status?.containerIp) e.containerIp = c.status.containerIp;
    endpoints.push(e);
  }
  endpoints.sort((a, b) => (a.containerName! < b.containerName! ? -1 : a.containerName! > b.containerName! ? 1 : 0));
  const ready = endpoints.filter((e) => e.ready).length;

  const condition = readyCondition(svc, selected.length, ready);
  const before = conditionOf(svc.status, ENDPOINTS_READY);
  const status: ServiceStatus = {
    readyEndpoints: ready,
    totalEndpoints: selected.length,
    conditions: [{ ...condition, lastTransitionTime: transitionTime(before, condition, now) }],
  };
  const generation = svc.metadata.generation;
  if (generation) status.observedGeneration = generation;
  return { endpoints, status };
}

function readyCondition(svc: ServiceObject, selected: number, ready: number): { type: string; status: 'True' | 'False'; reason: string; message: string } {
  if (!Object.keys(svc.spec?.selector ?? {}).length) {
    return { type: ENDPOINTS_READY, status: 'False', reason: 'NoSelector', message: 'spec.selector is empty: the Service selects no Containers' };
  }
  if (selected === 0) {
    const sel = Object.entries(svc.spec!.selector!).map(([k, v]) => `${k}=${v}`).join(',');
    return { type: ENDPOINTS_READY, status: 'False', reason: 'NoMatchingContainers', message: `no Container in namespace ${svc.metadata.namespace} has the labels ${sel}` };
  }
  if (ready === 0) {
    return { type: ENDPOINTS_READY, status: 'False', reason: 'NoReadyContainers', message: `none of the ${selected} selected Containers is ready` };
  }
  return { type: ENDPOINTS_READY, status: 'True', reason: 'EndpointsReady', message: `${ready} of ${selected} selected Containers are ready` };
}

/** Whether the stored status says what `next` says (transition times aside when the status did not flip). */
export function sameStatus(stored: ServiceStatus | undefined, next: ServiceStatus): boolean {
  return JSON.stringify(normalize(stored)) === JSON.stringify(normalize(next));
}

function normalize(s: ServiceStatus | undefined): unknown {
  return {
    readyEndpoints: s?.readyEndpoints ?? 0,
    totalEndpoints: s?.totalEndpoints ?? 0,
    observedGeneration: s?.observedGeneration ?? 0,
    conditions: (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '', c.lastTransitionTime ?? '']),
  };
}

/** Whether the stored slice lists exactly `endpoints` (field order and absent-vs-default aside). */
export function sameEndpoints(stored: readonly Endpoint[] | undefined, endpoints: readonly Endpoint[]): boolean {
  const norm = (list: readonly Endpoint[] | undefined) =>
    JSON.stringify(
      (list ?? []).map((e) => [
        e.containerName ?? '',
        e.nodeName ?? '',
        e.nodeAddress ?? '',
        e.containerIp ?? '',
        !!e.ready,
        (e.ports ?? []).map((p) => [p.name ?? '', p.port ?? 0, p.hostPort ?? 0, p.protocol ?? '']),
      ]),
    );
  return norm(stored) === norm(endpoints);
}
