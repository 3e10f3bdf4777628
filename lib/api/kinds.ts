// The table of persys.dev/v1 kinds: names, scope and how each maps to the proto `Object` oneof.
// Server, CLI and controllers all resolve kinds through this one table.
import { ConfigMap, Event, Lease, Namespace, Node, Secret } from '../gen/persys/v1/cluster.js';
import { EndpointSlice, Service } from '../gen/persys/v1/services.js';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding, ServiceAccount } from '../gen/persys/v1/rbac.js';
import { ComposeStack, Container, ContainerSet, ControllerRevision, CronJob, SwarmService } from '../gen/persys/v1/workloads.js';

export const API_VERSION = 'persys.dev/v1';

/** A ts-proto message codec: what the wire conversion needs of each kind's message. */
export interface MessageCodec<T = unknown> {
  fromJSON(object: unknown): T;
  toJSON(message: T): unknown;
}

export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** The `$case` of this kind in the proto `Object` oneof. */
  oneofCase: string;
  /** Whether the kind has a status written through UpdateStatus. */
  hasStatus: boolean;
  codec: MessageCodec;
}

const kind = (
  name: string,
  plural: string,
  shortNames: string[],
  namespaced: boolean,
  hasStatus: boolean,
  codec: MessageCodec<any>,
): KindInfo => ({
  kind: name,
  plural,
  singular: name.toLowerCase(),
  shortNames,
  namespaced,
  oneofCase: name[0]!.toLowerCase() + name.slice(1),
  hasStatus,
  codec,
});

export const KINDS: readonly KindInfo[] = [
  kind('Namespace', 'namespaces', ['ns'], false, true, Namespace),
  kind('Node', 'nodes', ['no'], false, true, Node),
  kind('Container', 'containers', ['ct'], true, true, Container),
  kind('ContainerSet', 'containersets', ['cs'], true, true, ContainerSet),
  kind('ComposeStack', 'composestacks', ['cps'], true, true, ComposeStack),
  kind('SwarmService', 'swarmservices', ['ss'], true, true, SwarmService),
  kind('CronJob', 'cronjobs', ['cj'], true, true, CronJob),
  kind('Secret', 'secrets', [], true, false, Secret),
  kind('ConfigMap', 'configmaps', ['cm'], true, false, ConfigMap),
  kind('Event', 'events', ['ev'], true, false, Event),
  kind('Lease', 'leases', [], true, false, Lease),
  kind('ControllerRevision', 'controllerrevisions', [], true, false, ControllerRevision),
  kind('ServiceAccount', 'serviceaccounts', ['sa'], true, false, ServiceAccount),
  kind('Role', 'roles', [], true, false, Role),
  kind('ClusterRole', 'clusterroles', [], false, false, ClusterRole),
  kind('RoleBinding', 'rolebindings', [], true, false, RoleBinding),
  kind('ClusterRoleBinding', 'clusterrolebindings', [], false, false, ClusterRoleBinding),
  kind('Service', 'services', ['svc'], true, true, Service),
  // `endpoints` and `ep` too: persys has no separate Endpoints kind, so kubectl's `get svc,endpoints` habit works.
  kind('EndpointSlice', 'endpointslices', ['eps', 'ep', 'endpoints'], true, false, EndpointSlice),
];

const byAnyName = new Map<string, KindInfo>();
for (const k of KINDS) {
  for (const n of [k.kind, k.kind.toLowerCase(), k.plural, k.singular, ...k.shortNames]) byAnyName.set(n, k);
}
const byCase = new Map(KINDS.map((k) => [k.oneofCase, k]));

/** Resolves "Container", "containers", "container" or "ct" (case-insensitive); undefined if unknown. */
export function findKind(name: unknown): KindInfo | undefined {
  if (typeof name !== 'string') return undefined;
  return byAnyName.get(name) ?? byAnyName.get(name.toLowerCase());
}

export function kindByOneofCase(c: string): KindInfo | undefined {
  return byCase.get(c);
}
