// The VIP rules as the kernel takes them: iptables-restore, the jumps and the unreachable route, written
// into a network namespace of the test's own (never this machine's tables), then removed without a trace.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ServiceDirectory } from '../dns/directory.js';
import { iptablesHost } from './iptables.js';
import { VipLoop } from './loop.js';

const run = promisify(execFile);
const NETNS = `persys-vip-${process.pid}`;
const PATH = `/var/run/netns/${NETNS}`;
const CIDR = '10.96.0.0/16';
const inNs = async (...args: string[]) => (await run('nsenter', [`--net=${PATH}`, ...args])).stdout;

beforeAll(async () => {
  await run('ip', ['netns', 'add', NETNS]);
  await inNs('ip', 'link', 'set', 'lo', 'up');
});
afterAll(async () => {
  await run('ip', ['netns', 'del', NETNS]).catch(() => undefined);
});

const objects = (endpoints: number): Resource[] => [
  { apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name: 'n2' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }] } },
  {
    apiVersion: 'persys.dev/v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { app: 'web' }, clusterIp: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  },
  {
    apiVersion: 'persys.dev/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web', namespace: 'shop' },
    endpoints: Array.from({ length: endpoints }, (_, i) => ({
      containerName: `web-${i}`,
      nodeName: 'n2',
      nodeAddress: '10.0.0.2',
      containerIp: `172.17.0.${i + 2}`,
      ready: true,
      ports: [{ name: 'http', port: 8080, hostPort: 32000 + i, protocol: 'TCP' }],
    })),
  },
];

describe('VIP rules in a network namespace', () => {
  it('writes, rewrites and removes persys chains, the jumps and the route, touching nothing else', async () => {
    const host = iptablesHost(PATH);
    const baseline = await inNs('iptables-save', '-t', 'nat');
    const directory = new ServiceDirectory();
    const loop = new VipLoop({ lookup: directory, ready: () => directory.ready, node: 'n1', serviceCidr: CIDR, host, resyncMs: 60_000 });
    directory.onChange(() => loop.changed());
    await loop.start();
    directory.setDesired(objects(3));
    await expect.poll(() => loop.condition.status, { timeout: 10_000 }).toBe('True');

    const save = await inNs('iptables-save', '-t', 'nat');
    expect(save).toMatch(/-A PREROUTING -m comment --comment "persys service VIPs" -j PERSYS-SERVICES/);
    expect(save).toMatch(/-A POSTROUTING -m comment --comment "persys service traffic" -j PERSYS-POSTROUTING/);
    expect(save).toMatch(/-A PERSYS-SERVICES -d 10\.96\.0\.10\/32 -p tcp .*--dport 80 .*-j PERSYS-SVC-/);
    expect(save.match(/--to-destination 10\.0\.0\.2:3200\d/g)).toHaveLength(3);
    expect(await inNs('ip', 'route', 'show', 'type', 'unreachable')).toContain(CIDR);

    // One endpoint left: the two others' chains are deleted, not just emptied.
    directory.applyChange('UPSERT', objects(1)[2]!);
    await expect.poll(async () => (await inNs('iptables-save', '-t', 'nat')).match(/^:PERSYS-SEP-/gm)?.length, { timeout: 10_000 }).toBe(1);
    // The Service gone: no chain of its own is left.
    directory.applyChange('DELETE', objects(1)[1]!);
    await expect.poll(async () => (await inNs('iptables-save', '-t', 'nat')).match(/^:PERSYS-S(VC|EP)-/gm), { timeout: 10_000 }).toBeNull();
    await loop.stop();

    expect(await host.leftovers(CIDR)).toBe(true);
    await host.removeAll(CIDR);
    expect(await host.leftovers(CIDR)).toBe(false);
    const after = await inNs('iptables-save', '-t', 'nat');
    expect(after).not.toMatch(/PERSYS/);
    const rules = (s: string) => s.split('\n').filter((l) => l.startsWith('-A') || l.startsWith(':')).map((l) => l.replace(/\[\d+:\d+\]/, ''));
    expect(rules(after)).toEqual(rules(baseline));
  });

  it('never takes over a route of the VIP range it did not make, and says so in its condition', async () => {
    await inNs('ip', 'route', 'add', '10.97.0.0/16', 'dev', 'lo');
    const directory = new ServiceDirectory();
    const loop = new VipLoop({ lookup: directory, ready: () => directory.ready, node: 'n1', serviceCidr: '10.97.0.0/16', host: iptablesHost(PATH) });
    directory.onChange(() => loop.changed());
    await loop.start();
    directory.setDesired(objects(1));
    await expect.poll(() => loop.condition.status, { timeout: 10_000 }).toBe('False');
    expect(loop.condition.message).toMatch(/the VIP range 10\.97\.0\.0\/16 is already routed on this node \(10\.97\.0\.0\/16 dev lo/);
    await loop.stop();
    expect(await inNs('ip', 'route', 'show', 'exact', '10.97.0.0/16')).toMatch(/^10\.97\.0\.0\/16 dev lo/);
    await iptablesHost(PATH).removeAll('10.97.0.0/16');
    await inNs('ip', 'route', 'del', '10.97.0.0/16', 'dev', 'lo');
  });

  it('reports a host it cannot program in its condition', async () => {
    const directory = new ServiceDirectory();
    const loop = new VipLoop({ lookup: directory, ready: () => directory.ready, node: 'n1', serviceCidr: CIDR, host: iptablesHost('/var/run/netns/persys-no-such-netns') });
    directory.onChange(() => loop.changed());
    await loop.start();
    directory.setDesired(objects(1));
    await expect.poll(() => loop.condition.status, { timeout: 10_000 }).toBe('False');
    expect(loop.condition).toMatchObject({ reason: 'HostNotProgrammable' });
    expect(loop.condition.message).toMatch(/cannot program Service VIPs on this node: .*persys-no-such-netns/);
    await loop.stop();
  });
});
