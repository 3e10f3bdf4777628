// Merge patch (RFC 7386) and JSON patch (RFC 6902), including the RFCs' own examples.
import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch, createMergePatch, PatchError } from './patch.js';

describe('JSON merge patch', () => {
  // RFC 7386 appendix A, a selection.
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'foo' }, null, null],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j + %j = %j', (target, patch, want) => {
    expect(applyMergePatch(target, patch)).toEqual(want);
  });

  it('leaves the target untouched', () => {
    const target = { spec: { replicas: 1, template: { spec: { image: 'a' } } } };
    applyMergePatch(target, { spec: { template: { spec: { image: 'b' } } } });
    expect(target.spec.template.spec.image).toBe('a');
  });

  it('creates the patch between two objects that turns one into the other', () => {
    const from = { metadata: { labels: { a: '1', b: '2' } }, spec: { replicas: 1, ports: [1, 2] } };
    const to = { metadata: { labels: { a: '1', c: '3' } }, spec: { replicas: 1, ports: [2] } };
    const patch = createMergePatch(from, to);
    expect(patch).toEqual({ metadata: { labels: { b: null, c: '3' } }, spec: { ports: [2] } });
    expect(applyMergePatch(from, patch)).toEqual(to);
  });
});

describe('JSON patch', () => {
  const doc = () => ({ spec: { replicas: 1, ports: [{ containerPort: 80 }], 'a/b': { '~k': 1 } }, metadata: { name: 'web' } });

  it('adds, removes, replaces, moves, copies and tests in order', () => {
    const out = applyJsonPatch(doc(), [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/spec/ports/-', value: { containerPort: 443 } },
      { op: 'add', path: '/spec/ports/0', value: { containerPort: 8080 } },
      { op: 'copy', from: '/spec/ports/2', path: '/spec/tls' },
      { op: 'move', from: '/spec/a~1b/~0k', path: '/metadata/k' },
      { op: 'remove', path: '/spec/a~1b' },
      { op: 'add', path: '/metadata/labels', value: { app: 'web' } },
    ]);
    expect(out).toEqual({
      spec: { replicas: 3, ports: [{ containerPort: 8080 }, { containerPort: 80 }, { containerPort: 443 }], tls: { containerPort: 443 } },
      metadata: { name: 'web', k: 1, labels: { app: 'web' } },
    });
  });

  it.each([
    [[{ op: 'replace', path: '/spec/nope', value: 1 }], 'jsonpatch replace operation does not apply: doc is missing path: /spec/nope'],
    [[{ op: 'remove', path: '/spec/ports/1' }], 'jsonpatch remove operation does not apply: index 1 is out of bounds (length 1) at /spec/ports/1'],
    [[{ op: 'add', path: '/status/phase', value: 'x' }], 'jsonpatch add operation does not apply: doc is missing path: /status'],
    [[{ op: 'test', path: '/spec/replicas', value: 2 }], 'testing value /spec/replicas failed: it is 1, not 2'],
    [[{ op: 'move', from: '/spec', path: '/spec/x' }], 'jsonpatch move operation does not apply: cannot move /spec into its own child /spec/x'],
    [[{ op: 'frobnicate', path: '/x' }], 'operation 0: unknown op "frobnicate": use add, remove, replace, move, copy or test'],
    [[{ op: 'add', path: '/x' }], 'operation 0 (add): "value" is required'],
    [{ op: 'add', path: '/x', value: 1 }, 'a JSON patch must be a list of operations'],
    [[{ op: 'add', path: 'spec', value: 1 }], 'invalid JSON pointer "spec": it must start with "/"'],
  ])('fails %j with %j and changes nothing', (ops, message) => {
    const original = doc();
    expect(() => applyJsonPatch(original, ops)).toThrow(PatchError);
    expect(() => applyJsonPatch(original, ops)).toThrow(message);
    expect(original).toEqual(doc());
  });

  it('applies nothing when a later op fails', () => {
    const original = doc();
    expect(() =>
      applyJsonPatch(original, [
        { op: 'replace', path: '/spec/replicas', value: 5 },
        { op: 'test', path: '/metadata/name', value: 'db' },
      ]),
    ).toThrow('testing value /metadata/name failed');
    expect(original.spec.replicas).toBe(1);
  });
});
