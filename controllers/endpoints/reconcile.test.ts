// The endpoints decision as a table: which Containers are endpoints, which are ready, their addresses
// and ports, and the Service's counts and EndpointsReady condition.
import { describe, expect, it } from 'vitest';
import type { ContainerObject, NodeObject, ServiceObject } from '../../lib/api/typed.js';
import { desiredEndpoints, endpointPorts, nodeAddress, sameEndpoints, sameStatus, type Endpoint } from './reconcile.js';

const NOW = '2026-01-01T00:00:00Z';
const EARLIER = '2025-12-31T00:00:00Z';

const svc = (spec: ServiceObject['spec'] = {}, status?: ServiceObject['status']): ServiceObject => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', uid: 'svc-uid', generation: 1 },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: '8080', protocol: 'TCP' }], ...spec },
  status,
});

const ctr = (name: string, over: { labels?: Record<string, string>; node?: string; ready?: boolean; phase?: string; deleting?: boolean; ip?: string; ports?: NonNullable<ContainerObject['spec']>['ports']; namespace?: string } = {}): ContainerObject => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: over.namespace ?? 'shop', labels: over.labels ?? { app: 'web' }, ...(over.deleting ? { deletionTimestamp: EARLIER } : {}) },
  spec: { image: 'x', nodeName: over.node ?? 'n1', ports: over.ports ?? [{ name: 'http', containerPort: 8080, hostPort: 30080, protocol: 'TCP' }] },
  status: {
    phase: over.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }],
    ...(over.ip === '' ? {} : { containerIp: over.ip ?? `172.17.0.${name.length}` }),
  },
});

const node = (name: string, ready = true, addresses = [{ type: 'Hostname', address: name }, { type: 'InternalIP', address: `10.0.0.${name.slice(1)}` }]): NodeObject => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Node',
  metadata: { name },
  spec: {},
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], addresses },
});
const nodes = (...list: NodeObject[]) => new Map(list.map((n) => [n.metadata.name!, n]));
const N = nodes(node('n1'), node('n2'), node('n3', false));

const ep = (containerName: string, nodeName: string, ready: boolean, extra: Partial<Endpoint> = {}): Endpoint => ({
  containerName,
  nodeName,
  nodeAddress: `10.0.0.${nodeName.slice(1)}`,
  containerIp: `172.17.0.${containerName.length}`,
  ready,
  ports: [{ name: 'http', port: 8080, hostPort: 30080, protocol: 'TCP' }],
  ...extra,
});

describe('desiredEndpoints', () => {
  it.each<[string, ServiceObject, ContainerObject[], Endpoint[], { ready: number; total: number; status: string; reason: string }]>([
    ['two ready replicas on two nodes, sorted by name', svc(), [ctr('web-b', { node: 'n2' }), ctr('web-a')], [ep('web-a', 'n1', true), ep('web-b', 'n2', true)], { ready: 2, total: 2, status: 'True', reason: 'EndpointsReady' }],
    ['a failing healthcheck lists the Container as not ready', svc(), [ctr('web-a'), ctr('web-bb', { ready: false })], [ep('web-a', 'n1', true), ep('web-bb', 'n1', false)], { ready: 1, total: 2, status: 'True', reason: 'EndpointsReady' }],
    ['a NotReady node makes its Containers not ready', svc(), [ctr('web-a', { node: 'n3' })], [ep('web-a', 'n3', false)], { ready: 0, total: 1, status: 'False', reason: 'NoReadyContainers' }],
    ['a Container that is not Running is not ready', svc(), [ctr('web-a', { phase: 'Creating', ready: false })], [ep('web-a', 'n1', false)], { ready: 0, total: 1, status: 'False', reason: 'NoReadyContainers' }],
    ['a Container being deleted is no endpoint at all', svc(), [ctr('web-a', { deleting: true }), ctr('web-b')], [ep('web-b', 'n1', true)], { ready: 1, total: 1, status: 'True', reason: 'EndpointsReady' }],
    ['an unscheduled Container counts but is not listed', svc(), [ctr('web-a', { node: '' })], [], { ready: 0, total: 1, status: 'False', reason: 'NoReadyContainers' }],
    ['labels that do not match, or another namespace', svc(), [ctr('api', { labels: { app: 'api' } }), ctr('web-x', { namespace: 'other' })], [], { ready: 0, total: 0, status: 'False', reason: 'NoMatchingContainers' }],
    ['an empty selector selects nothing', svc({ selector: {} }), [ctr('web-a')], [], { ready: 0, total: 0, status: 'False', reason: 'NoSelector' }],
    ['a node unknown to the cache: not ready, no address', svc(), [ctr('web-a', { node: 'gone' })], [{ containerName: 'web-a', nodeName: 'gone', containerIp: '172.17.0.5', ready: false, ports: [{ name: 'http', port: 8080, hostPort: 30080, protocol: 'TCP' }] }], { ready: 0, total: 1, status: 'False', reason: 'NoReadyContainers' }],
  ])('%s', (_name, service, containers, endpoints, want) => {
    const d = desiredEndpoints(service, containers, N, NOW);
    expect(d.endpoints).toEqual(endpoints);
    expect(d.status.readyEndpoints).toBe(want.ready);
    expect(d.status.totalEndpoints).toBe(want.total);
    expect(d.status.conditions).toEqual([expect.objectContaining({ type: 'EndpointsReady', status: want.status, reason: want.reason, lastTransitionTime: NOW })]);
  });

  it('names the selector in the NoMatchingContainers message', () => {
    const d = desiredEndpoints(svc(), [], N, NOW);
    expect(d.status.conditions![0]!.message).toBe('no Container in namespace shop has the labels app=web');
  });

  it('keeps the transition time while the condition does not flip, and moves it when it does', () => {
    const before = svc({}, { readyEndpoints: 1, totalEndpoints: 1, conditions: [{ type: 'EndpointsReady', status: 'True', reason: 'EndpointsReady', lastTransitionTime: EARLIER }] });
    expect(desiredEndpoints(before, [ctr('web-a'), ctr('web-b')], N, NOW).status.conditions![0]!.lastTransitionTime).toBe(EARLIER);
    expect(desiredEndpoints(before, [], N, NOW).status.conditions![0]!.lastTransitionTime).toBe(NOW);
  });
});

