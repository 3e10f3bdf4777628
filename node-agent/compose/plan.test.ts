// Table tests of the compose planner: observed Docker state + project → actions and service states.
import { describe, expect, it } from 'vitest';
import type { ComposeProject, ComposeService } from '../../lib/compose/model.js';
import type { ObservedContainer, ObservedObject, ObservedStack } from './observed.js';
import { planDelete, planStack, RESTART_DELAY_MS, startOrder, type ComposeAction, type PlanInput } from './plan.js';

const IMAGE = 'persys/busybox:test';
const NOW = 1_700_000_000_000;
const KEY = 'ns/shop';
const UID = 'uid-1';

function svc(name: string, o: Partial<ComposeService> = {}): ComposeService {
  return {
    name,
    image: IMAGE,
    pullPolicy: 'missing',
    environment: {},
    ports: [],
    volumes: [],
    fileMounts: [],
    restart: 'no',
    labels: {},
    replicas: 1,
    resources: {},
    dependsOn: [],
    networks: [{ key: 'default', aliases: [] }],
    configHash: `hash-${name}`,
    ...o,
  };
}

/** web → api → db, db with a healthcheck gating api, and a named volume on db. */
function shop(o: { db?: Partial<ComposeService>; api?: Partial<ComposeService>; web?: Partial<ComposeService> } = {}): ComposeProject {
  return {
    name: 'shop',
    services: [
      svc('web', { dependsOn: [{ service: 'api', condition: 'service_started' }], ...o.web }),
      svc('api', { dependsOn: [{ service: 'db', condition: 'service_healthy' }], ...o.api }),
      svc('db', {
        healthcheck: { test: ['CMD', 'true'], intervalMs: 1000 },
        volumes: [{ type: 'volume', source: 'data', target: '/data', readOnly: false }],
        ...o.db,
      }),
    ],
    networks: [{ key: 'default', name: 'shop_default', external: false, labels: {} }],
    volumes: [{ key: 'data', name: 'shop_data', external: false, labels: {} }],
  };
}

function ctr(service: string, number: number, o: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `${service}-${number}-id`,
    name: `shop-${service}-${number}`,
    project: 'shop',
    service,
    number,
    configHash: `hash-${service}`,
    stackUid: UID,
    state: 'running',
    exitCode: 0,
    ...o,
  };
}

const net: ObservedObject = { id: 'net-1', name: 'shop_default', project: 'shop', owner: KEY, stackUid: UID };
const vol: ObservedObject = { id: 'shop_data', name: 'shop_data', project: 'shop', owner: KEY, stackUid: UID };

function observed(containers: ObservedContainer[], o: Partial<ObservedStack> = {}): ObservedStack {
  return { containers, networks: [net], volumes: [vol], images: { [IMAGE]: 'sha256:abc' }, ...o };
}

const allUp = () => [ctr('db', 1, { health: 'healthy' }), ctr('api', 1), ctr('web', 1)];

function plan(project: ComposeProject, obs: ObservedStack, o: Partial<PlanInput> = {}) {
  return planStack({ key: KEY, uid: UID, node: 'n1', project, observed: obs, now: NOW, ...o });
}

/** Actions in a compact, comparable form. */
function brief(actions: ComposeAction[]): string[] {
  return actions.map((a) => {
    switch (a.type) {
      case 'createContainer':
        return `create ${a.service}-${a.number}`;
      case 'createNetwork':
        return `create network ${a.network.name}`;
      case 'createVolume':
        return `create volume ${a.volume.name}`;
      case 'removeVolume':
        return `remove volume ${a.name}`;
      case 'removeNetwork':
        return `remove network ${a.name}`;
      case 'removeContainer':
        return `remove ${a.name}`;
      case 'startContainer':
        return `start ${a.name}`;
    }
  });
}

const reasonOf = (p: ReturnType<typeof plan>, name: string) => p.services.find((s) => s.name === name)!.reason;

