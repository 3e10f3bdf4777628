// The agent's in-memory copy of what names resolve to: Services, EndpointSlices and Nodes as the API
// server streams them (Hello.service_discovery). The DNS server reads it per query and the VIP rules are
// made from it after each change; nothing here calls the API.
import type { Resource } from '../../lib/api/resource.js';
import type { EndpointSliceObject, NodeObject, ServiceObject } from '../../lib/api/typed.js';
import type { DesiredStateConsumer } from '../desired-router.js';

/** The kinds the directory holds, for the desired-state router. */
export const DIRECTORY_KINDS = ['Service', 'EndpointSlice', 'Node'] as const;

/** What a name lookup reads: a Service, its endpoints, a Node's address. */
export interface ServiceLookup {
  service(namespace: string, name: string): ServiceObject | undefined;
  allServices(): IterableIterator<ServiceObject>;
  endpoints(namespace: string, name: string): EndpointSliceObject | undefined;
  /** The node's IPv4 InternalIP, else its first IPv4 address; undefined for an unknown node or one without. */
  nodeAddress(name: string): string | undefined;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
export const isIpv4 = (s: string | undefined): s is string => !!s && IPV4.test(s) && s.split('.').every((n) => Number(n) <= 255);

export function nodeIpv4(node: NodeObject | undefined): string | undefined {
  const addresses = (node?.status?.addresses ?? []).filter((a) => isIpv4(a.address));
  return (addresses.find((a) => a.type === 'InternalIP') ?? addresses[0])?.address;
}

export type Endpoint = NonNullable<EndpointSliceObject['endpoints']>[number];
export type EndpointPort = NonNullable<Endpoint['ports']>[number];

/** Where a container on one node reaches an endpoint. */
export interface Reach {
  address: string;
  /** For a port of the endpoint: the port to dial there; undefined when not reachable on it. */
  port(p: EndpointPort): number | undefined;
}

/**
 * Where a container on `self` reaches the endpoint, or undefined when it cannot: the container IP and
 * container port on this node (same bridge), the node address and published host port elsewhere.
 */
export function reachOf(e: Endpoint, self: string, lookup: ServiceLookup): Reach | undefined {
  if (e.nodeName === self) {
    return isIpv4(e.containerIp) ? { address: e.containerIp, port: (p) => p.port || undefined } : undefined;
  }
  const address = isIpv4(e.nodeAddress) ? e.nodeAddress : e.nodeName ? lookup.nodeAddress(e.nodeName) : undefined;
  return address ? { address, port: (p) => p.hostPort || undefined } : undefined;
}

const key = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

export class ServiceDirectory implements DesiredStateConsumer, ServiceLookup {
  private services = new Map<string, ServiceObject>();
  private slices = new Map<string, EndpointSliceObject>();
  private nodes = new Map<string, NodeObject>();
  private synced = false;

  private readonly listeners: ((changed?: Resource) => void)[] = [];

  /** `listener` runs after every change the stream brings: one object, or undefined for a new snapshot. */
  onChange(listener: (changed?: Resource) => void): void {
    this.listeners.push(listener);
  }

  private changed(obj?: Resource): void {
    for (const l of this.listeners) l(obj);
  }

  /** False until the first DesiredState: until then every persys.local name is unknown. */
  get ready(): boolean {
    return this.synced;
  }

  attach(): void {}
  detach(): void {}

  setDesired(objects: Resource[]): void {
    this.services = new Map();
    this.slices = new Map();
    this.nodes = new Map();
    for (const o of objects) this.store('UPSERT', o);
    this.synced = true;
    this.changed();
  }

  applyChange(type: 'UPSERT' | 'DELETE', obj: Resource): void {
    if (this.store(type, obj)) this.changed(obj);
  }

  private store(type: 'UPSERT' | 'DELETE', obj: Resource): boolean {
    const map = this.mapOf(obj.kind);
    if (!map) return false;
    const k = key(obj.metadata.namespace, obj.metadata.name);
    if (type === 'DELETE') map.delete(k);
    else map.set(k, obj);
    return true;
  }

  private mapOf(kind: string): Map<string, Resource> | undefined {
    if (kind === 'Service') return this.services;
    if (kind === 'EndpointSlice') return this.slices;
    if (kind === 'Node') return this.nodes;
    return undefined;
  }

  service(namespace: string, name: string): ServiceObject | undefined {
    return this.services.get(key(namespace, name));
  }

  /** Every Service, in no particular order. */
  allServices(): IterableIterator<ServiceObject> {
    return this.services.values();
  }

  /** Every EndpointSlice, in no particular order. */
  allEndpointSlices(): IterableIterator<EndpointSliceObject> {
    return this.slices.values();
  }

  endpoints(namespace: string, name: string): EndpointSliceObject | undefined {
    return this.slices.get(key(namespace, name));
  }

  nodeAddress(name: string): string | undefined {
    return nodeIpv4(this.nodes.get(key('', name)));
  }

  counts(): { services: number; endpointSlices: number; nodes: number } {
    return { services: this.services.size, endpointSlices: this.slices.size, nodes: this.nodes.size };
  }
}