describe('endpointPorts', () => {
  it.each<[string, NonNullable<ServiceObject['spec']>['ports'], NonNullable<ContainerObject['spec']>['ports'], unknown]>([
    ['a numeric targetPort with its published hostPort', [{ name: 'http', port: 80, targetPort: '8080', protocol: 'TCP' }], [{ containerPort: 8080, hostPort: 30080, protocol: 'TCP' }], [{ name: 'http', port: 8080, hostPort: 30080, protocol: 'TCP' }]],
    ['a named targetPort resolved through the Container\'s ports', [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }], [{ name: 'web', containerPort: 9000, protocol: 'TCP' }], [{ name: 'http', port: 9000, protocol: 'TCP' }]],
    ['a named targetPort the Container lacks is left out', [{ name: 'http', port: 80, targetPort: 'web' }], [], []],
    ['no targetPort means the port; a UDP port is not published by a TCP hostPort', [{ port: 53, protocol: 'UDP' }], [{ containerPort: 53, hostPort: 5353, protocol: 'TCP' }], [{ port: 53, protocol: 'UDP' }]],
  ])('%s', (_name, ports, own, want) => {
    expect(endpointPorts(svc({ ports }), ctr('c', { ports: own }))).toEqual(want);
  });

  it('takes the port the engine picked (status.ports) for publish with hostPort 0', () => {
    const c = ctr('c', { ports: [{ name: 'web', containerPort: 8080, hostPort: 0, publish: true, protocol: 'TCP' }] });
    c.status = { ...c.status, ports: [{ name: 'web', containerPort: 8080, hostPort: 32771, protocol: 'TCP', hostIp: '0.0.0.0' }] };
    expect(endpointPorts(svc({ ports: [{ name: 'http', port: 80, targetPort: '8080', protocol: 'TCP' }] }), c)).toEqual([{ name: 'http', port: 8080, hostPort: 32771, protocol: 'TCP' }]);
  });
});

describe('nodeAddress', () => {
  it('prefers InternalIP, else takes the first address, else none', () => {
    expect(nodeAddress(node('n7'))).toBe('10.0.0.7');
    expect(nodeAddress(node('n7', true, [{ type: 'Hostname', address: 'host7' }]))).toBe('host7');
    expect(nodeAddress(node('n7', true, []))).toBeUndefined();
  });
});

describe('change detection (write only on change)', () => {
  it('sees the same endpoints whatever the field order or absent defaults', () => {
    const a = ep('web-a', 'n1', true);
    expect(sameEndpoints([a], [{ ports: a.ports, ready: true, containerIp: a.containerIp, nodeAddress: a.nodeAddress, nodeName: 'n1', containerName: 'web-a' }])).toBe(true);
    expect(sameEndpoints([a], [{ ...a, ready: false }])).toBe(false);
    expect(sameEndpoints(undefined, [])).toBe(true);
  });

  it('sees the same status, and a changed count', () => {
    const d = desiredEndpoints(svc(), [ctr('web-a')], N, NOW);
    expect(sameStatus(d.status, { ...d.status })).toBe(true);
    expect(sameStatus(d.status, { ...d.status, readyEndpoints: 0 })).toBe(false);
    expect(sameStatus(undefined, d.status)).toBe(false);
  });
});
