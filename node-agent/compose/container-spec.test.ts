// The Docker create request and labels the agent builds for a Compose service replica.
import { describe, expect, it } from 'vitest';
import { COMPOSE_LABELS, type ComposeProject, type ComposeService } from '../../lib/compose/model.js';
import { LABEL_UID } from '../docker/labels.js';
import { containerPlan, restartPolicy } from './container-spec.js';
import { LABEL_STACK_UID, networkLabels, volumeLabels } from './labels.js';

const id = { namespace: 'ns', name: 'shop', uid: 'uid-1', node: 'n1' };

const api: ComposeService = {
  name: 'api',
  image: 'persys/busybox:test',
  pullPolicy: 'missing',
  fileMounts: [],
  entrypoint: ['sh', '-c'],
  command: ['httpd -f -p 8080'],
  environment: { MODE: 'prod', URL: 'http://db:5432' },
  ports: [
    { target: 8080, published: 18080, protocol: 'tcp' },
    { target: 53, protocol: 'udp', hostIp: '127.0.0.1' },
  ],
  volumes: [
    { type: 'volume', source: 'data', target: '/data', readOnly: false },
    { type: 'bind', source: '/etc/hosts', target: '/host-hosts', readOnly: true },
    { type: 'volume', target: '/cache', readOnly: false },
  ],
  healthcheck: { test: ['CMD-SHELL', 'wget -q localhost:8080'], intervalMs: 1500, timeoutMs: 1000, retries: 3, startPeriodMs: 500 },
  restart: 'on-failure:4',
  labels: { team: 'a' },
  replicas: 2,
  resources: { nanoCpus: 500_000_000, memoryBytes: 64 << 20, memoryReservationBytes: 32 << 20 },
  dependsOn: [{ service: 'db', condition: 'service_healthy' }],
  networks: [
    { key: 'default', aliases: [] },
    { key: 'back', aliases: ['api-internal'] },
  ],
  workingDir: '/srv',
  user: '1000',
  hostname: 'api-host',
  configHash: 'cafe',
};

const project: ComposeProject = {
  name: 'shop',
  services: [api],
  networks: [
    { key: 'default', name: 'shop_default', external: false, labels: {} },
    { key: 'back', name: 'shop_back', external: false, labels: { tier: 'back' } },
  ],
  volumes: [{ key: 'data', name: 'shop_data', external: false, labels: {} }],
};

describe('containerPlan', () => {
  const plan = containerPlan(project, api, 2, id, 'sha256:abc');
  const body = plan.body as Record<string, any>;

  it('names the container PROJECT-SERVICE-N', () => {
    expect(plan.name).toBe('shop-api-2');
  });

  it("labels it as Compose does, with persys's stack labels and never dev.persys.uid", () => {
    expect(body.Labels).toMatchObject({
      team: 'a',
      [COMPOSE_LABELS.project]: 'shop',
      [COMPOSE_LABELS.service]: 'api',
      [COMPOSE_LABELS.containerNumber]: '2',
      [COMPOSE_LABELS.configHash]: 'cafe',
      [COMPOSE_LABELS.oneoff]: 'False',
      [COMPOSE_LABELS.image]: 'sha256:abc',
      [COMPOSE_LABELS.version]: '2.20.2',
      [COMPOSE_LABELS.dependsOn]: 'db:service_healthy:false',
      [COMPOSE_LABELS.configFiles]: 'persys:ns/shop',
      [COMPOSE_LABELS.workingDir]: '/',
      [LABEL_STACK_UID]: 'uid-1',
      'dev.persys.node': 'n1',
      'dev.persys.namespace': 'ns',
      'dev.persys.name': 'shop',
      'dev.persys.kind': 'ComposeStack',
    });
    expect(body.Labels).not.toHaveProperty(LABEL_UID);
  });

  it('joins the first network at create with the service name as alias and connects the rest before start', () => {
    expect(body.HostConfig.NetworkMode).toBe('shop_default');
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { shop_default: { Aliases: ['api'] } } });
    expect(plan.connect).toEqual([{ network: 'shop_back', aliases: ['api', 'api-internal'] }]);
  });

  it('publishes ports, mounts volumes by their Docker names and binds host paths', () => {
    expect(body.ExposedPorts).toEqual({ '8080/tcp': {}, '53/udp': {} });
    expect(body.HostConfig.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '', HostPort: '18080' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    });
    expect(body.HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: 'shop_data', Target: '/data', ReadOnly: false },
      { Type: 'bind', Source: '/etc/hosts', Target: '/host-hosts', ReadOnly: true },
      { Type: 'volume', Target: '/cache', ReadOnly: false },
    ]);
  });

  it('carries env, entrypoint, command, healthcheck in nanoseconds, restart policy and resources', () => {
    expect(body.Env).toEqual(['MODE=prod', 'URL=http://db:5432']);
    expect(body.Entrypoint).toEqual(['sh', '-c']);
    expect(body.Cmd).toEqual(['httpd -f -p 8080']);
    expect(body.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'wget -q localhost:8080'],
      Interval: 1_500_000_000,
      Timeout: 1_000_000_000,
      Retries: 3,
      StartPeriod: 500_000_000,
    });
    expect(body.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 4 });
    expect(body.HostConfig).toMatchObject({ NanoCpus: 500_000_000, Memory: 64 << 20, MemoryReservation: 32 << 20 });
    expect(body).toMatchObject({ WorkingDir: '/srv', User: '1000', Hostname: 'api-host', Image: 'persys/busybox:test' });
  });

  it("sends names outside the stack to the agent's DNS server, with the namespace's search list, when it runs", () => {
    expect(body.HostConfig.Dns).toBeUndefined();
    const withDns = containerPlan(project, api, 2, id, 'sha256:abc', new Map(), '172.17.0.1').body as Record<string, any>;
    expect(withDns.HostConfig).toMatchObject({ Dns: ['172.17.0.1'], DnsSearch: ['ns.svc.persys.local', 'svc.persys.local', 'persys.local'], DnsOptions: ['ndots:5'] });
  });
});

describe('restartPolicy', () => {
  it.each([
    ['no', { Name: '' }],
    ['', { Name: '' }],
    ['always', { Name: 'always' }],
    ['unless-stopped', { Name: 'unless-stopped' }],
    ['on-failure', { Name: 'on-failure' }],
    ['on-failure:3', { Name: 'on-failure', MaximumRetryCount: 3 }],
  ])('maps %j to %j', (restart, policy) => {
    expect(restartPolicy(restart)).toEqual(policy);
  });
});

describe('network and volume labels', () => {
  it('carry Compose keys, the project and the stack, without dev.persys.uid', () => {
    const n = networkLabels(project, project.networks[1]!, id);
    expect(n).toMatchObject({ tier: 'back', 'com.docker.compose.network': 'back', 'com.docker.compose.project': 'shop', 'dev.persys.name': 'shop' });
    const v = volumeLabels(project, project.volumes[0]!, id);
    expect(v).toMatchObject({ 'com.docker.compose.volume': 'data', 'com.docker.compose.project': 'shop', [LABEL_STACK_UID]: 'uid-1' });
    expect({ ...n, ...v }).not.toHaveProperty(LABEL_UID);
  });
});
