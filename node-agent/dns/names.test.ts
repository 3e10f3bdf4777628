import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ServiceDirectory } from './directory.js';
import { resolve, searchDomains } from './names.js';
import { TYPE } from './wire.js';

/** Node n1 (this one, 10.0.0.1) and n2 (10.0.0.2); Service web.shop with a ready endpoint on each node and a not-ready one. */
function shopDirectory(): ServiceDirectory {
  const d = new ServiceDirectory();
  const node = (name: string, address: string): Resource => ({
    apiVersion: 'persys.dev/v1',
    kind: 'Node',
    metadata: { name },
    status: { addresses: [{ type: 'Hostname', address: name }, { type: 'InternalIP', address }] },
  });
  const service = (name: string, clusterIp: string): Resource => ({
    apiVersion: 'persys.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { selector: { app: name }, clusterIp, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] },
  });
  const slice = (name: string): Resource => ({
    apiVersion: 'persys.dev/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'shop' },
    endpoints: [
      { containerName: `${name}-a`, nodeName: 'n1', nodeAddress: '10.0.0.1', containerIp: '172.17.0.5', ready: true, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { containerName: `${name}-b`, nodeName: 'n2', nodeAddress: '10.0.0.2', containerIp: '172.17.0.5', ready: true, ports: [{ name: 'http', port: 8080, hostPort: 32001, protocol: 'TCP' }] },
      { containerName: `${name}-c`, nodeName: 'n2', nodeAddress: '10.0.0.2', containerIp: '172.17.0.6', ready: false, ports: [{ name: 'http', port: 8080, hostPort: 32002, protocol: 'TCP' }] },
      // Elsewhere and not published: no address on this node reaches it.
      { containerName: `${name}-d`, nodeName: 'n2', nodeAddress: '10.0.0.2', containerIp: '172.17.0.7', ready: true, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    ],
  });
  d.setDesired([node('n1', '10.0.0.1'), node('n2', '10.0.0.2'), service('web', '10.96.0.10'), slice('web'), service('db', 'None'), slice('db')]);
  return d;
}

const ask = (name: string, type: number) => {
  const r = resolve({ name, type, class: 1 }, shopDirectory(), 'n1');
  if (r.kind === 'forward') return 'forward';
  const recs = [...r.answer.answers, ...r.answer.additionals].map((x) => (x.type === TYPE.A ? `A ${x.name} ${x.address}` : `SRV ${x.port} ${x.target}`));
  return [r.result, ...recs].join(' | ');
};

describe('resolve', () => {
  it.each<[string, string, number, string]>([
    ['a Service: its cluster IP', 'web.shop.svc.persys.local', TYPE.A, 'answered | A web.shop.svc.persys.local 10.96.0.10'],
    ['any case, a trailing dot', 'WEB.Shop.svc.persys.local.', TYPE.A, 'answered | A web.shop.svc.persys.local 10.96.0.10'],
    ['AAAA of a Service: no data, not NXDOMAIN', 'web.shop.svc.persys.local', TYPE.AAAA, 'nodata'],
    ['a headless Service: ready endpoints this node reaches, container IP here, node address elsewhere', 'db.shop.svc.persys.local', TYPE.A,
      'answered | A db.shop.svc.persys.local 172.17.0.5 | A db.shop.svc.persys.local 10.0.0.2'],
    ['SRV: ready endpoints, container port here, host port elsewhere, addresses as additionals', '_http._tcp.web.shop.svc.persys.local', TYPE.SRV,
      'answered | SRV 8080 web-a.web.shop.svc.persys.local | SRV 32001 web-b.web.shop.svc.persys.local | A web-a.web.shop.svc.persys.local 172.17.0.5 | A web-b.web.shop.svc.persys.local 10.0.0.2'],
    ['SRV of a port no endpoint offers: no data', '_dns._udp.web.shop.svc.persys.local', TYPE.SRV, 'nodata'],
    ['SRV of an unknown port', '_https._tcp.web.shop.svc.persys.local', TYPE.SRV, 'nxdomain'],
    ['SRV with the wrong protocol', '_http._udp.web.shop.svc.persys.local', TYPE.SRV, 'nxdomain'],
    ['an SRV target', 'web-b.web.shop.svc.persys.local', TYPE.A, 'answered | A web-b.web.shop.svc.persys.local 10.0.0.2'],
    ['an unknown Service', 'api.shop.svc.persys.local', TYPE.A, 'nxdomain'],
    ['a Service in another namespace', 'web.other.svc.persys.local', TYPE.A, 'nxdomain'],
    ['a node', 'n2.node.persys.local', TYPE.A, 'answered | A n2.node.persys.local 10.0.0.2'],
    ['an unknown node', 'n9.node.persys.local', TYPE.A, 'nxdomain'],
    ['a namespace: exists, no records', 'shop.svc.persys.local', TYPE.A, 'nodata'],
    ['the zone itself', 'persys.local', TYPE.A, 'nodata'],
    ['a made-up name in the zone', 'foo.persys.local', TYPE.A, 'nxdomain'],
    ['a search-list miss (web.shop + shop.svc…)', 'web.shop.shop.svc.persys.local', TYPE.A, 'nxdomain'],
    ['a name outside the zone', 'example.org', TYPE.A, 'forward'],
    ['a name ending like the zone', 'notpersys.local', TYPE.A, 'forward'],
  ])('%s', (_what, name, type, want) => {
    expect(ask(name, type)).toBe(want);
  });

  it('follows the directory: a deleted Service is NXDOMAIN', () => {
    const d = shopDirectory();
    d.applyChange('DELETE', { apiVersion: 'persys.dev/v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' } });
    expect(resolve({ name: 'web.shop.svc.persys.local', type: TYPE.A, class: 1 }, d, 'n1')).toMatchObject({ result: 'nxdomain' });
  });

  it('gives containers their namespace first in the search list', () => {
    expect(searchDomains('shop')).toEqual(['shop.svc.persys.local', 'svc.persys.local', 'persys.local']);
  });
});
