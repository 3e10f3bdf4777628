import { describe, expect, it } from 'vitest';
import { findKind } from './kinds.js';
import { unknownFields } from './unknown-fields.js';

const check = (kind: string, json: Record<string, unknown>) => unknownFields(json, findKind(kind)!.codec.fromJSON(json));

describe('unknownFields', () => {
  it('finds none in an object of known fields, maps of any keys included', () => {
    const cs = {
      apiVersion: 'persys.dev/v1',
      kind: 'ContainerSet',
      metadata: { name: 'web', labels: { anything: 'goes' }, ownerReferences: [{ kind: 'X', name: 'x', uid: 'u' }] },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { image: 'x', env: [{ name: 'A', value: 'b' }] } } },
      status: { replicas: 2, conditions: [{ type: 'Available', status: 'True' }] },
    };
    expect(check('ContainerSet', cs)).toEqual([]);
  });

  it('reports unknown fields at any depth by their path, and treats null as absent', () => {
    const ct = {
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: 'web', label: { a: 'b' } },
      spec: { imagee: 'x', image: null, ports: [{ containerPort: 80 }, { container_port: 81 }], healthcheck: { exec: { cmd: ['true'] } } },
      specs: {},
    };
    expect(check('Container', ct)).toEqual([
      { path: 'metadata.label', message: 'unknown field "label"' },
      { path: 'spec.imagee', message: 'unknown field "imagee"' },
      { path: 'spec.ports[1].container_port', message: 'unknown field "container_port"' },
      { path: 'spec.healthcheck.exec.cmd', message: 'unknown field "cmd"' },
      { path: 'specs', message: 'unknown field "specs"' },
    ]);
  });
});
