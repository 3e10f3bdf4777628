// Identity labels and the spec hash: which spec changes recreate a container and which do not.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { LABEL_UID, labelsFor, specHash, volumeLabelsFor } from './labels.js';

const container: Resource = {
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name: 'web', namespace: 'shop', uid: '0f6c1f7e-1111-2222-3333-444455556666' },
  spec: { image: 'nginx:1.27' },
};

describe('labelsFor', () => {
  it('labels an object with its uid, kind, namespace, name and node', () => {
    expect(labelsFor(container, 'node-a')).toEqual({
      'dev.persys.uid': '0f6c1f7e-1111-2222-3333-444455556666',
      'dev.persys.kind': 'Container',
      'dev.persys.namespace': 'shop',
      'dev.persys.name': 'web',
      'dev.persys.node': 'node-a',
    });
  });

  it('refuses an object without a uid, since the uid is how the agent finds its containers again', () => {
    expect(() => labelsFor({ ...container, metadata: { name: 'web', namespace: 'shop' } }, 'n')).toThrow(/no metadata.uid/);
  });

  it('leaves the uid off volume labels so a shared volume is never collected with its first user', () => {
    const labels = volumeLabelsFor(container, 'node-a');
    expect(labels[LABEL_UID]).toBeUndefined();
    expect(labels).toMatchObject({ 'dev.persys.namespace': 'shop', 'dev.persys.node': 'node-a' });
  });
});

describe('specHash', () => {
  const base = {
    image: 'nginx:1.27',
    env: [{ name: 'A', value: '1' }],
    ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }],
    resources: { requests: { cpu: '100m' }, limits: { cpu: '1', memory: '256Mi' } },
    restartPolicy: 'Always',
    nodeName: 'node-a',
  };

  it.each<[string, Record<string, unknown>]>([
    ['image', { image: 'nginx:1.28' }],
    ['command', { command: ['sh'] }],
    ['args', { args: ['-c', 'true'] }],
    ['env value', { env: [{ name: 'A', value: '2' }] }],
    ['env secret reference', { env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }],
    ['hostPort', { ports: [{ containerPort: 80, hostPort: 8081, protocol: 'TCP' }] }],
    ['cpu limit', { resources: { requests: { cpu: '100m' }, limits: { cpu: '2', memory: '256Mi' } } }],
    ['volumes', { volumes: [{ mountPath: '/data', volumeName: 'data' }] }],
    ['healthcheck', { healthcheck: { exec: { command: ['true'] } } }],
    ['workingDir', { workingDir: '/srv' }],
    ['user', { user: 'nobody' }],
  ])('changes when %s changes', (_field, change) => {
    expect(specHash({ ...base, ...change })).not.toBe(specHash(base));
  });

  it.each<[string, Record<string, unknown>]>([
    ['nodeName (scheduling)', { nodeName: 'node-b' }],
    ['nodeSelector (scheduling)', { nodeSelector: { disk: 'ssd' } }],
    ['restartPolicy (the agent restarts)', { restartPolicy: 'Never' }],
    ['requests (the scheduler uses them)', { resources: { requests: { cpu: '900m' }, limits: { cpu: '1', memory: '256Mi' } } }],
    ['an explicitly empty list', { command: [], args: [] }],
    ['a proto default value', { workingDir: '', user: '' }],
    ['a defaulted protocol', { ports: [{ containerPort: 80, hostPort: 8080 }] }],
  ])('stays the same when only %s changes', (_field, change) => {
    expect(specHash({ ...base, ...change })).toBe(specHash(base));
  });

  it('does not depend on map key order', () => {
    const reordered = { nodeName: 'node-a', resources: { limits: { memory: '256Mi', cpu: '1' } }, ports: base.ports, env: base.env, image: base.image };
    expect(specHash(reordered)).toBe(specHash(base));
  });
});
