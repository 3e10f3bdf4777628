import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import type { WatchEvent } from '../watch/event.js';
import { forAgent, NodeDiscoveryState, sharedWire } from './discovery.js';

const node = (name: string, address: string, rv: string, ready = 'True'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Node',
  metadata: { name, resourceVersion: rv },
  status: { addresses: [{ type: 'InternalIP', address }], conditions: [{ type: 'Ready', status: ready }], dockerVersion: '27' },
});
const svc = (name: string, rv: string, ready: number, port = 80): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop', resourceVersion: rv },
  spec: { selector: { app: name }, ports: [{ name: 'http', port }], clusterIp: '10.96.0.10' },
  status: { readyEndpoints: ready },
});
const slice = (name: string, rv: string, ready: boolean): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'shop', resourceVersion: rv },
  endpoints: [{ containerName: `${name}-1`, nodeName: 'n1', containerIp: '172.17.0.2', ready, ports: [{ name: 'http', port: 80 }] }],
});
const ev = (type: WatchEvent['type'], object: Resource): WatchEvent => ({ type, object, revision: object.metadata.resourceVersion ?? '0' });
const show = (chs: { type: string; object: Resource }[]) => chs.map((c) => `${c.type} ${c.object.kind}/${c.object.metadata.name}`);

describe('forAgent', () => {
  it('keeps a Node name and addresses only, a Service without status, an EndpointSlice whole', () => {
    expect(forAgent(node('n1', '10.0.0.1', '5'))).toEqual({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name: 'n1', resourceVersion: '5' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } });
    expect(forAgent(svc('web', '6', 2)).status).toBeUndefined();
    const s = slice('web', '7', true);
    expect(forAgent(s)).toBe(s);
  });

  it('trims and encodes an object once for every session', () => {
    const n = node('n1', '10.0.0.1', '5');
    expect(forAgent(n)).toBe(forAgent(n));
    expect(sharedWire(forAgent(n))).toBe(sharedWire(forAgent(n)));
  });
});

describe('NodeDiscoveryState', () => {
  it.each<[string, Resource[], WatchEvent[], string[]]>([
    ['a Node whose conditions changed is not sent again', [node('n1', '10.0.0.1', '5')], [ev('MODIFIED', node('n1', '10.0.0.1', '9', 'False'))], []],
    ['a Node whose address changed is', [node('n1', '10.0.0.1', '5')], [ev('MODIFIED', node('n1', '10.0.0.2', '9'))], ['UPSERT Node/n1']],
    ['a Service status change is not sent', [svc('web', '5', 1)], [ev('MODIFIED', svc('web', '9', 3))], []],
    ['a Service port change is', [svc('web', '5', 1)], [ev('MODIFIED', svc('web', '9', 1, 8080))], ['UPSERT Service/web']],
    ['an endpoint turning not ready is', [slice('web', '5', true)], [ev('MODIFIED', slice('web', '9', false))], ['UPSERT EndpointSlice/web']],
    ['a new Service, then its deletion', [], [ev('ADDED', svc('api', '5', 0)), ev('DELETED', svc('api', '6', 0))], ['UPSERT Service/api', 'DELETE Service/api']],
    ['the deletion of an object never sent is not', [], [ev('DELETED', svc('api', '6', 0))], []],
  ])('%s', (_name, initial, events, want) => {
    const d = new NodeDiscoveryState();
    d.initial(initial);
    expect(show(events.flatMap((e) => d.onEvent(e)))).toEqual(want);
  });

  it('sends a DELETE with the key only', () => {
    const d = new NodeDiscoveryState();
    d.initial([svc('web', '5', 1)]);
    const [del] = d.onEvent(ev('DELETED', svc('web', '6', 1)));
    expect(del!.object).toEqual({ apiVersion: 'persys.dev/v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' } });
  });
});
