// Services across hosts (issue 16, Done when): three Docker engines, each in its own network namespace
// with its node agent running inside it, as on three machines. A client container on node A reaches a
// Service whose replicas run on nodes B and C by name (the agent's DNS: A and SRV) and by its VIP (the
// agent's DNAT rules); traffic spreads over every ready replica, skips one failing its healthcheck, loses
// no request in a graceful rollout, keeps serving through a node loss, and deleting the Service removes
// its rules and names. No packet leaves the machine: the VIP range is unreachable in every namespace.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointSliceObject, ServiceObject } from '../../lib/api/typed.js';
import type { Resource } from '../../lib/api/resource.js';
import { eventually, TestCluster, type CliRun } from '../harness/cluster.js';
import { removeNamespaceContainers, startSecondDocker, type SecondDocker } from '../harness/docker.js';
import { allowForwarding } from '../harness/forwarding.js';

const run = promisify(execFile);
const NS = 'svcs';
const NODES = ['node-a', 'node-b', 'node-c'] as const;
const NETNS = ['psv1', 'psv2', 'psv3'] as const;

let cluster: TestCluster;
const engines: SecondDocker[] = [];
let undoForwarding: (() => Promise<void>) | undefined;

beforeAll(async () => {
  engines.push(...(await Promise.all(NETNS.map((n) => startSecondDocker(n)))));
  undoForwarding = await allowForwarding(engines, 'persys-e2e-services');
  cluster = await TestCluster.start({
    serverHosts: engines.map((e) => e.hostAddress),
    agents: NODES.map((name, i) => ({
      name,
      dockerHost: `unix://${engines[i]!.socket}`,
      netns: NETNS[i],
      serverAddress: engines[i]!.hostAddress,
      nodeIp: engines[i]!.address,
      labels: { role: i === 0 ? 'client' : 'backend' },
    })),
    // Short node timeouts, so the node-loss step takes seconds.
    controllerArgs: ['--node-monitor-grace-period', '4s', '--node-eviction-timeout', '4s'],
  });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  await removeNamespaceContainers(engines.map((e) => e.docker), NS);
  await undoForwarding?.();
  await Promise.all(engines.map((e) => e.stop()));
}, 180_000);

/** `persys VERB -n svcs ARGS…`: the namespace before any `--`. */
const persys = ([verb, ...rest]: string[], input?: string): Promise<CliRun> => cluster.persys([verb!, '-n', NS, ...rest], input);

function expectRun(r: CliRun, what: string): CliRun {
  expect(r.code, `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\n${cluster.logs()}`).toBe(0);
  return r;
}

/** A shell script run in the client container on node A. */
const inClient = (script: string) => persys(['exec', 'container/client', '--', 'sh', '-c', script]);

/**
 * The web tier: replicas on the backend nodes only, each serving its own hostname on 8080, published on a
 * port Docker picks, healthy while /tmp/down does not exist. `version` changes the template (a rollout).
 */
const webSet = (version: string) => `apiVersion: persys.dev/v1
kind: ContainerSet
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: "1", maxUnavailable: "0"}}
  template:
    metadata: {labels: {app: web}}
    spec:
      image: persys/busybox:test
      nodeSelector: {role: backend}
      env: [{name: VERSION, value: "${version}"}]
      command: [sh, -c, "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
      ports: [{name: http, containerPort: 8080, publish: true}]
      healthcheck: {exec: {command: [sh, -c, "test ! -e /tmp/down"]}, intervalSeconds: 1, timeoutSeconds: 5, retries: 1}
`;

const SERVICE = `apiVersion: persys.dev/v1
kind: Service
metadata: {name: web, namespace: ${NS}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;

const CLIENT = `apiVersion: persys.dev/v1
kind: Container
metadata: {name: client, namespace: ${NS}}
spec:
  image: persys/busybox:test
  nodeSelector: {role: client}
  command: [sh, -c, "trap 'exit 0' TERM; while :; do sleep 1; done"]
