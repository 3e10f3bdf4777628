// The agent stream against a real API server and etcd: Hello registers the Node, the desired state is
// exactly the node's Containers and the ConfigMaps and Secrets they use, then changes follow; status is written only
// when it changes and only for the node's own objects; heartbeats renew the Lease and nothing else.
import { readFileSync } from 'node:fs';
import { status as Code } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toWire, type Resource } from '../../lib/api/resource.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { heartbeat, joinAsNode, nodeInfo, TestAgent, type NodeCredentials } from './test-agent.js';

let api: TestApiServer;
let caPem: string;
const agents: TestAgent[] = [];

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  caPem = readFileSync(api.pki.caCert, 'utf8');
  await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: 'shop' } });
});
afterAll(async () => {
  for (const a of agents) a.close();
  await api?.stop();
});

const container = (name: string, nodeName?: string, env: unknown[] = []): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'shop' },
  spec: { image: 'busybox', nodeName, env },
});
const secret = (name: string, value = 'v'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Secret',
  metadata: { name, namespace: 'shop' },
  stringData: { key: value },
});
const secretEnv = (secretName: string) => [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: secretName, key: 'key' } } }];
const names = (objs: Resource[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();

async function connected(node: string, creds?: NodeCredentials, labels: Record<string, string> = {}): Promise<TestAgent> {
  const agent = new TestAgent(api, creds ?? (await joinAsNode(api, caPem, node)));
  agents.push(agent);
  agent.hello(nodeInfo(labels));
  return agent;
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('agent stream', () => {
  it('refuses a stream whose first message is not Hello with INVALID_ARGUMENT', async () => {
    const agent = new TestAgent(api, await joinAsNode(api, caPem, 'rude'));
    agents.push(agent);
    agent.heartbeat();
    const err = await agent.ended;
    expect(err?.code).toBe(Code.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/first message .* must be Hello/);
  });

  it('creates the Node on Hello with its labels and reported status', async () => {
    const agent = await connected('hello-1', undefined, { zone: 'a' });
    await agent.desired();
    const node = await api.client.get('Node', 'hello-1');
    expect(node.metadata.labels).toEqual({ zone: 'a' });
    expect(node.status.capacity).toEqual({ cpu: '4', memory: '8Gi' });
    expect(node.status.allocatable).toEqual({ cpu: '3900m', memory: '7936Mi' });
    expect(node.status.dockerVersion).toBe('24.0.7');
    expect(node.status.addresses).toEqual([{ type: 'InternalIP', address: '10.0.0.7' }]);
    expect(node.status.os).toBe('linux');
    expect(node.status.agentVersion).toBe('test');
    expect(node.status.lastHeartbeatTime).toBeTruthy();
    const ready = node.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'AgentConnected' });
  });

  it('merges Hello labels into an existing Node, keeping labels set by others', async () => {
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name: 'pre-1', labels: { team: 'x', zone: 'old' } }, spec: {} });
    const agent = await connected('pre-1', undefined, { zone: 'b' });
    await agent.desired();
    expect((await api.client.get('Node', 'pre-1')).metadata.labels).toEqual({ team: 'x', zone: 'b' });
  });

  it("sends exactly the node's Containers and the Secrets they reference, never another node's", async () => {
    await api.client.create(secret('db-pass'));
    await api.client.create(secret('unused'));
    await api.client.create(container('a-web', 'node-a', secretEnv('db-pass')));
    await api.client.create(container('a-worker', 'node-a'));
    await api.client.create(container('b-web', 'node-b', secretEnv('unused')));
    await api.client.create(container('pending'));
    const a = await connected('node-a');
    const b = await connected('node-b');
    expect(names(await a.desired())).toEqual(['Container/a-web', 'Container/a-worker', 'Secret/db-pass']);
    expect(names(await b.desired())).toEqual(['Container/b-web', 'Secret/unused']);

    // Changes: B's container moving to A arrives at A as an upsert and at B as a delete.
    const moved = await api.client.get('Container', 'b-web', 'shop');
    await api.client.update({ ...moved, spec: { ...moved.spec, nodeName: 'node-a' } });
    await a.waitFor((m) => (m.message?.$case === 'change' && m.message.value.type === 'UPSERT' && m.message.value.object?.object?.$case === 'container' && m.message.value.object.object.value.metadata?.name === 'b-web' ? true : undefined));
    await b.waitFor(() => (b.changes().includes('DELETE Secret/shop/unused') ? true : undefined));
    expect(a.changes()).toEqual(['UPSERT Secret/shop/unused', 'UPSERT Container/shop/b-web']);
    expect(b.changes()).toEqual(['DELETE Container/shop/b-web', 'DELETE Secret/shop/unused']);

    // A new container bound to B → UPSERT at B only; a referenced Secret's update → UPSERT at A only.
    await api.client.create(container('b-new', 'node-b'));
    await b.waitFor(() => (b.changes().includes('UPSERT Container/shop/b-new') ? true : undefined));
    const pass = await api.client.get('Secret', 'db-pass', 'shop');
    await api.client.update({ ...pass, stringData: { key: 'rotated' }, data: undefined });
    await a.waitFor(() => (a.changes().includes('UPSERT Secret/shop/db-pass') ? true : undefined));
    await api.client.delete('Container', 'a-worker', 'shop');
    await a.waitFor(() => (a.changes().includes('DELETE Container/shop/a-worker') ? true : undefined));
    expect(a.changes()).not.toContain('UPSERT Container/shop/b-new');
    expect(b.changes()).toEqual(['DELETE Container/shop/b-web', 'DELETE Secret/shop/unused', 'UPSERT Container/shop/b-new']);
    expect(b.changes().join()).not.toMatch(/a-web|a-worker|db-pass/);
  });

  it("sends a ConfigMap only to the node of a Container that reads it, with its changes, and forgets it by key", async () => {
    const configMap = (name: string, data: Record<string, string>): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name, namespace: 'shop' }, data });
    await api.client.create(configMap('web-conf', { 'nginx.conf': 'server {}' }));
    await api.client.create(configMap('other-conf', { a: 'b' }));
    await api.client.create(secret('regcred-c', '{}'));
    await api.client.create({
      ...container('c-web', 'node-c'),
      spec: {
        image: 'busybox',
        nodeName: 'node-c',
        volumes: [{ mountPath: '/etc/nginx', configMap: { name: 'web-conf' } }],
        envFrom: [{ configMapRef: { name: 'web-conf' } }],
      },
    });
    await api.client.create({ ...container('d-web', 'node-d'), spec: { image: 'busybox', nodeName: 'node-d', envFrom: [{ configMapRef: { name: 'other-conf' } }] } });
    const c = await connected('node-c');
    const d = await connected('node-d');
    const desiredC = await c.desired();
    expect(names(desiredC)).toEqual(['ConfigMap/web-conf', 'Container/c-web']);
    // The config object comes before the workload that reads it.
    expect(desiredC.map((o) => o.kind)).toEqual(['ConfigMap', 'Container']);
    expect(desiredC[0]!.data).toEqual({ 'nginx.conf': 'server {}' });
    expect(names(await d.desired())).toEqual(['ConfigMap/other-conf', 'Container/d-web']);

    // A change of the referenced ConfigMap reaches node-c only; the unrelated one never reaches node-c.
    const conf = await api.client.get('ConfigMap', 'web-conf', 'shop');
    await api.client.update({ ...conf, data: { 'nginx.conf': 'server { listen 81; }' } });
    const other = await api.client.get('ConfigMap', 'other-conf', 'shop');
    await api.client.update({ ...other, data: { a: 'c' } });
    await c.waitFor(() => (c.changes().includes('UPSERT ConfigMap/shop/web-conf') ? true : undefined));
    await d.waitFor(() => (d.changes().includes('UPSERT ConfigMap/shop/other-conf') ? true : undefined));
    expect(c.changes()).toEqual(['UPSERT ConfigMap/shop/web-conf']);

    // Dropping the last reference sends a DELETE that carries only the key.
    await api.client.delete('Container', 'c-web', 'shop');
    await c.waitFor(() => (c.changes().includes('DELETE ConfigMap/shop/web-conf') ? true : undefined));
    expect(c.changes()).toEqual(['UPSERT ConfigMap/shop/web-conf', 'DELETE Container/shop/c-web', 'DELETE ConfigMap/shop/web-conf']);
    expect(d.changes().join()).not.toMatch(/web-conf|c-web|regcred/);
  });

  it('writes a reported status only when it differs, and ignores statuses of containers on other nodes', async () => {
    await api.client.create(container('st-mine', 'st-node'));
    await api.client.create(container('st-other', 'elsewhere'));
    const agent = await connected('st-node');
    await agent.desired();
    const report = (name: string, status: unknown) => {
      const obj: Resource = { apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name, namespace: 'shop' }, status };
      agent.send({ $case: 'status', value: { objects: [toWire(obj)] } });
    };
    report('st-mine', { phase: 'Running', containerId: 'abc', restartCount: 0 });
    const written = await eventually(() => api.client.get('Container', 'st-mine', 'shop'), (c) => c.status?.phase === 'Running');
    expect(written.status.containerId).toBe('abc');

    // The same status again must not write; a marker report afterwards proves the first was processed.
    report('st-mine', { phase: 'Running', containerId: 'abc', restartCount: 0 });
    report('st-other', { phase: 'Failed', message: 'not yours' });
    agent.heartbeat();
    await eventually(() => api.client.get('Lease', 'st-node', 'persys-node-lease').catch(() => undefined), (l) => !!l);
    expect((await api.client.get('Container', 'st-mine', 'shop')).metadata.resourceVersion).toBe(written.metadata.resourceVersion);
    expect((await api.client.get('Container', 'st-other', 'shop')).status).toBeUndefined();
    // The registry would also skip an identical write; the hub must not even get that far.
    const metrics = await (await fetch(`http://127.0.0.1:${api.server.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/persys_apiserver_agent_status_writes_total\{outcome="unchanged"\} 1\b/);
    expect(metrics).toMatch(/persys_apiserver_agent_status_writes_total\{outcome="written"\} 1\b/);
    expect(metrics).toMatch(/persys_apiserver_agent_status_writes_total\{outcome="ignored"\} 1\b/);

    report('st-mine', { phase: 'Failed', exitCode: 3 });
    await eventually(() => api.client.get('Container', 'st-mine', 'shop'), (c) => c.status?.phase === 'Failed');
  });

  it("renews the node's Lease on heartbeats without touching the Node; a Docker health change updates DockerReady once", async () => {
    const agent = await connected('hb-node');
    await agent.desired();
    const before = await api.client.get('Node', 'hb-node');
    agent.heartbeat(heartbeat({ dockerHealthy: true }));
    const first = await eventually(() => api.client.get('Lease', 'hb-node', 'persys-node-lease').catch(() => undefined), (l) => !!l);
    expect(first!.spec).toMatchObject({ holderIdentity: 'hb-node', leaseDurationSeconds: 40 });
    expect(first!.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Node', name: 'hb-node', uid: before.metadata.uid });
    const afterFirst = await api.client.get('Node', 'hb-node');
    expect(afterFirst.status.conditions.find((c: { type: string }) => c.type === 'DockerReady').status).toBe('True');

    for (let i = 0; i < 3; i++) {
      const prev = (await api.client.get('Lease', 'hb-node', 'persys-node-lease')).metadata.resourceVersion;
      agent.heartbeat(heartbeat({ dockerHealthy: true }));
      await eventually(() => api.client.get('Lease', 'hb-node', 'persys-node-lease'), (l) => l.metadata.resourceVersion !== prev);
    }
    expect((await api.client.get('Node', 'hb-node')).metadata.resourceVersion).toBe(afterFirst.metadata.resourceVersion);

    agent.heartbeat(heartbeat({ dockerHealthy: false, dockerMessage: 'engine down' }));
    const down = await eventually(
      () => api.client.get('Node', 'hb-node'),
      (n) => n.status.conditions.find((c: { type: string }) => c.type === 'DockerReady').status === 'False',
    );
    expect(down.status.conditions.find((c: { type: string }) => c.type === 'DockerReady').message).toBe('engine down');
    const prevLease = (await api.client.get('Lease', 'hb-node', 'persys-node-lease')).metadata.resourceVersion;
    agent.heartbeat(heartbeat({ dockerHealthy: false, dockerMessage: 'engine down' }));
    await eventually(() => api.client.get('Lease', 'hb-node', 'persys-node-lease'), (l) => l.metadata.resourceVersion !== prevLease);
    expect((await api.client.get('Node', 'hb-node')).metadata.resourceVersion).toBe(down.metadata.resourceVersion);
  });

  it('keeps heartbeat usage in memory for top', async () => {
    const agent = await connected('top-node');
    await agent.desired();
    agent.heartbeat(heartbeat({ containers: [{ uid: 'u', namespace: 'shop', name: 'c1', cpuPercent: 1.5, memoryBytes: '2048', memoryLimitBytes: '0', networkRxBytesPerSecond: '0', networkTxBytesPerSecond: '0', healthResponseTimeMs: 0 }] }));
    await eventually(async () => api.server.agents.top('nodes').nodes.find((n) => n.name === 'top-node'), (n) => !!n?.lastHeartbeatTime);
    const node = api.server.agents.top('nodes').nodes.find((n) => n.name === 'top-node')!;
    expect(node.usage?.cpuPercent).toBe(12.5);
    expect(node.allocatable).toEqual({ cpu: '3900m', memory: '7936Mi' });
    expect(api.server.agents.top('containers', 'shop').containers.map((c) => c.name)).toContain('c1');
    expect(api.server.agents.top('containers', 'other').containers).toEqual([]);
  });

  it('replaces an older stream of the same node with a newer one', async () => {
    const creds = await joinAsNode(api, caPem, 'twice');
    const first = await connected('twice', creds);
    await first.desired();
    const second = await connected('twice', creds);
    await second.desired();
    const err = await first.ended;
    expect(err?.code).toBe(Code.ABORTED);
    expect(api.server.agents.connectedNodes()).toContain('twice');
  });
  it('sends every Service and Node (trimmed) to an agent that asks for service discovery, and follows them; none to one that does not', async () => {
    const svc = (name: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }] } });
    await api.client.create(svc('names'));
    const plain = await connected('no-dns');
    const dns = new TestAgent(api, await joinAsNode(api, caPem, 'with-dns'));
    agents.push(dns);
    dns.hello(nodeInfo(), true);
    const got = await dns.desired();
    expect(got.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toContain('names');
    expect(got.find((o) => o.kind === 'Service')?.status).toBeUndefined();
    const other = await eventually(async () => (await dns.desired()).find((o) => o.kind === 'Node' && o.metadata.name === 'no-dns'), (n) => !!n);
    expect(other!.status).toEqual({ addresses: [{ type: 'InternalIP', address: '10.0.0.7' }] });
    expect((await plain.desired()).filter((o) => ['Service', 'EndpointSlice', 'Node'].includes(o.kind))).toEqual([]);

    await api.client.create(svc('later'));
    const later = (await api.client.get('Service', 'later', 'shop')) as Resource;
    await api.client.updateStatus({ ...later, status: { readyEndpoints: 2, totalEndpoints: 2 } });
    await api.client.delete('Service', 'later', 'shop');
    const changes = await eventually(async () => dns.changes().filter((c) => c.includes('Service/shop/later')), (c) => c.length >= 2);
    expect(changes).toEqual(['UPSERT Service/shop/later', 'DELETE Service/shop/later']);
    expect(plain.changes().filter((c) => c.includes('Service/'))).toEqual([]);
  });
});
