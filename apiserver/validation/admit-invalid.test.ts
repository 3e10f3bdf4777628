// The rejection table: each invalid manifest must fail admit() with an error at an exact field path.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { admit, ValidationError, type AdmitOptions } from './index.js';
import { container, INVALID_MANIFESTS as cases } from './invalid-manifests.js';

function rejection(manifest: unknown, opts?: AdmitOptions): ValidationError {
  const input = typeof manifest === 'string' ? parse(manifest) : manifest;
  try {
    admit(input, opts);
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('admit() accepted the manifest');
}

describe('admit rejects invalid manifests with the field path', () => {
  it('covers at least 45 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(45);
  });

  it.each(cases)('rejects $name at "$path"', ({ manifest, opts, path, message }) => {
    const err = rejection(manifest, opts);
    const atPath = err.errors.filter((e) => e.path === path);
    expect(atPath.map((e) => e.message).join(' | ')).toContain(message);
    expect(err.message).toContain(path ? `${path}: ` : message);
  });
});

describe('ValidationError', () => {
  it('names the kind and object and lists every error, Kubernetes-style', () => {
    const err = rejection(container('ports:\n- containerPort: 80\n- containerPort: 0'));
    expect(err.name).toBe('ValidationError');
    expect(err.kind).toBe('Container');
    expect(err.objectName).toBe('web');
    expect(err.message).toBe('Container "web" is invalid: spec.image: required; spec.ports[1].containerPort: must be 1-65535');
  });

  it('collects errors from the schema, metadata and spec rules in one throw', () => {
    const err = rejection(container('image: x\nfoo: 1\nrestartPolicy: Sometimes', 'name: Web'));
    expect(err.errors.map((e) => e.path).sort()).toEqual(['metadata.name', 'spec.foo', 'spec.restartPolicy']);
  });

  it('does not repeat a wrongly typed field as missing', () => {
    const err = rejection(container('image: 5'));
    expect(err.errors).toEqual([{ path: 'spec.image', message: 'expected string, got number' }]);
  });

  it('reports an oversize object with its size on path ""', () => {
    const big = { apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'big' }, data: { blob: 'QUFB'.repeat(420_000) } };
    const err = rejection(big);
    const bytes = Buffer.byteLength(JSON.stringify(big));
    expect(err.errors).toContainEqual({ path: '', message: `object is ${bytes} bytes, the limit is 1572864` });
  });

  it('keeps a "__proto__" map key as plain data instead of a prototype', () => {
    const raw = JSON.parse(`{"apiVersion":"persys.dev/v1","kind":"Secret","metadata":{"name":"s"},"data":{"__proto__":"YQ=="}}`);
    const out = admit(raw);
    expect(Object.keys(out['data'] as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(out['data'])).toBe(Object.prototype);
  });
});
