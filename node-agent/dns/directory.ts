// The agent's in-memory copy of what names resolve to: Services, EndpointSlices and Nodes as the API
// server streams them (Hello.service_discovery). The DNS server reads it per query; nothing here calls the API.
import type { Resource } from '../../lib/api/resource.js';
import type { EndpointSliceObject, NodeObject, ServiceObject } from '../../lib/api/typed.js';
import type { DesiredStateConsumer } from '../desired-router.js';

/** The kinds the directory holds, for the desired-state router. */
export const DIRECTORY_KINDS = ['Service', 'EndpointSlice', 'Node'] as const;

/** What a name lookup reads: a Service, its endpoints, a Node's address. */
export interface ServiceLookup {
  service(namespace: string, name: string): ServiceObject | undefined;
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

const key = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

export class ServiceDirectory implements DesiredStateConsumer, ServiceLookup {
  private services = new Map<string, ServiceObject>();
  private slices = new Map<string, EndpointSliceObject>();
  private nodes = new Map<string, NodeObject>();
  private synced = false;

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
    for (const o of objects) this.applyChange('UPSERT', o);
    this.synced = true;
  }

  applyChange(type: 'UPSERT' | 'DELETE', obj: Resource): void {
    const map = this.mapOf(obj.kind);
    if (!map) return;
    const k = key(obj.metadata.namespace, obj.metadata.name);
    if (type === 'DELETE') map.delete(k);
    else map.set(k, obj);
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
