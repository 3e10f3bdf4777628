// Namespace defaulting edits the manifest text without losing fields the CLI does not know.
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseManifests } from './load.js';
import { withDefaultNamespace } from './namespace.js';

const one = (text: string) => parseManifests(text, 'f.yaml')[0]!;

describe('withDefaultNamespace', () => {
  it('adds metadata.namespace to a namespaced kind and keeps unknown fields and comments', () => {
    const m = one('kind: Container # the kind\nmetadata:\n  name: web\nspec:\n  image: nginx\n  unknownThing: 3\n');
    const out = withDefaultNamespace(m, 'shop');
    expect(out.namespace).toBe('shop');
    expect(out.object.metadata.namespace).toBe('shop');
    expect(out.text).toContain('# the kind');
    expect(YAML.parse(out.text)).toEqual({
      kind: 'Container',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { image: 'nginx', unknownThing: 3 },
    });
  });

  it('creates metadata when the document has none', () => {
    const out = withDefaultNamespace(one('kind: Secret\ndata: {}\n'), 'ns1');
    expect(YAML.parse(out.text).metadata).toEqual({ namespace: 'ns1' });
  });

  it('leaves cluster-scoped kinds and unknown kinds untouched', () => {
    const node = one('kind: Node\nmetadata:\n  name: n1\n');
    expect(withDefaultNamespace(node, 'x')).toBe(node);
    const odd = one('kind: Gizmo\nmetadata:\n  name: g\n');
    expect(withDefaultNamespace(odd, 'x')).toBe(odd);
  });

  it('keeps a namespace the manifest names', () => {
    const m = one('kind: Container\nmetadata:\n  name: web\n  namespace: a\n');
    expect(withDefaultNamespace(m, 'b')).toBe(m);
  });

  it('rejects a manifest naming another namespace than an explicit -n', () => {
    const m = one('kind: Container\nmetadata:\n  name: web\n  namespace: a\n');
    expect(() => withDefaultNamespace(m, 'b', { enforce: true })).toThrow(/does not match the namespace "b"/);
  });
});
