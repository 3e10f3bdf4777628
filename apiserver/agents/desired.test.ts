import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import type { WatchEvent } from '../watch/event.js';
import { NodeDesiredState, onlyStatusChanged, referencedSecrets } from './desired.js';

const ct = (name: string, nodeName: string | undefined, secrets: string[] = [], extra: Partial<Resource> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'ns', resourceVersion: '10' },
  spec: { image: 'x', nodeName, env: secrets.map((s) => ({ name: 'E', valueFrom: { secretKeyRef: { name: s, key: 'k' } } })) },
  ...extra,
});
const sec = (name: string, rv: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name, namespace: 'ns', resourceVersion: rv }, data: {} });
const ev = (type: WatchEvent['type'], object: Resource, revision = object.metadata.resourceVersion ?? '0'): WatchEvent => ({ type, object, revision });
const show = (chs: { type: string; object: Resource }[]) => chs.map((c) => `${c.type} ${c.object.kind}/${c.object.metadata.name}`);

function tracker(secrets: Record<string, Resource>) {
  return new NodeDesiredState('n1', ({ name }) => secrets[name]);
}

describe('referencedSecrets', () => {
  it('lists each Secret named by env valueFrom once, in the container namespace', () => {
    expect(referencedSecrets(ct('a', 'n1', ['s1', 's2', 's1']))).toEqual(['Secret/ns/s1', 'Secret/ns/s2']);
    expect(referencedSecrets(ct('a', 'n1'))).toEqual([]);
  });
});

describe('NodeDesiredState', () => {
  it('starts from the containers bound to the node and the secrets they reference, skipping missing secrets', () => {
    const t = tracker({ s1: sec('s1', '5') });
    const objs = t.initial([ct('a', 'n1', ['s1', 'missing']), ct('b', 'n2', ['s1']), ct('c', undefined)]);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Secret/s1', 'Container/a']);
  });

  it('includes the ComposeStacks bound to the node, and drops one moved elsewhere', () => {
    // spec.env of a stack is a map of variables: it must not be read as a Container's env list.
    const stack = (name: string, nodeName?: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'ComposeStack', metadata: { name, namespace: 'ns', resourceVersion: '3' }, spec: { compose: 'services: {}', nodeName, env: { TAG: '1' } } });
    const t = tracker({});
    expect(t.initial([stack('shop', 'n1'), stack('other', 'n2'), stack('unplaced')]).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ComposeStack/shop']);
    expect(show(t.onWorkload(ev('MODIFIED', stack('shop', 'n2'))))).toEqual(['DELETE ComposeStack/shop']);
  });

  it('sends a newly referenced secret before the container that needs it, and deletes it with its last referrer', () => {
    const t = tracker({ s1: sec('s1', '5') });
    t.initial([]);
    expect(show(t.onWorkload(ev('ADDED', ct('a', 'n1', ['s1']))))).toEqual(['UPSERT Secret/s1', 'UPSERT Container/a']);
    expect(show(t.onWorkload(ev('ADDED', ct('b', 'n1', ['s1']))))).toEqual(['UPSERT Container/b']);
    expect(show(t.onWorkload(ev('DELETED', ct('a', 'n1', ['s1']))))).toEqual(['DELETE Container/a']);
    expect(show(t.onWorkload(ev('DELETED', ct('b', 'n1', ['s1']))))).toEqual(['DELETE Container/b', 'DELETE Secret/s1']);
  });

  it('treats a container rebound elsewhere as deleted, and ignores status-only changes', () => {
    const t = tracker({});
    t.initial([ct('a', 'n1')]);
    expect(t.onWorkload(ev('MODIFIED', ct('a', 'n1', [], { status: { phase: 'Running' }, metadata: { name: 'a', namespace: 'ns', resourceVersion: '11' } })))).toEqual([]);
    expect(show(t.onWorkload(ev('MODIFIED', ct('a', 'n1', [], { metadata: { name: 'a', namespace: 'ns', resourceVersion: '12', labels: { x: 'y' } } }))))).toEqual(['UPSERT Container/a']);
    expect(show(t.onWorkload(ev('MODIFIED', ct('a', 'n2'))))).toEqual(['DELETE Container/a']);
  });

  it('forwards only changes of referenced secrets, never an older copy than the one sent', () => {
    const t = tracker({ s1: sec('s1', '5') });
    t.initial([ct('a', 'n1', ['s1'])]);
    expect(t.isReferenced(sec('s1', '1'))).toBe(true);
    expect(t.isReferenced(sec('other', '1'))).toBe(false);
    expect(t.onSecret(ev('MODIFIED', sec('other', '9')))).toEqual([]);
    expect(t.onSecret(ev('MODIFIED', sec('s1', '4')))).toEqual([]);
    expect(show(t.onSecret(ev('MODIFIED', sec('s1', '7'))))).toEqual(['UPSERT Secret/s1']);
    expect(show(t.onSecret(ev('DELETED', sec('s1', '8'))))).toEqual(['DELETE Secret/s1']);
    expect(show(t.onSecret(ev('ADDED', sec('s1', '9'))))).toEqual(['UPSERT Secret/s1']);
  });
});

describe('onlyStatusChanged', () => {
  it('ignores status and resourceVersion only', () => {
    const a = ct('a', 'n1');
    expect(onlyStatusChanged(a, { ...a, status: { phase: 'Failed' }, metadata: { ...a.metadata, resourceVersion: '99' } })).toBe(true);
    expect(onlyStatusChanged(a, { ...a, metadata: { ...a.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } })).toBe(false);
  });
});
