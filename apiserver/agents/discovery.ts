// What an agent that serves Service names (Hello.service_discovery) is sent besides its own workloads:
// every Service, EndpointSlice and Node, cluster-wide, as kube-proxy watches them. Pure bookkeeping over
// watch events. The cost at many nodes stays bounded: a Node goes out as its name and addresses only and a
// Service without its status, so status churn (conditions, ready counts) reaches no agent; each event's
// trimmed object and its wire form are made once and shared by every session (the watch caches hand all
// watchers the same object).
import { toWire, type Resource } from '../../lib/api/resource.js';
import type { Object as WireObject } from '../../lib/gen/persys/v1/api.js';
import type { WatchEvent } from '../watch/event.js';
import { deepEqual } from '../registry/merge.js';
import type { DesiredChange } from './desired.js';

/** The kinds a service-discovery agent receives, all of them, whatever node they concern. */
export const DISCOVERY_KINDS = ['Service', 'EndpointSlice', 'Node'] as const;

const keyOf = (o: Resource) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

const trimmed = new WeakMap<Resource, Resource>();
const wire = new WeakMap<Resource, WireObject>();

/** The part of a discovery object an agent uses; the same object for the same input, whichever session asks. */
export function forAgent(obj: Resource): Resource {
  let out = trimmed.get(obj);
  if (out) return out;
  const { name, namespace, uid, resourceVersion, labels } = obj.metadata;
  const metadata = { name, namespace, uid, resourceVersion, labels };
  if (obj.kind === 'Node') out = { apiVersion: obj.apiVersion, kind: obj.kind, metadata, status: { addresses: obj.status?.addresses ?? [] } };
  else if (obj.kind === 'Service') out = { apiVersion: obj.apiVersion, kind: obj.kind, metadata, spec: obj.spec };
  else out = obj;
  trimmed.set(obj, out);
  return out;
}

/** toWire once per object, shared by every stream that sends it. */
export function sharedWire(obj: Resource): WireObject {
  let w = wire.get(obj);
  if (!w) wire.set(obj, (w = toWire(obj)));
  return w;
}

/** Equal for an agent: the same trimmed content, whatever the resourceVersion. */
function sameForAgent(a: Resource, b: Resource): boolean {
  const strip = (o: Resource) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return deepEqual(strip(a), strip(b));
}

/** One session's record of the discovery objects it has sent (the shared trimmed objects, by key). */
export class NodeDiscoveryState {
  private readonly sent = new Map<string, Resource>();

  /** The trimmed objects for the initial DesiredState, from the caches' snapshots. */
  initial(objects: Iterable<Resource>): Resource[] {
    const out: Resource[] = [];
    for (const o of objects) {
      const t = forAgent(o);
      this.sent.set(keyOf(t), t);
      out.push(t);
    }
    return out;
  }

  /** A Service, EndpointSlice or Node event: an UPSERT when what the agent uses changed, a key-only DELETE. */
  onEvent(ev: WatchEvent): DesiredChange[] {
    const obj = ev.object;
    if (!obj || ev.type === 'BOOKMARK') return [];
    const key = keyOf(obj);
    const prev = this.sent.get(key);
    if (ev.type === 'DELETED') {
      if (!prev) return [];
      this.sent.delete(key);
      const { name, namespace, uid } = obj.metadata;
      return [{ type: 'DELETE', object: { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name, namespace, uid } } }];
    }
    const t = forAgent(obj);
    if (prev && sameForAgent(prev, t)) {
      this.sent.set(key, t);
      return [];
    }
    this.sent.set(key, t);
    return [{ type: 'UPSERT', object: t }];
  }
}
