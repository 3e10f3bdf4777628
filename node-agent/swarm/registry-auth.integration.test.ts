// SwarmEngine passing registry credentials to the swarm (X-Registry-Auth on service create and update),
// against a real engine in its own network namespace and a real registry with htpasswd auth.
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSecondDocker, type SecondDocker } from '../../e2e/harness/docker.js';
import { startRegistry, type TestRegistry } from '../../e2e/harness/registry.js';
import type { SwarmResponse } from '../../lib/gen/persys/v1/agent.js';
import type { DeepPartial, SwarmService, SwarmServiceStatus } from '../../lib/gen/persys/v1/workloads.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { encodeRegistryAuth } from '../../lib/registry/credentials.js';
import { SwarmEngine } from './engine.js';
import { EngineGuard } from '../../lib/docker/engine-guard.js';

const NODE = 'swr-node';
const NS = 'reg';
const TEST_TIMEOUT = 150_000;
const CONVERGE = { timeout: 120_000, interval: 1_000 };
const USER = { username: 'puller', password: 'pull-me-9' };

describe('SwarmEngine with registry credentials (needs root: a network namespace)', () => {
  let second: SecondDocker;
  let docker: Dockerode;
  let engine: SwarmEngine;
  let registry: TestRegistry;
  let image: string;
  let auth: string;

  const apply = async (svc: DeepPartial<SwarmService>, registryAuth = ''): Promise<SwarmServiceStatus> => {
    const res: SwarmResponse = await engine.handle({ node: NODE, operation: { $case: 'applyService', value: svc as SwarmService }, registryAuth }, AbortSignal.timeout(60_000));
    if (!res.service) throw new Error('applyService answered without a service status');
    return res.service;
  };
  // The engine asks HEAD by tag, then GET by digest: any manifest served is a pull with credentials.
  const manifestsServed = () => registry.requests().filter((r) => r.path.startsWith('/v2/private/busybox/manifests/') && r.status === 200 && r.method === 'GET').length;
  /** Manifests served by the pushes themselves, before any engine pulled. */
  let pushed = 0;
  const service = (name: string, uid: string, spec: DeepPartial<SwarmService>['spec']): DeepPartial<SwarmService> => ({
    apiVersion: 'persys.dev/v1',
    kind: 'SwarmService',
    metadata: { name, namespace: NS, uid },
    spec,
  });

  beforeAll(async () => {
    registry = await startRegistry({ auth: USER, listenHost: '0.0.0.0' });
    await registry.push('private/busybox', 'v1');
    await registry.push('private/busybox', 'v2');
    pushed = manifestsServed();
    // Swarm tasks must pull here: the engine does not have the image.
    second = await startSecondDocker('swr-eng1', { swarmPrefersOfflineImages: false });
    docker = second.docker;
    engine = new SwarmEngine({ docker, guard: new EngineGuard({ node: NODE }), logger: silentLogger(), pruneGraceMs: 0 });
    await engine.handle({ node: NODE, operation: { $case: 'init', value: { advertiseAddr: second.address, defaultAddrPool: ['10.242.0.0/16'] } }, registryAuth: '' }, AbortSignal.timeout(60_000));
    // The engine reaches this machine's registry at its end of the veth pair.
    const server = `${second.hostAddress}:${registry.port}`;
    image = `${server}/private/busybox:v1`;
    auth = encodeRegistryAuth({ serveraddress: server, ...USER });
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await docker?.swarmLeave({ force: true }).catch(() => undefined);
    await second?.stop();
    await registry?.stop();
  }, TEST_TIMEOUT);

  it('without credentials, the tasks of a private image fail because the image could not be pulled', async () => {
    const anon = service('anon', 'uid-anon', { image, command: ['sleep', '3600'], replicas: 1 });
    const status = await vi.waitFor(async () => {
      const s = await apply(anon);
      expect(s.taskErrors.join('\n')).toContain('No such image');
      return s;
    }, CONVERGE);
    expect(status.runningTasks).toBe(0);
    expect(status.taskErrors.join('\n')).toContain(image);
    // The engine did try: the registry asked for credentials it did not have.
    expect(registry.requests().some((r) => r.path === '/v2/' && r.status === 401)).toBe(true);
    expect(manifestsServed()).toBe(pushed);
    expect(await docker.listImages({ filters: { reference: [image] } })).toEqual([]);
  }, TEST_TIMEOUT);

  it('sends the credentials with an update: the failing service, updated with them, pulls and runs', async () => {
    const updated = service('anon', 'uid-anon', { image, command: ['sleep', '3601'], replicas: 1 });
    await vi.waitFor(async () => expect(await apply(updated, auth)).toMatchObject({ desiredTasks: 1, runningTasks: 1 }), CONVERGE);
    expect(manifestsServed()).toBeGreaterThan(pushed);
  }, TEST_TIMEOUT);

  it('sends the credentials with a create: a new service of a tag the node lacks pulls it and runs its tasks', async () => {
    const v2 = image.replace(/:v1$/, ':v2');
    const svc = service('private', 'uid-private', { image: v2, command: ['sleep', '3600'], replicas: 2 });
    await vi.waitFor(async () => expect(await apply(svc, auth)).toMatchObject({ desiredTasks: 2, runningTasks: 2, taskErrors: [] }), CONVERGE);
    expect(registry.requests().some((r) => r.path === '/v2/private/busybox/manifests/v2' && r.status === 200)).toBe(true);
  }, TEST_TIMEOUT);
});

