// The client-side check of patched and edited objects: what the wire form would silently drop.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { findKind } from '../api/kinds.js';
import type { Resource } from '../api/resource.js';
import { fieldProblems, formatFieldProblems } from './field-check.js';

const cs = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'ContainerSet',
  metadata: { name: 'web', namespace: 'demo', labels: { app: 'web', 'persys.dev/x': 'y' }, resourceVersion: '12', ...metadata },
  spec: { replicas: 2, template: { metadata: { labels: { app: 'web' } }, spec: { image: 'nginx', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1' } } } }, ...spec },
  status: { replicas: 2, conditions: [{ type: 'Available', status: 'True' }] },
});
const info = findKind('ContainerSet')!;

describe('fieldProblems', () => {
  it('accepts a whole object as the server returns it, maps and defaults included', () => {
    expect(fieldProblems(info, cs({ selector: undefined, autoscale: null, revisionHistoryLimit: 0 }, { annotations: { note: '' } }))).toEqual([]);
  });

  const examples = resolve(import.meta.dirname, '../../manifests/examples');
  it.each(readdirSync(examples))('finds nothing wrong in the example %s', (file) => {
    for (const doc of YAML.parseAllDocuments(readFileSync(join(examples, file), 'utf8'))) {
      const obj = doc.toJS() as Resource;
      expect(fieldProblems(findKind(obj.kind)!, obj)).toEqual([]);
    }
  });

  it('reports unknown fields at any depth by their path', () => {
    const obj = cs({ replica: 3, template: { spec: { image: 'x', ports: [{ containerPort: 80, hostport: 8080 }] } } }, { label: { a: 'b' } });
    expect(fieldProblems(info, obj)).toEqual([
      { path: 'metadata.label', message: 'unknown field "label"' },
      { path: 'spec.template.spec.ports[0].hostport', message: 'unknown field "hostport"' },
      { path: 'spec.replica', message: 'unknown field "replica"' },
    ]);
  });

  it('reports values of the wrong type', () => {
    const obj = cs({ replicas: 'three', template: { spec: { image: 'x', command: 'sleep 1', ports: { containerPort: 80 } } } });
    expect(fieldProblems(info, obj)).toEqual([
      { path: 'spec.replicas', message: 'invalid value "three": expected a number' },
      { path: 'spec.template.spec.command', message: 'expected a list, got a string' },
      { path: 'spec.template.spec.ports', message: 'expected a list, got an object' },
    ]);
  });

  it('words the problems as the server words validation errors', () => {
    expect(formatFieldProblems(cs({}), [{ path: 'spec.foo', message: 'unknown field "foo"' }])).toBe(
      'ContainerSet "web" is invalid: spec.foo: unknown field "foo"',
    );
  });
});
