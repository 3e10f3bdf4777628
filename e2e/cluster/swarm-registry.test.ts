// A SwarmService of a private image on a cluster of real processes over two Docker engines (issue 12,
// Done when): the swarm controller reads the service's imagePullSecret, the API server relays the
// credentials to the manager's agent, and Docker pulls the image on both engines. A missing Secret is
// reported in the service's status. No password reaches a log, an Event or a status.
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerConfigJson } from '../../lib/registry/credentials.js';
import type { Resource } from '../../lib/api/resource.js';
import { eventually, TestCluster } from '../harness/cluster.js';
import type { SecondDocker } from '../harness/docker.js';
import { startEnginePair, type EnginePair } from '../harness/engine-pair.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';

const NODE_A = 'psr-node-a';
const NODE_B = 'psr-node-b';
const USER = { username: 'swarm-puller', password: 'Sw4rm-pull-pw' };

let cluster: TestCluster;
let a: SecondDocker;
let b: SecondDocker;
let registry: TestRegistry;
let image = '';
let pair: EnginePair | undefined;

beforeAll(async () => {
  registry = await startRegistry({ auth: USER, listenHost: '0.0.0.0' });
  await registry.push('private/busybox', 'v1');
  // Swarm tasks must pull: neither engine has the private image.
  pair = await startEnginePair({ prefix: 'psr', forwardingComment: 'persys-e2e-swreg', engine: { swarmPrefersOfflineImages: false } });
  ({ a, b, cluster } = pair);
  // One reference for the whole swarm: B reaches A's end of the veth pair too (an address of this machine).
  image = `${a.hostAddress}:${registry.port}/private/busybox:v1`;
}, 240_000);

afterAll(async () => {
  await pair?.stop();
  await registry?.stop();
}, 180_000);

const get = (kind: string, name: string, namespace = 'default'): Promise<Resource> => cluster.client.get(kind, name, namespace);
const condition = (obj: Resource, type: string) => ((obj.status?.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[]).find((c) => c.type === type);

async function runningTaskNodes(manager: Dockerode, serviceName: string): Promise<string[]> {
  const tasks = (await manager.listTasks({ filters: { service: [serviceName], 'desired-state': ['running'] } })) as { NodeID: string; Status: { State: string } }[];
  return tasks.filter((t) => t.Status.State === 'running').map((t) => t.NodeID).sort();
}

describe('a SwarmService of a private image', () => {
  it('pulls the image with the imagePullSecret on both engines and runs a task on each', async () => {
    const roles = `apiVersion: persys.dev/v1\nkind: Node\nmetadata: {name: ${NODE_A}}\nspec: {swarm: {role: manager}}\n---\napiVersion: persys.dev/v1\nkind: Node\nmetadata: {name: ${NODE_B}}\nspec: {swarm: {role: worker}}\n`;
    const applied = await cluster.persys(['apply', '-f', '-'], roles);
    expect(applied.code, `${applied.stderr}\n${cluster.logs()}`).toBe(0);
    const nodeA = await eventually('node A to manage the swarm', () => get('Node', NODE_A, ''), (n) => n.status?.swarm?.role === 'manager' && !!n.status.swarm.nodeId, 90_000);
    const joinedB = await eventually('node B to join as a worker', () => get('Node', NODE_B, ''), (n) => n.status?.swarm?.role === 'worker' && n.status.swarm.state === 'ready', 90_000);

    await cluster.client.create({
      apiVersion: 'persys.dev/v1',
      kind: 'Secret',
      metadata: { name: 'regcred', namespace: 'default' },
      type: 'persys.dev/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(dockerConfigJson(`${a.hostAddress}:${registry.port}`, USER.username, USER.password)).toString('base64') },
    });
    await cluster.client.create({
      apiVersion: 'persys.dev/v1',
      kind: 'SwarmService',
      metadata: { name: 'private', namespace: 'default' },
      spec: { image, command: ['sleep', '3600'], mode: 'global', imagePullSecrets: [{ name: 'regcred' }] },
    });
    const nodes = await eventually('a running task on each engine', () => runningTaskNodes(a.docker, 'default_private'), (t) => t.length === 2, 120_000);
    expect(nodes).toEqual([nodeA.status!.swarm.nodeId, joinedB.status!.swarm.nodeId].sort());
    const svc = await eventually('status 2/2', () => get('SwarmService', 'private'), (s) => s.status?.runningTasks === 2 && s.status?.desiredTasks === 2, 60_000);
    expect(condition(svc, 'PullSecrets')).toMatchObject({ status: 'True', reason: 'CredentialsFound', message: `credentials for ${a.hostAddress}:${registry.port} from Secret "regcred"` });
    // Each engine pulled for itself: the image is on both, and the registry served the manifest to both.
    for (const e of [a, b]) expect((await e.docker.listImages({ filters: { reference: [image] } })).length).toBe(1);
    const served = registry.requests().filter((r) => r.method === 'GET' && r.status === 200 && r.path.startsWith('/v2/private/busybox/manifests/'));
    expect(served.length).toBeGreaterThanOrEqual(2);
  }, 360_000);

  it('says in its status and an Event that a named imagePullSecret does not exist', async () => {
    await cluster.client.create({
      apiVersion: 'persys.dev/v1',
      kind: 'SwarmService',
      metadata: { name: 'nocred', namespace: 'default' },
      spec: { image, command: ['sleep', '3600'], replicas: 1, imagePullSecrets: [{ name: 'nope' }] },
    });
    const svc = await eventually('the PullSecrets condition', () => get('SwarmService', 'nocred'), (s) => condition(s, 'PullSecrets')?.status === 'False', 60_000);
    expect(condition(svc, 'PullSecrets')).toMatchObject({ reason: 'PullSecretNotFound', message: `Secret "nope" not found; no imagePullSecret has credentials for ${a.hostAddress}:${registry.port}; pulling without` });
    const events = (await cluster.client.list('Event', { namespace: 'default' })).items;
    expect(events.some((e) => e['reason'] === 'PullSecretNotFound' && (e['involvedObject'] as { name: string }).name === 'nocred')).toBe(true);
  }, 90_000);

  it('never puts the password in a log, an Event or a status', async () => {
    const events = (await cluster.client.list('Event', { namespace: 'default' })).items;
    const services = (await cluster.client.list('SwarmService', { namespace: 'default' })).items;
    const auth = Buffer.from(USER.password).toString('base64');
    for (const text of [cluster.logs(), JSON.stringify(events), JSON.stringify(services.map((s) => s.status))]) {
      expect(text).not.toContain(USER.password);
      expect(text).not.toContain(auth);
    }
  });
});
