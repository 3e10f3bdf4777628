// The nat rules that make a Service's virtual IP work on one node: a pure function from the directory to
// an iptables-restore input that rewrites only persys's own chains.
//
//   PREROUTING  -> PERSYS-SERVICES      one rule per Service port: -d VIP -p PROTO --dport PORT -> PERSYS-SVC-…
//   PERSYS-SVC-<hash>                   one rule per ready endpoint, picked at random with equal weight
//   PERSYS-SEP-<hash>                   marks the connection for masquerade, DNATs to where this node reaches it
//   POSTROUTING -> PERSYS-POSTROUTING   masquerades marked connections (replies come back through this node)
//
// An endpoint on this node is reached at its container IP and port, one elsewhere at its node's address and
// published host port (as the DNS answers). A Service port with no reachable endpoint gets no rule: its
// packets meet the VIP range's unreachable route and never leave the node.
import { createHash } from 'node:crypto';
import { isIpv4, reachOf, type ServiceLookup } from '../dns/directory.js';

export const SERVICES_CHAIN = 'PERSYS-SERVICES';
export const POSTROUTING_CHAIN = 'PERSYS-POSTROUTING';
const SERVICE_PREFIX = 'PERSYS-SVC-';
const ENDPOINT_PREFIX = 'PERSYS-SEP-';
/** The connection mark bit meaning "DNATed by persys: masquerade it". Docker sets no marks. */
export const MASQUERADE_MARK = '0x40000';

/** True for the chains this module writes (and so may delete). */
export const isOwnChain = (chain: string) => chain === SERVICES_CHAIN || chain === POSTROUTING_CHAIN || chain.startsWith(SERVICE_PREFIX) || chain.startsWith(ENDPOINT_PREFIX);

export interface NatRules {
  /** iptables-restore input for the nat table (use with --noflush). */
  text: string;
  /** Every chain the text declares. */
  chains: Set<string>;
  /** Service ports with at least one endpoint programmed. */
  programmedPorts: number;
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
// iptables chain names are at most 28 characters.
const chainName = (prefix: string, ...parts: string[]) =>
  prefix + createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16).toUpperCase();

/**
 * The nat rules for every Service with a cluster IP, as node `self` reaches its endpoints. `stale` are
 * persys chains that exist now (from an earlier run or sync) and are deleted unless still wanted.
 */
export function natRules(lookup: ServiceLookup, self: string, stale: Iterable<string> = []): NatRules {
  const chains = new Set<string>([SERVICES_CHAIN, POSTROUTING_CHAIN]);
  const rules: string[] = [
    `-A ${POSTROUTING_CHAIN} -m mark --mark ${MASQUERADE_MARK}/${MASQUERADE_MARK} -m comment --comment "persys service traffic" -j MASQUERADE`,
  ];
  let programmedPorts = 0;
  const services = [...lookup.allServices()].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  for (const svc of services) {
    const vip = svc.spec?.clusterIp;
    if (!isIpv4(vip)) continue; // headless, or not allocated
    const ns = svc.metadata.namespace ?? '';
    const name = svc.metadata.name ?? '';
    const endpoints = (lookup.endpoints(ns, name)?.endpoints ?? []).filter((e) => e.ready);
    for (const port of svc.spec?.ports ?? []) {
      const protocol = (port.protocol || 'TCP').toLowerCase();
      if (!PROTOCOLS.has(protocol) || !port.port) continue;
      const portName = port.name ?? '';
      const comment = `${ns}/${name}${portName ? `:${portName}` : ''}`;
      const targets = new Set<string>();
      for (const e of endpoints) {
        const reach = reachOf(e, self, lookup);
        const ep = (e.ports ?? []).find((p) => (p.name ?? '') === portName && (p.protocol || 'TCP').toLowerCase() === protocol);
        const dial = reach && ep ? reach.port(ep) : undefined;
        if (reach && dial) targets.add(`${reach.address}:${dial}`);
      }
      if (!targets.size) continue;
      programmedPorts++;
      const svcChain = chainName(SERVICE_PREFIX, ns, name, portName, protocol);
      chains.add(svcChain);
      rules.push(`-A ${SERVICES_CHAIN} -d ${vip}/32 -p ${protocol} -m ${protocol} --dport ${port.port} -m comment --comment "${comment}" -j ${svcChain}`);
      const sorted = [...targets].sort();
      sorted.forEach((target, i) => {
        const epChain = chainName(ENDPOINT_PREFIX, svcChain, target);
        chains.add(epChain);
        // The i-th of n rules takes 1/(n-i) of what reaches it: each endpoint gets 1/n of the connections.
        const left = sorted.length - i;
        const pick = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(10)} ` : '';
        rules.push(`-A ${svcChain} -m comment --comment "${comment} -> ${target}" ${pick}-j ${epChain}`);
        rules.push(`-A ${epChain} -j MARK --set-xmark ${MASQUERADE_MARK}/${MASQUERADE_MARK}`);
        rules.push(`-A ${epChain} -p ${protocol} -m ${protocol} -j DNAT --to-destination ${target}`);
      });
    }
  }
  // A chain no longer wanted is declared too (which empties it), then deleted once nothing refers to it.
  const gone = [...new Set(stale)].filter((c) => isOwnChain(c) && !chains.has(c)).sort();
  const lines = ['*nat', ...[...chains, ...gone].map((c) => `:${c} - [0:0]`), ...rules, ...gone.map((c) => `-X ${c}`), 'COMMIT', ''];
  return { text: lines.join('\n'), chains, programmedPorts };
}

/** The persys chains an `iptables-save -t nat` output declares. */
export function ownChainsIn(save: string): Set<string> {
  const out = new Set<string>();
  for (const line of save.split('\n')) {
    const m = /^:(\S+) /.exec(line);
    if (m && isOwnChain(m[1]!)) out.add(m[1]!);
  }
  return out;
}