`;

let vip = '';
const slice = async () => (await cluster.client.get('EndpointSlice', 'web', NS).catch(() => undefined)) as EndpointSliceObject | undefined;
const readyEndpoints = async () => (await slice())?.endpoints?.filter((e) => e.ready) ?? [];

/**
 * Shell: `get` prints the body of GET / from the VIP (a replica's hostname), nothing when the request fails.
 * (busybox-static's wget crashes on this machine, so HTTP is spoken through nc.)
 */
const GET = () => `get() { printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${vip} 80 2>/dev/null | tail -n 1; }; `;

/** `count` requests to the VIP from the client: each line a replica's hostname, or FAIL. */
async function requests(count: number): Promise<string[]> {
  const r = expectRun(await inClient(`${GET()}for i in $(seq ${count}); do b=$(get); echo \${b:-FAIL}; done`), 'requests to the VIP');
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The hostnames (Docker's container ids, 12 characters) of the Containers an endpoint list names. */
async function hostnamesOf(names: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of names) {
    const c = await cluster.client.get('Container', name, NS);
    out.push(String(c.status?.containerId ?? '').slice(0, 12));
  }
  return out.sort();
}

const natRules = async (netns: string) => (await run('nsenter', [`--net=/var/run/netns/${netns}`, 'iptables-save', '-t', 'nat'])).stdout;

describe('a Service across three hosts', () => {
  it('reports on every node that its Service VIPs and DNS work', async () => {
    for (const name of NODES) {
      const node = await eventually(
        `${name} to report ServiceVIPsReady and ServiceDNSReady`,
        () => cluster.client.get('Node', name),
        (n: Resource) => ['ServiceVIPsReady', 'ServiceDNSReady'].every((t) => (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === t && c.status === 'True')),
        30_000,
      );
      expect(node.status?.addresses).toContainEqual(expect.objectContaining({ address: engines[NODES.indexOf(name)]!.address }));
    }
    // Every namespace has the VIP range unreachable: a packet to an unprogrammed VIP never leaves it.
    for (const n of NETNS) expect((await run('nsenter', [`--net=/var/run/netns/${n}`, 'ip', 'route', 'show', 'type', 'unreachable'])).stdout).toContain('10.96.0.0/16');
  });

  it('lets a client on node A reach 3 replicas on nodes B and C by name (A and SRV) and by VIP, spread over all of them', async () => {
    expectRun(await persys(['apply', '-f', '-'], webSet('1') + '---\n' + SERVICE + '---\n' + CLIENT), 'apply');
    const full = (await eventually('3 ready endpoints', slice, (s) => (s?.endpoints ?? []).filter((e) => e.ready).length === 3, 90_000))!;
    expect(new Set(full.endpoints!.map((e) => e.nodeName))).toEqual(new Set(['node-b', 'node-c']));
    for (const e of full.endpoints!) expect(e.ports?.[0]?.hostPort, 'a published port Docker picked').toBeGreaterThan(0);
    vip = ((await cluster.client.get('Service', 'web', NS)) as ServiceObject).spec!.clusterIp!;
    expect(vip).toMatch(/^10\.96\.\d+\.\d+$/);
    // kubectl's habit: both kinds in one get, the VIP and ready/total among the columns.
    const listed = expectRun(await persys(['get', 'services,endpoints']), 'get services,endpoints').stdout;
    expect(listed).toMatch(new RegExp(`service/web\\s+${vip.replace(/\./g, '\\.')}\\s+80/TCP\\s+3/3`));
    expect(listed).toMatch(/endpointslice\/web\s/);
    await eventually('the client to run', () => cluster.client.get('Container', 'client', NS), (c) => c.status?.phase === 'Running', 60_000);

    expect(expectRun(await inClient('nslookup web.svcs.svc.persys.local'), 'nslookup').stdout).toContain(vip);
    // busybox nslookup tries every search domain, so it ends on a failure whatever the first one answered.
    const short = await inClient('nslookup web');
    expect(short.stdout, `the short name answers the VIP:\n${short.stdout}`).toMatch(new RegExp(`Name:\\s+web\\.svcs\\.svc\\.persys\\.local\\nAddress: ${vip.replace(/\./g, '\\.')}`));
    const srv = expectRun(await inClient('nslookup -type=SRV _http._tcp.web.svcs.svc.persys.local'), 'nslookup SRV');
    // Each replica elsewhere is reached at its node's address and the host port Docker picked.
    for (const e of full.endpoints!) expect(srv.stdout).toContain(`${e.ports![0]!.hostPort} ${e.containerName}.web.svcs.svc.persys.local`);

    const answers = await requests(60);
    expect(answers).not.toContain('FAIL');
    expect([...new Set(answers)].sort()).toEqual(await hostnamesOf(full.endpoints!.map((e) => e.containerName!)));
  });

  it('stops sending traffic to a replica failing its healthcheck', async () => {
    const [sick, ...healthy] = (await readyEndpoints()).map((e) => e.containerName!);
    expectRun(await persys(['exec', `container/${sick}`, '--', 'touch', '/tmp/down']), 'make a replica unhealthy');
    await eventually(`${sick} to be not ready in the slice`, slice, (s) => { const e = s?.endpoints?.find((x) => x.containerName === sick); return !!e && !e.ready; }, 30_000);
    const answers = await requests(30);
    expect(answers).not.toContain('FAIL');
    expect([...new Set(answers)].sort()).toEqual(await hostnamesOf(healthy));
    expectRun(await persys(['exec', `container/${sick}`, '--', 'rm', '/tmp/down']), 'make it healthy again');
    await eventually('3 ready endpoints again', readyEndpoints, (r) => r.length === 3, 30_000);
  });

  it('loses no request during a graceful rollout, and the name keeps resolving', async () => {
    const before = (await readyEndpoints()).map((e) => e.containerName).sort();
    // Requests back to back until /tmp/stop appears (at most 3 minutes or 20,000 requests).
    const load = inClient(
      `${GET()}rm -f /tmp/stop; ok=0; fail=0; end=$(( $(date +%s) + 180 )); n=0; ` +
        `while [ ! -e /tmp/stop ] && [ $(date +%s) -lt $end ] && [ $n -lt 20000 ]; do n=$((n+1)); ` +
        `if [ -n "$(get)" ]; then ok=$((ok+1)); else fail=$((fail+1)); fi; done; ` +
        `nslookup web.svcs.svc.persys.local >/dev/null && echo resolves; echo ok=$ok fail=$fail`,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    expectRun(await persys(['apply', '-f', '-'], webSet('2')), 'roll out version 2');
    const after = await eventually(
      'the rollout to replace every replica',
      readyEndpoints,
      (r) => r.length === 3 && r.every((e) => !before.includes(e.containerName)),
      180_000,
      500,
    );
    // Only the new replicas are left in the slice (the old ones are gone, not just not ready).
    await eventually('the old replicas to leave the slice', slice, (s) => (s?.endpoints ?? []).length === 3, 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    expectRun(await inClient('touch /tmp/stop'), 'stop the load');
    const result = expectRun(await load, 'the load during the rollout').stdout;
    const [, ok, fail] = /ok=(\d+) fail=(\d+)/.exec(result) ?? [];
    console.log(`graceful rollout through the VIP: ${ok} requests served, ${fail} failed`);
    expect(result).toContain('resolves');
    expect(Number(ok)).toBeGreaterThan(50);
    expect(Number(fail)).toBe(0);
    const answers = await requests(30);
    expect([...new Set(answers)].sort()).toEqual(await hostnamesOf(after.map((e) => e.containerName!)));
  });

  it('keeps the name resolving and the VIP serving through the loss of node C', async () => {
    const onC = (await readyEndpoints()).filter((e) => e.nodeName === 'node-c').map((e) => e.containerName);
    expect(onC.length, 'a replica on node C to lose').toBeGreaterThan(0);
    const load = inClient(
      `${GET()}rm -f /tmp/stop; ok=0; fail=0; end=$(( $(date +%s) + 120 )); n=0; ` +
        `while [ ! -e /tmp/stop ] && [ $(date +%s) -lt $end ] && [ $n -lt 20000 ]; do n=$((n+1)); ` +
        `if [ -n "$(get)" ]; then ok=$((ok+1)); else fail=$((fail+1)); fi; done; echo ok=$ok fail=$fail`,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const lostAt = performance.now();
    await cluster.agents.get('node-c')!.kill();
    await engines[2]!.crash();
    // The node goes NotReady after the grace period: its endpoints stop being ready, then replicas move to B.
    await eventually('no ready endpoint on node C', readyEndpoints, (r) => r.length > 0 && r.every((e) => e.nodeName !== 'node-c'), 60_000);
    const routedAround = performance.now() - lostAt;
    await eventually('3 ready replicas on node B', readyEndpoints, (r) => r.length === 3 && r.every((e) => e.nodeName === 'node-b'), 120_000);
    await new Promise((r) => setTimeout(r, 2_000));
    expectRun(await inClient('touch /tmp/stop'), 'stop the load');
    const result = expectRun(await load, 'the load during the node loss').stdout;
    const [, ok, fail] = /ok=(\d+) fail=(\d+)/.exec(result) ?? [];
    console.log(`node loss through the VIP: ${ok} requests served, ${fail} failed (the lost node's endpoints left the slice ${(routedAround / 1000).toFixed(1)} s after the crash)`);
    expect(Number(ok)).toBeGreaterThan(0);
    // Once the endpoints have moved, every request is served and the name still resolves.
    const answers = await requests(30);
    expect(answers).not.toContain('FAIL');
    expect(expectRun(await inClient('nslookup web.svcs.svc.persys.local'), 'nslookup after the node loss').stdout).toContain(vip);
  });

  it('removes the rules and the names of a deleted Service', async () => {
    expect(await natRules('psv1')).toContain(`-d ${vip}/32`);
    expectRun(await persys(['delete', 'service', 'web']), 'delete the Service');
    await eventually('node A to drop the VIP rules', () => natRules('psv1'), (s) => !s.includes(vip) && !/^:PERSYS-S(VC|EP)-/m.test(s), 30_000);
    expect(await natRules('psv2')).not.toContain(vip);
    const lookup = await eventually('the name to be gone', () => inClient('nslookup web.svcs.svc.persys.local'), (r) => r.code !== 0, 30_000);
    expect(lookup.stdout + lookup.stderr).toMatch(/NXDOMAIN|can't find/);
    // The VIP is no longer served, and its packets go nowhere: unreachable, not out of the machine.
    const r = await inClient(`${GET()}b=$(get); echo \${b:-unreachable}`);
    expect(r.stdout).toContain('unreachable');
  });
});