describe('planStack', () => {
  it('on an empty engine creates the network and volume, then only the services without dependencies', () => {
    const p = plan(shop(), observed([], { networks: [], volumes: [] }));
    expect(brief(p.actions)).toEqual(['create network shop_default', 'create volume shop_data', 'create db-1']);
    expect(reasonOf(p, 'api')).toBe('waiting for db to be healthy');
    expect(reasonOf(p, 'web')).toBe('waiting for api to start');
    expect(p.services.some((s) => s.trouble)).toBe(false);
    expect(p.requeueAfterMs).toBeGreaterThan(0);
  });

  it('does not start api while db is running but its healthcheck is still starting', () => {
    const p = plan(shop(), observed([ctr('db', 1, { health: 'starting' })]));
    expect(p.actions).toEqual([]);
    expect(reasonOf(p, 'api')).toBe('waiting for db to be healthy');
    expect(reasonOf(p, 'db')).toBe('waiting for shop-db-1 to be healthy');
    expect(p.requeueAfterMs).toBeGreaterThan(0);
  });

  it('creates api once db is healthy, and web once api has started', () => {
    expect(brief(plan(shop(), observed([ctr('db', 1, { health: 'healthy' })])).actions)).toEqual(['create api-1']);
    const p = plan(shop(), observed([ctr('db', 1, { health: 'healthy' }), ctr('api', 1)]));
    expect(brief(p.actions)).toEqual(['create web-1']);
  });

  it('reports an unhealthy dependency as trouble and does not start the dependent', () => {
    const p = plan(shop(), observed([ctr('db', 1, { health: 'unhealthy' })]));
    expect(p.actions).toEqual([]);
    const api = p.services.find((s) => s.name === 'api')!;
    expect(api.reason).toBe('waiting for db to be healthy: shop-db-1 is unhealthy');
    expect(api.trouble).toBe(true);
  });

  it('names a service_healthy dependency that has no healthcheck', () => {
    const p = plan(shop({ db: { healthcheck: undefined } }), observed([ctr('db', 1)]));
    expect(brief(p.actions)).toEqual([]);
    expect(reasonOf(p, 'api')).toBe('api waits for db to be healthy, but db has no healthcheck');
  });

  it('honours service_completed_successfully: exit 0 lets the dependent start, another code is trouble', () => {
    const project: ComposeProject = {
      ...shop(),
      services: [svc('migrate'), svc('app', { dependsOn: [{ service: 'migrate', condition: 'service_completed_successfully' }] })],
    };
    const ok = plan(project, observed([ctr('migrate', 1, { state: 'exited', exitCode: 0, finishedAt: NOW - 1 })]));
    expect(brief(ok.actions)).toEqual(['create app-1']);
    expect(ok.services.find((s) => s.name === 'migrate')!.ready).toBe(true);
    const bad = plan(project, observed([ctr('migrate', 1, { state: 'exited', exitCode: 3, finishedAt: NOW - 1 })]));
    expect(brief(bad.actions)).toEqual([]);
    expect(reasonOf(bad, 'app')).toBe('migrate did not complete successfully: shop-migrate-1 exited with code 3');
  });

  it('does nothing when every container runs with its current configuration', () => {
    const p = plan(shop(), observed(allUp()));
    expect(p.actions).toEqual([]);
    expect(p.services.map((s) => [s.name, s.ready, s.running, s.healthy])).toEqual([
      ['web', true, 1, 1],
      ['api', true, 1, 1],
      ['db', true, 1, 1],
    ]);
    expect(p.requeueAfterMs).toBeUndefined();
  });

  it('recreates only the service whose config hash changed', () => {
    const p = plan(shop({ api: { configHash: 'hash-api-v2' } }), observed(allUp()));
    expect(brief(p.actions)).toEqual(['remove shop-api-1', 'create api-1']);
  });

  it('keeps the old container running when its replacement cannot be made (image missing)', () => {
    const p = plan(shop({ api: { configHash: 'v2', image: 'persys/none:missing' } }), {
      ...observed(allUp()),
      images: { [IMAGE]: 'sha256:abc', 'persys/none:missing': null },
    });
    expect(p.actions).toEqual([]);
    const api = p.services.find((s) => s.name === 'api')!;
    expect(api).toMatchObject({ running: 1, ready: false, trouble: true, reason: 'image persys/none:missing is not present on node n1' });
  });

  it('reports a missing image instead of trying to create the container', () => {
    const p = plan(shop({ db: { image: 'persys/none:missing' } }), observed([], { images: { [IMAGE]: 'sha256:abc', 'persys/none:missing': null } }));
    expect(brief(p.actions)).toEqual([]);
    expect(reasonOf(p, 'db')).toBe('image persys/none:missing is not present on node n1');
  });

  it('scales up by adding the next numbers', () => {
    const p = plan(shop({ web: { replicas: 3 } }), observed(allUp()));
    expect(brief(p.actions)).toEqual(['create web-2', 'create web-3']);
  });

  it('scales down by removing the highest numbers first', () => {
    const p = plan(shop({ web: { replicas: 1 } }), observed([...allUp(), ctr('web', 2), ctr('web', 3)]));
    expect(brief(p.actions)).toEqual(['remove shop-web-3', 'remove shop-web-2']);
  });

  it('creates a container removed by hand again under its number', () => {
    const p = plan(shop({ web: { replicas: 3 } }), observed([...allUp(), ctr('web', 3)]));
    expect(brief(p.actions)).toEqual(['create web-2']);
  });

  it('starts a container that was created but never started', () => {
    const p = plan(shop(), observed([ctr('db', 1, { health: 'healthy' }), ctr('api', 1, { state: 'created' }), ctr('web', 1)]));
    expect(brief(p.actions)).toEqual(['start shop-api-1']);
  });

  it.each([
    ['always', 137, NOW - 1, ['start shop-web-1'], false],
    ['unless-stopped', 0, NOW - 1, ['start shop-web-1'], false],
    ['no', 0, NOW - 1, [], true],
    ['on-failure', 0, NOW - 1, [], true],
    ['no', 1, NOW - 1_000, [], false],
    ['no', 1, NOW - RESTART_DELAY_MS - 1, ['start shop-web-1'], false],
  ] as const)('restart %s, exited with %i: actions %j, ready %s', (restart, exitCode, finishedAt, actions, ready) => {
    const p = plan(
      shop({ web: { restart } }),
      observed([ctr('db', 1, { health: 'healthy' }), ctr('api', 1), ctr('web', 1, { state: 'exited', exitCode, finishedAt })]),
    );
    expect(brief(p.actions)).toEqual(actions);
    expect(p.services.find((s) => s.name === 'web')!.ready).toBe(ready);
  });

  it('waits out the restart delay of a crashed restart:no container with a requeue', () => {
    const p = plan(shop(), observed([ctr('db', 1, { health: 'healthy' }), ctr('api', 1), ctr('web', 1, { state: 'exited', exitCode: 1, finishedAt: NOW - 4_000 })]));
    expect(p.requeueAfterMs).toBe(RESTART_DELAY_MS - 4_000);
    expect(reasonOf(p, 'web')).toBe('shop-web-1 exited with code 1');
  });

  it('reports a missing external network and volume without creating them', () => {
    const project: ComposeProject = {
      ...shop(),
      networks: [{ key: 'default', name: 'corp', external: true, labels: {} }],
      volumes: [{ key: 'data', name: 'corp_data', external: true, labels: {} }],
    };
    const p = plan(project, observed([], { networks: [], volumes: [] }));
    expect(brief(p.actions)).toEqual([]);
    expect(reasonOf(p, 'db')).toBe('external network corp not found on node n1');
    const noVolume = plan({ ...project, networks: [{ key: 'default', name: 'corp', external: true, labels: {} }] }, observed([], { networks: [{ id: 'c', name: 'corp' }], volumes: [] }));
    expect(reasonOf(noVolume, 'db')).toBe('external volume corp_data not found on node n1');
  });

  it('does not use a network that belongs to another stack', () => {
    const p = plan(shop(), observed([], { networks: [{ ...net, owner: 'other/shop' }] }));
    expect(brief(p.actions)).toEqual([]);
    expect(reasonOf(p, 'db')).toBe('network shop_default belongs to stack other/shop');
  });

  it('removes its own networks the project no longer names, after the containers', () => {
    const project = { ...shop(), services: [svc('db', { healthcheck: { test: ['CMD', 'true'] } })] };
    const p = plan(project, observed([ctr('db', 1, { health: 'healthy' }), ctr('web', 1)], { networks: [net, { ...net, id: 'n2', name: 'shop_back' }] }));
    expect(brief(p.actions)).toEqual(['remove shop-web-1', 'remove network shop_back']);
  });

  it('removes containers of a renamed project and recreates those of an older stack incarnation', () => {
    const p = plan(shop(), observed([ctr('db', 1, { health: 'healthy', project: 'oldname' }), ctr('db', 1, { id: 'x', health: 'healthy', stackUid: 'uid-0' })]));
    expect(brief(p.actions)).toEqual(['remove shop-db-1', 'remove shop-db-1', 'create db-1']);
  });

  it('shows the last failed action as the reason but tries again', () => {
    const p = plan(shop(), observed([]), { failures: { db: 'create db number 1 failed: port is already allocated' } });
    expect(brief(p.actions)).toEqual(['create db-1']);
    expect(p.services.find((s) => s.name === 'db')).toMatchObject({ reason: 'create db number 1 failed: port is already allocated', trouble: true });
  });
});

describe('startOrder', () => {
  it('puts every dependency before its dependents and keeps file order otherwise', () => {
    expect(startOrder(shop().services).map((s) => s.name)).toEqual(['db', 'api', 'web']);
    expect(startOrder([svc('a'), svc('b')]).map((s) => s.name)).toEqual(['a', 'b']);
  });
});

describe('planDelete', () => {
  const obs = observed(allUp(), { networks: [net, { ...net, id: 'n9', name: 'foreign', owner: 'other/x' }], volumes: [vol] });

  it('removes containers and its own networks and keeps volumes', () => {
    expect(brief(planDelete(obs, KEY, false))).toEqual(['remove shop-db-1', 'remove shop-api-1', 'remove shop-web-1', 'remove network shop_default']);
  });

  it('removes its volumes too when asked', () => {
    expect(brief(planDelete(obs, KEY, true))).toContain('remove volume shop_data');
  });
});
