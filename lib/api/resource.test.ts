import { describe, expect, it } from 'vitest';
import { findKind, KINDS } from './kinds.js';
import { fromWire, kindOfWire, toWire, type Resource } from './resource.js';

describe('kinds table', () => {
  it('resolves kinds by name, plural, singular and short name', () => {
    expect(findKind('Container')?.kind).toBe('Container');
    expect(findKind('containers')?.kind).toBe('Container');
    expect(findKind('ct')?.kind).toBe('Container');
    expect(findKind('CS')?.kind).toBe('ContainerSet');
    expect(findKind('cj')?.kind).toBe('CronJob');
    expect(findKind('no')?.kind).toBe('Node');
    expect(findKind('pods')).toBeUndefined();
  });

  it('gives svc to Service, as kubectl does; SwarmService keeps ss; eps is EndpointSlice', () => {
    expect(findKind('svc')?.kind).toBe('Service');
    expect(findKind('services')?.kind).toBe('Service');
    expect(findKind('ss')?.kind).toBe('SwarmService');
    expect(findKind('eps')?.kind).toBe('EndpointSlice');
    expect(findKind('endpointslices')?.kind).toBe('EndpointSlice');
  });

  it('scopes Namespace, Node, ClusterRole and ClusterRoleBinding to the cluster and everything else to a namespace', () => {
    const clusterScoped = KINDS.filter((k) => !k.namespaced).map((k) => k.kind);
    expect(clusterScoped.sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'Node']);
  });
});

describe('wire conversion', () => {
  it('round-trips a Container manifest through the typed oneof unchanged', () => {
    const manifest: Resource = {
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
      spec: {
        image: 'persys/busybox:test',
        command: ['httpd', '-f'],
        ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }],
        resources: { requests: { cpu: '500m', memory: '256Mi' } },
      },
    };
    const wire = toWire(manifest);
    expect(wire.object?.$case).toBe('container');
    expect(fromWire(wire)).toEqual(manifest);
  });

  it('keeps an explicit zero for optional fields such as replicas', () => {
    const set: Resource = {
      apiVersion: 'persys.dev/v1',
      kind: 'ContainerSet',
      metadata: { name: 'api' },
      spec: { replicas: 0 },
    };
    expect(fromWire(toWire(set))?.spec).toEqual({ replicas: 0 });
  });

  it('kindOfWire names the same kind as fromWire, whether or not the typed object sets kind', () => {
    for (const info of KINDS) {
      const wire = toWire({ apiVersion: 'persys.dev/v1', kind: info.kind, metadata: { name: 'x' } });
      expect(kindOfWire(wire)).toBe(info.kind);
      (wire.object!.value as { kind: string }).kind = '';
      expect(kindOfWire(wire)).toBe(fromWire(wire)!.kind);
      expect(kindOfWire(wire)).toBe(info.kind);
    }
    const mislabelled = toWire({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'x' } });
    (mislabelled.object!.value as { kind: string }).kind = 'Secret';
    expect(kindOfWire(mislabelled)).toBe(fromWire(mislabelled)!.kind);
    expect(kindOfWire({ object: undefined })).toBe('');
    expect(kindOfWire(undefined)).toBe('');
  });
});
