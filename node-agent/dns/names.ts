// The persys.local zone as one node's containers see it: a pure function from a question and the
// directory to an answer, or "forward" for names outside the zone.
//
//   NAME.NAMESPACE.svc.persys.local            A    the Service's clusterIp; for a headless Service
//                                                   (clusterIp None or empty) its ready endpoints
//   _PORT._PROTO.NAME.NAMESPACE.svc.persys.local SRV one record per ready endpoint, addresses as additionals
//   CONTAINER.NAME.NAMESPACE.svc.persys.local  A    one endpoint (the SRV targets)
//   NODE.node.persys.local                     A    the node's address
//
// An endpoint's address is what a container on this node can reach: the container IP and container
// port for endpoints on this node (same bridge), the node address and published host port for endpoints
// elsewhere. An endpoint elsewhere without an IPv4 node address, or without a host port for an SRV
// port, is left out: nothing here could reach it.
import type { EndpointSliceObject } from '../../lib/api/typed.js';
import { isIpv4, reachOf, type ServiceLookup } from './directory.js';
import { RCODE, TYPE, type Answer, type Question, type ResourceRecord } from './wire.js';

export const ZONE = 'persys.local';
/** Short: answers change as endpoints come and go. */
export const TTL_SECONDS = 5;

/** The search list of a container in `namespace`, most specific first. */
export const searchDomains = (namespace: string) => [`${namespace}.svc.${ZONE}`, `svc.${ZONE}`, ZONE];

/** What the server does with a question. */
export type Resolution = { kind: 'answer'; answer: Answer; result: 'answered' | 'nodata' | 'nxdomain' } | { kind: 'forward' };

const nodata = (): Resolution => ({ kind: 'answer', answer: { rcode: RCODE.NOERROR, answers: [], additionals: [] }, result: 'nodata' });
const nxdomain = (): Resolution => ({ kind: 'answer', answer: { rcode: RCODE.NXDOMAIN, answers: [], additionals: [] }, result: 'nxdomain' });
const answered = (answers: ResourceRecord[], additionals: ResourceRecord[] = []): Resolution =>
  answers.length ? { kind: 'answer', answer: { rcode: RCODE.NOERROR, answers, additionals }, result: 'answered' } : nodata();
const a = (name: string, address: string): ResourceRecord => ({ name, type: TYPE.A, ttl: TTL_SECONDS, address });

/** A DNS label may not hold every Kubernetes-style container name character; lower case is what queries carry. */
const label = (s: string | undefined) => (s ?? '').toLowerCase();

/** Answers `q` for a container on node `self`. */
export function resolve(q: Question, lookup: ServiceLookup, self: string): Resolution {
  const name = q.name.toLowerCase().replace(/\.$/, '');
  if (name !== ZONE && !name.endsWith(`.${ZONE}`)) return { kind: 'forward' };
  const labels = name === ZONE ? [] : name.slice(0, -(ZONE.length + 1)).split('.');
  const wantsA = q.type === TYPE.A || q.type === TYPE.ANY;
  // The zone's own structure exists, with no records of its own.
  if (labels.length === 0 || (labels.length === 1 && (labels[0] === 'svc' || labels[0] === 'node'))) return nodata();

  if (labels.length === 2 && labels[1] === 'node') {
    const address = lookup.nodeAddress(labels[0]!);
    if (!address) return nxdomain();
    return wantsA ? answered([a(name, address)]) : nodata();
  }
  if (labels.at(-1) !== 'svc') return nxdomain();
  const inSvc = labels.slice(0, -1);
  if (inSvc.length === 1) return nodata(); // NAMESPACE.svc.persys.local

  if (inSvc.length === 2) {
    const [svcName, namespace] = inSvc as [string, string];
    const svc = lookup.service(namespace, svcName);
    if (!svc) return nxdomain();
    if (!wantsA) return nodata();
    const ip = svc.spec?.clusterIp;
    if (ip && ip !== 'None') return isIpv4(ip) ? answered([a(name, ip)]) : nodata();
    // Headless: every ready endpoint this node can reach, each address once.
    const addresses = new Set<string>();
    for (const e of lookup.endpoints(namespace, svcName)?.endpoints ?? []) {
      const reach = e.ready ? reachOf(e, self, lookup) : undefined;
      if (reach) addresses.add(reach.address);
    }
    return answered([...addresses].map((addr) => a(name, addr)));
  }

  if (inSvc.length === 3 && !inSvc[0]!.startsWith('_')) {
    // CONTAINER.NAME.NAMESPACE: one endpoint, ready or not (the SRV targets name only ready ones).
    const [container, svcName, namespace] = inSvc as [string, string, string];
    if (!lookup.service(namespace, svcName)) return nxdomain();
    const e = (lookup.endpoints(namespace, svcName)?.endpoints ?? []).find((x) => label(x.containerName) === container);
    const reach = e && reachOf(e, self, lookup);
    if (!reach) return nxdomain();
    return wantsA ? answered([a(name, reach.address)]) : nodata();
  }

  if (inSvc.length === 4 && inSvc[0]!.startsWith('_') && inSvc[1]!.startsWith('_')) {
    const [portLabel, protoLabel, svcName, namespace] = inSvc as [string, string, string, string];
    const svc = lookup.service(namespace, svcName);
    const portName = portLabel.slice(1);
    const protocol = protoLabel.slice(1);
    const port = svc?.spec?.ports?.find((p) => label(p.name) === portName && label(p.protocol || 'TCP') === protocol);
    if (!svc || !port) return nxdomain();
    if (q.type !== TYPE.SRV && q.type !== TYPE.ANY) return nodata();
    const answers: ResourceRecord[] = [];
    const additionals: ResourceRecord[] = [];
    for (const e of lookup.endpoints(namespace, svcName)?.endpoints ?? []) {
      if (!e.ready) continue;
      const reach = reachOf(e, self, lookup);
      const ep = (e.ports ?? []).find((p) => label(p.name) === portName && label(p.protocol || 'TCP') === protocol);
      const dial = reach && ep ? reach.port(ep) : undefined;
      if (!reach || !dial) continue;
      const target = `${label(e.containerName)}.${svcName}.${namespace}.svc.${ZONE}`;
      answers.push({ name, type: TYPE.SRV, ttl: TTL_SECONDS, priority: 0, weight: 100, port: dial, target });
      additionals.push(a(target, reach.address));
    }
    return answered(answers, additionals);
  }
  return nxdomain();
}
