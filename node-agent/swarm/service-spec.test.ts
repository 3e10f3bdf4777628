// desiredService: how a SwarmService becomes a Docker ServiceSpec, and when its spec hash changes.
import { describe, expect, it } from 'vitest';
import type { DeepPartial, SwarmService, SwarmServiceSpec } from '../../lib/gen/persys/v1/workloads.js';
import { InvalidSwarmServiceError } from './errors.js';
import { desiredService, dockerServiceName, swarmNetworkName } from './service-spec.js';

function svc(spec: DeepPartial<SwarmServiceSpec>, meta: Record<string, unknown> = {}): DeepPartial<SwarmService> {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'SwarmService',
    metadata: { name: 'api', namespace: 'shop', uid: 'uid-1', generation: 1, resourceVersion: '10', ...meta },
    spec: { image: 'persys/busybox:test', ...spec },
  };
}

describe('desiredService', () => {
  it('names the Docker service NAMESPACE_NAME and labels it with kind, namespace, name, owner uid and spec hash', () => {
    const d = desiredService(svc({ labels: { team: 'a' } }));
    expect(d.name).toBe('shop_api');
    expect(d.spec.Name).toBe('shop_api');
    expect(d.spec.Labels).toEqual({
      team: 'a',
      'dev.persys.kind': 'SwarmService',
      'dev.persys.namespace': 'shop',
      'dev.persys.name': 'api',
      'dev.persys.owner-uid': 'uid-1',
      'dev.persys.spec-hash': d.specHash,
    });
    expect(d.specHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('defaults an empty namespace to "default"', () => {
    expect(desiredService(svc({}, { namespace: '' })).name).toBe('default_api');
  });

  it('puts only the user labels on the task containers, never a dev.persys.* label', () => {
    const withLabels = desiredService(svc({ labels: { team: 'a', tier: 'web' } }));
    expect(withLabels.spec.TaskTemplate).toMatchObject({ ContainerSpec: { Labels: { team: 'a', tier: 'web' } } });
    const containerLabels = (withLabels.spec.TaskTemplate as { ContainerSpec: { Labels?: Record<string, string> } }).ContainerSpec.Labels ?? {};
    expect(Object.keys(containerLabels).filter((k) => k.startsWith('dev.persys.'))).toEqual([]);
    const without = desiredService(svc({}));
    expect((without.spec.TaskTemplate as { ContainerSpec: { Labels?: unknown } }).ContainerSpec.Labels).toBeUndefined();
  });

  it('translates image, command, args and env into the ContainerSpec', () => {
    const d = desiredService(svc({ command: ['sleep'], args: ['3600'], env: [{ name: 'A', value: '1' }, { name: 'B' }] }));
    expect(d.spec.TaskTemplate).toEqual({
      ContainerSpec: { Image: 'persys/busybox:test', Command: ['sleep'], Args: ['3600'], Env: ['A=1', 'B='] },
    });
  });

  it('refuses an env var from a secret with its field path', () => {
    const s = svc({ env: [{ name: 'A', value: '1' }, { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] });
    expect(() => desiredService(s)).toThrow(InvalidSwarmServiceError);
    expect(() => desiredService(s)).toThrow(/spec\.env\[1\]: PW: valueFrom is not supported/);
  });

  it('refuses an object without uid, since the uid is what finds the service again', () => {
    expect(() => desiredService(svc({}, { uid: '' }))).toThrow(/metadata\.uid/);
  });

  it.each([
    ['replicated with replicas', { mode: 'replicated', replicas: 3 }, { Replicated: { Replicas: 3 } }, 3],
    ['replicated without replicas (1)', { mode: '' }, { Replicated: { Replicas: 1 } }, 1],
    ['replicated with 0 replicas', { replicas: 0 }, { Replicated: { Replicas: 0 } }, 0],
    ['global', { mode: 'global' }, { Global: {} }, undefined],
  ])('mode: %s', (_name, spec, mode, replicas) => {
    const d = desiredService(svc(spec));
    expect(d.spec.Mode).toEqual(mode);
    expect(d.replicas).toBe(replicas);
  });

  it('publishes ports, leaving out a published port of 0 and defaulting protocol and mode', () => {
    const d = desiredService(
      svc({
        ports: [
          { targetPort: 80, publishedPort: 8080, protocol: 'tcp', publishMode: 'ingress' },
          { targetPort: 53, publishedPort: 5353, protocol: 'UDP', publishMode: 'host' },
          { targetPort: 9000, publishedPort: 0, protocol: '', publishMode: '' },
        ],
      }),
    );
    expect(d.spec.EndpointSpec).toEqual({
      Ports: [
        { TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp', PublishMode: 'ingress' },
        { TargetPort: 53, PublishedPort: 5353, Protocol: 'udp', PublishMode: 'host' },
        { TargetPort: 9000, Protocol: 'tcp', PublishMode: 'ingress' },
      ],
    });
    expect(desiredService(svc({})).spec.EndpointSpec).toBeUndefined();
  });

  it('turns limits into Limits and requests into Reservations', () => {
    const d = desiredService(svc({ resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '2', memory: '' } } }));
    expect(d.spec.TaskTemplate?.Resources).toEqual({
      Limits: { NanoCPUs: 500_000_000, MemoryBytes: 128 * 1024 * 1024 },
      Reservations: { NanoCPUs: 2_000_000_000 },
    });
    expect(desiredService(svc({ resources: { limits: { cpu: '', memory: '' } } })).spec.TaskTemplate?.Resources).toBeUndefined();
  });

  it('reports an unparsable quantity with its field path', () => {
    expect(() => desiredService(svc({ resources: { limits: { memory: 'lots' } } }))).toThrow(/spec\.resources\.limits\.memory/);
  });

  it('translates update and rollback configs, durations in nanoseconds, leaving zero values to Docker', () => {
    const d = desiredService(
      svc({
        updateConfig: { parallelism: 2, delaySeconds: 10, failureAction: 'rollback', monitorSeconds: 30, maxFailureRatio: 0.25, order: 'start-first' },
        rollbackConfig: { parallelism: 0, delaySeconds: 0, failureAction: '', monitorSeconds: 0, maxFailureRatio: 0, order: '' },
      }),
    );
    expect(d.spec.UpdateConfig).toEqual({
      Parallelism: 2,
      Delay: 10_000_000_000,
      FailureAction: 'rollback',
      Monitor: 30_000_000_000,
      MaxFailureRatio: 0.25,
      Order: 'start-first',
    });
    expect(d.spec.RollbackConfig).toEqual({ Parallelism: 0 });
    expect(desiredService(svc({})).spec.UpdateConfig).toBeUndefined();
    // Unset parallelism is one task at a time, as with `docker service create`, not Docker API's "all at once".
    expect(desiredService(svc({ updateConfig: { order: 'start-first' } })).spec.UpdateConfig).toEqual({ Parallelism: 1, Order: 'start-first' });
  });

  it('sets placement constraints', () => {
    const d = desiredService(svc({ constraints: ['node.labels.zone==a', 'node.role!=manager'] }));
    expect(d.spec.TaskTemplate?.Placement).toEqual({ Constraints: ['node.labels.zone==a', 'node.role!=manager'] });
  });

  it('attaches namespaced overlay networks, once each, labelled for pruning', () => {
    const d = desiredService(svc({ networks: ['backend', 'frontend', 'backend'] }));
    expect(d.spec.TaskTemplate?.Networks).toEqual([{ Target: 'shop_backend' }, { Target: 'shop_frontend' }]);
    expect(d.networks).toEqual([
      { name: 'shop_backend', labels: { 'dev.persys.kind': 'SwarmNetwork', 'dev.persys.namespace': 'shop' } },
      { name: 'shop_frontend', labels: { 'dev.persys.kind': 'SwarmNetwork', 'dev.persys.namespace': 'shop' } },
    ]);
    expect(swarmNetworkName('shop', 'x')).toBe('shop_x');
    expect(dockerServiceName('shop', 'api')).toBe('shop_api');
  });
});

describe('the spec hash', () => {
  const base: DeepPartial<SwarmServiceSpec> = {
    command: ['sleep', '3600'],
    env: [{ name: 'A', value: '1' }],
    replicas: 2,
    labels: { a: '1', b: '2' },
    ports: [{ targetPort: 80, publishedPort: 8080 }],
  };
  const hash = (spec: DeepPartial<SwarmServiceSpec>, meta?: Record<string, unknown>) => desiredService(svc(spec, meta)).specHash;

  it('stays the same for an equal spec: label order, absent vs empty lists, metadata bookkeeping', () => {
    const h = hash(base);
    expect(hash({ ...base, labels: { b: '2', a: '1' } })).toBe(h);
    expect(hash({ ...base, args: [], networks: [], constraints: [] })).toBe(h);
    expect(hash(base, { generation: 7, resourceVersion: '99', labels: { x: 'y' } })).toBe(h);
    expect(hash(structuredClone(base))).toBe(h);
  });

  it.each<[string, DeepPartial<SwarmServiceSpec>]>([
    ['image', { image: 'persys/busybox:2' }],
    ['env', { env: [{ name: 'A', value: '2' }] }],
    ['replicas', { replicas: 3 }],
    ['label', { labels: { a: '1', b: '3' } }],
    ['port', { ports: [{ targetPort: 80, publishedPort: 8081 }] }],
    ['args', { args: ['x'] }],
    ['constraint', { constraints: ['node.role==worker'] }],
    ['update config', { updateConfig: { parallelism: 1 } as DeepPartial<SwarmServiceSpec['updateConfig']> }],
    ['limit', { resources: { limits: { memory: '64Mi' } } }],
  ])('changes when the %s changes', (_what, change) => {
    expect(hash({ ...base, ...change })).not.toBe(hash(base));
  });

  it('changes with the owner uid, so a re-created object takes over (and relabels) the service', () => {
    expect(hash(base, { uid: 'uid-2' })).not.toBe(hash(base));
  });
});
