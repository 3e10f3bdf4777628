import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ServiceDirectory } from '../dns/directory.js';
import { natRules, ownChainsIn } from './rules.js';

const node = (name: string, address: string): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Node',
  metadata: { name },
  status: { addresses: [{ type: 'InternalIP', address }] },
});
const service = (name: string, clusterIp: string, ports = [{ name: 'http', port: 80, protocol: 'TCP' }]): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { selector: { app: name }, clusterIp, ports },
});
const endpoint = (nodeName: string, containerIp: string, ready: boolean, hostPort?: number) => ({
  containerName: `${nodeName}-${containerIp}`,
  nodeName,
  containerIp,
  ready,
  ports: [{ name: 'http', port: 8080, protocol: 'TCP', ...(hostPort && { hostPort }) }],
});
const slice = (name: string, endpoints: ReturnType<typeof endpoint>[]): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'shop' },
  endpoints,
});

function directory(...objects: Resource[]): ServiceDirectory {
  const d = new ServiceDirectory();
  d.setDesired([node('n1', '10.0.0.1'), node('n2', '10.0.0.2'), ...objects]);
  return d;
}

/** The DNAT targets of the rules, in the order the SVC chain tries them, with the probability each rule has. */
function picks(text: string): string[] {
  const sep = new Map<string, string>();
  for (const m of text.matchAll(/^-A (PERSYS-SEP-\w+) .*--to-destination (\S+)$/gm)) sep.set(m[1]!, m[2]!);
  return [...text.matchAll(/^-A PERSYS-SVC-\w+ .*?(?:--probability (\S+) )?-j (PERSYS-SEP-\w+)$/gm)].map((m) => `${sep.get(m[2]!)} ${m[1] ?? 'rest'}`);
}

describe('natRules', () => {
  it('sends VIP:port to every ready endpoint with equal chance: container address here, node address and host port elsewhere', () => {
    const d = directory(
      service('web', '10.96.0.10'),
      slice('web', [endpoint('n1', '172.17.0.5', true), endpoint('n2', '172.17.0.5', true, 32001), endpoint('n2', '172.17.0.6', true, 32002), endpoint('n2', '172.17.0.7', false, 32003)]),
    );
    const { text, programmedPorts } = natRules(d, 'n1');
    expect(programmedPorts).toBe(1);
    expect(text).toMatch(/^-A PERSYS-SERVICES -d 10\.96\.0\.10\/32 -p tcp -m tcp --dport 80 -m comment --comment "shop\/web:http" -j PERSYS-SVC-[0-9A-F]{16}$/m);
    expect(picks(text)).toEqual(['10.0.0.2:32001 0.3333333333', '10.0.0.2:32002 0.5000000000', '172.17.0.5:8080 rest']);
    expect(text).toMatch(/^-A PERSYS-POSTROUTING -m mark --mark 0x40000\/0x40000 .*-j MASQUERADE$/m);
    expect(text.startsWith('*nat\n')).toBe(true);
    expect(text.endsWith('COMMIT\n')).toBe(true);
  });

  it('gives no rule to a port without a reachable endpoint, a headless Service or one without an address', () => {
    const d = directory(
      service('none-ready', '10.96.0.11'),
      slice('none-ready', [endpoint('n2', '172.17.0.9', false, 32009)]),
      // Elsewhere and not published: this node cannot reach it.
      service('unpublished', '10.96.0.12'),
      slice('unpublished', [endpoint('n2', '172.17.0.8', true)]),
      service('headless', 'None'),
      slice('headless', [endpoint('n1', '172.17.0.3', true)]),
      service('pending', ''),
    );
    const { text, programmedPorts, chains } = natRules(d, 'n1');
    expect(programmedPorts).toBe(0);
    expect(text).not.toMatch(/--dport/);
    expect([...chains].sort()).toEqual(['PERSYS-POSTROUTING', 'PERSYS-SERVICES']);
  });

  it('deletes chains of Services that are gone, and only persys chains', () => {
    const before = natRules(directory(service('web', '10.96.0.10'), slice('web', [endpoint('n1', '172.17.0.5', true)])), 'n1');
    const after = natRules(directory(), 'n1', [...before.chains, 'DOCKER', 'KUBE-SVC-X']);
    const gone = [...before.chains].filter((c) => c.startsWith('PERSYS-SVC-') || c.startsWith('PERSYS-SEP-'));
    expect(gone).toHaveLength(2);
    for (const c of gone) {
      // Declared (so emptied) before it is deleted.
      expect(after.text).toContain(`:${c} - [0:0]`);
      expect(after.text).toContain(`-X ${c}`);
    }
    expect(after.text).not.toMatch(/DOCKER|KUBE/);
    expect(after.text.indexOf('-X ')).toBeGreaterThan(after.text.lastIndexOf('-A '));
  });

  it('names the same Service port with the same chain every time, and different ones differently', () => {
    const one = natRules(directory(service('web', '10.96.0.10'), slice('web', [endpoint('n1', '172.17.0.5', true)])), 'n1');
    const two = natRules(directory(service('web', '10.96.0.10'), slice('web', [endpoint('n1', '172.17.0.5', true)])), 'n1');
    expect(one.text).toBe(two.text);
    const other = natRules(directory(service('api', '10.96.0.10'), slice('api', [endpoint('n1', '172.17.0.5', true)])), 'n1');
    expect([...other.chains].filter((c) => c.startsWith('PERSYS-SVC-'))).not.toEqual([...one.chains].filter((c) => c.startsWith('PERSYS-SVC-')));
    for (const c of one.chains) expect(c.length).toBeLessThanOrEqual(28);
  });

  it('finds persys chains in iptables-save output', () => {
    const save = '*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n:PERSYS-SERVICES - [0:0]\n:PERSYS-SVC-ABC - [0:0]\n-A PREROUTING -j PERSYS-SERVICES\nCOMMIT\n';
    expect([...ownChainsIn(save)].sort()).toEqual(['PERSYS-SERVICES', 'PERSYS-SVC-ABC']);
  });
});
