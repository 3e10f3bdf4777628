import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import type { WatchEvent } from '../watch/event.js';
import { NodeDesiredState, onlyStatusChanged, referencedConfigKeys } from './desired.js';

const ct = (name: string, nodeName: string | undefined, secrets: string[] = [], extra: Partial<Resource> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'ns', resourceVersion: '10' },
  spec: { image: 'x', nodeName, env: secrets.map((s) => ({ name: 'E', valueFrom: { secretKeyRef: { name: s, key: 'k' } } })) },
  ...extra,
});
/** A Container bound to n1 with the given spec fields (env, envFrom, volumes, imagePullSecrets…). */
const ctWith = (name: string, spec: Record<string, unknown>, nodeName = 'n1'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'ns', resourceVersion: '10' },
  spec: { image: 'x', nodeName, ...spec },
});
const sec = (name: string, rv: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name, namespace: 'ns', resourceVersion: rv }, data: {} });
const cm = (name: string, rv: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv }, data: { k: 'v' } });
const ev = (type: WatchEvent['type'], object: Resource, revision = object.metadata.resourceVersion ?? '0'): WatchEvent => ({ type, object, revision });
const show = (chs: { type: string; object: Resource }[]) => chs.map((c) => `${c.type} ${c.object.kind}/${c.object.metadata.name}`);

/** A tracker for node n1 whose caches hold `objects` (Secrets and ConfigMaps, by kind and name). */
function tracker(objects: Record<string, Resource> | Resource[]) {
  const list = Array.isArray(objects) ? objects : Object.values(objects);
  return new NodeDesiredState('n1', ({ kind, name }) => list.find((o) => o.kind === kind && o.metadata.name === name));
}

describe('referencedConfigKeys', () => {
  it('lists each Secret named by env valueFrom once, in the container namespace', () => {
    expect(referencedConfigKeys(ct('a', 'n1', ['s1', 's2', 's1']))).toEqual(['Secret/ns/s1', 'Secret/ns/s2']);
    expect(referencedConfigKeys(ct('a', 'n1'))).toEqual([]);
  });

  it.each([
    ['env configMapKeyRef', { env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'app', key: 'k' } } }] }, ['ConfigMap/ns/app']],
    ['envFrom of both kinds', { envFrom: [{ configMapRef: { name: 'app' } }, { prefix: 'DB_', secretRef: { name: 'db' } }] }, ['Secret/ns/db', 'ConfigMap/ns/app']],
    [
      'configMap and secret volumes',
      { volumes: [{ mountPath: '/etc/app', configMap: { name: 'app' } }, { mountPath: '/tls', secret: { secretName: 'tls' } }, { mountPath: '/d', volumeName: 'data' }] },
      ['ConfigMap/ns/app', 'Secret/ns/tls'],
    ],
    ['imagePullSecrets', { imagePullSecrets: [{ name: 'regcred' }] }, ['Secret/ns/regcred']],
    [
      'a ConfigMap and a Secret of the same name as two objects',
      { envFrom: [{ configMapRef: { name: 'app' } }], volumes: [{ mountPath: '/s', secret: { secretName: 'app' } }] },
      ['ConfigMap/ns/app', 'Secret/ns/app'],
    ],
  ])('covers %s', (_name, spec, keys) => {
    expect(referencedConfigKeys(ctWith('a', spec)).sort()).toEqual([...keys].sort());
  });

  it("covers a ComposeStack's imagePullSecrets but not its spec.env map of variables", () => {
    const stack: Resource = {
      apiVersion: 'persys.dev/v1',
      kind: 'ComposeStack',
      metadata: { name: 'shop', namespace: 'ns' },
      spec: { compose: 'services: {}', nodeName: 'n1', env: { TAG: '1' }, imagePullSecrets: [{ name: 'regcred' }] },
    };
    expect(referencedConfigKeys(stack)).toEqual(['Secret/ns/regcred']);
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

  it("sends a ComposeStack's pull secret before the stack, and only to the stack's node", () => {
    const stack = (nodeName: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'ComposeStack', metadata: { name: 'shop', namespace: 'ns', resourceVersion: '3' }, spec: { compose: 'services: {}', nodeName, imagePullSecrets: [{ name: 'regcred' }] } });
    expect(tracker([sec('regcred', '2')]).initial([stack('n1')]).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Secret/regcred', 'ComposeStack/shop']);
    expect(tracker([sec('regcred', '2')]).initial([stack('n2')])).toEqual([]);
  });

  it('sends a newly referenced secret before the container that needs it, and deletes it with its last referrer', () => {
    const t = tracker({ s1: sec('s1', '5') });
    t.initial([]);
    expect(show(t.onWorkload(ev('ADDED', ct('a', 'n1', ['s1']))))).toEqual(['UPSERT Secret/s1', 'UPSERT Container/a']);
    expect(show(t.onWorkload(ev('ADDED', ct('b', 'n1', ['s1']))))).toEqual(['UPSERT Container/b']);
    expect(show(t.onWorkload(ev('DELETED', ct('a', 'n1', ['s1']))))).toEqual(['DELETE Container/a']);
    expect(show(t.onWorkload(ev('DELETED', ct('b', 'n1', ['s1']))))).toEqual(['DELETE Container/b', 'DELETE Secret/s1']);
  });

  interface ReferenceCase {
    name: string;
    spec: Record<string, unknown>;
    /** What the first ADDED of the container sends, in order. */
    sent: string[];
  }
  const referenceCases: ReferenceCase[] = [
    { name: 'an env configMapKeyRef', spec: { env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'app', key: 'k' } } }] }, sent: ['UPSERT ConfigMap/app', 'UPSERT Container/a'] },
    { name: 'an envFrom ConfigMap and Secret', spec: { envFrom: [{ configMapRef: { name: 'app' } }, { secretRef: { name: 'db' } }] }, sent: ['UPSERT ConfigMap/app', 'UPSERT Secret/db', 'UPSERT Container/a'] },
    {
      name: 'configMap and secret volumes',
      spec: { volumes: [{ mountPath: '/etc/app', configMap: { name: 'app' } }, { mountPath: '/tls', secret: { secretName: 'tls' } }] },
      sent: ['UPSERT ConfigMap/app', 'UPSERT Secret/tls', 'UPSERT Container/a'],
    },
    { name: 'imagePullSecrets', spec: { imagePullSecrets: [{ name: 'regcred' }] }, sent: ['UPSERT Secret/regcred', 'UPSERT Container/a'] },
    { name: 'a ConfigMap that does not exist yet', spec: { envFrom: [{ configMapRef: { name: 'later' } }] }, sent: ['UPSERT Container/a'] },
  ];
  const store = () => [cm('app', '5'), sec('db', '6'), sec('tls', '7'), sec('regcred', '8'), cm('unrelated', '9')];

  it.each(referenceCases)('sends what $name reads before the container, and only that', ({ spec, sent }) => {
    const t = tracker(store());
    t.initial([]);
    expect(show(t.onWorkload(ev('ADDED', ctWith('a', spec))))).toEqual(sent);
    // A container on another node makes this node receive nothing.
    expect(t.onWorkload(ev('ADDED', ctWith('b', spec, 'n2')))).toEqual([]);
  });

  it.each(referenceCases)('deletes what $name read, by key only, when the last referrer goes', ({ spec, sent }) => {
    const t = tracker(store());
    t.initial([ctWith('a', spec), ctWith('b', spec)]);
    expect(show(t.onWorkload(ev('DELETED', ctWith('a', spec))))).toEqual(['DELETE Container/a']);
    const last = t.onWorkload(ev('DELETED', ctWith('b', spec)));
    const configs = sent.filter((s) => !s.endsWith('Container/a')).map((s) => s.replace('UPSERT', 'DELETE'));
    expect(show(last)).toEqual(['DELETE Container/b', ...configs]);
    for (const ch of last.slice(1)) {
      expect(ch.object).toEqual({ apiVersion: 'persys.dev/v1', kind: ch.object.kind, metadata: { namespace: 'ns', name: ch.object.metadata.name } });
    }
  });

  it('forwards a change of a referenced ConfigMap as UPSERT, never an unrelated one', () => {
    const t = tracker(store());
    t.initial([ctWith('a', { volumes: [{ mountPath: '/etc/app', configMap: { name: 'app' } }] })]);
    expect(t.isReferenced(cm('app', '1'))).toBe(true);
    expect(t.isReferenced(cm('unrelated', '1'))).toBe(false);
    // A Secret of the same name is another object.
    expect(t.isReferenced(sec('app', '1'))).toBe(false);
    expect(t.onConfig(ev('MODIFIED', cm('unrelated', '12')))).toEqual([]);
    expect(t.onConfig(ev('MODIFIED', cm('app', '4')))).toEqual([]);
    expect(show(t.onConfig(ev('MODIFIED', cm('app', '11'))))).toEqual(['UPSERT ConfigMap/app']);
    const deleted = t.onConfig(ev('DELETED', cm('app', '13')));
    expect(show(deleted)).toEqual(['DELETE ConfigMap/app']);
    // Deleting the object itself sends its key only, like dropping the last reference.
    expect(deleted[0]!.object).toEqual({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name: 'app' } });
  });

  it('sends a ConfigMap created after the container that reads it', () => {
    const t = tracker([]);
    expect(show(t.initial([ctWith('a', { envFrom: [{ configMapRef: { name: 'later' } }] })]).map((o) => ({ type: 'UPSERT', object: o })))).toEqual(['UPSERT Container/a']);
    expect(show(t.onConfig(ev('ADDED', cm('later', '20'))))).toEqual(['UPSERT ConfigMap/later']);
  });

  it('drops a ConfigMap no longer referenced after an update, after sending the new spec', () => {
    const t = tracker(store());
    t.initial([ctWith('a', { envFrom: [{ configMapRef: { name: 'app' } }] })]);
    const next = { ...ctWith('a', { envFrom: [{ secretRef: { name: 'db' } }] }), metadata: { name: 'a', namespace: 'ns', resourceVersion: '30' } };
    expect(show(t.onWorkload(ev('MODIFIED', next)))).toEqual(['UPSERT Secret/db', 'UPSERT Container/a', 'DELETE ConfigMap/app']);
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
    expect(t.onConfig(ev('MODIFIED', sec('other', '9')))).toEqual([]);
    expect(t.onConfig(ev('MODIFIED', sec('s1', '4')))).toEqual([]);
    expect(show(t.onConfig(ev('MODIFIED', sec('s1', '7'))))).toEqual(['UPSERT Secret/s1']);
    expect(show(t.onConfig(ev('DELETED', sec('s1', '8'))))).toEqual(['DELETE Secret/s1']);
    expect(show(t.onConfig(ev('ADDED', sec('s1', '9'))))).toEqual(['UPSERT Secret/s1']);
  });
});

describe('onlyStatusChanged', () => {
  it('ignores status and resourceVersion only', () => {
    const a = ct('a', 'n1');
    expect(onlyStatusChanged(a, { ...a, status: { phase: 'Failed' }, metadata: { ...a.metadata, resourceVersion: '99' } })).toBe(true);
    expect(onlyStatusChanged(a, { ...a, metadata: { ...a.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } })).toBe(false);
  });
});

describe('status-only changes of a sent workload', () => {
  it('are not sent back to the agent, except a node controller marking the Container Unknown', () => {
    const t = tracker([]);
    const a = ct('a', 'n1');
    expect(t.onWorkload(ev('ADDED', a))).toHaveLength(1);
    const running = { ...a, status: { phase: 'Running' }, metadata: { ...a.metadata, resourceVersion: '2' } };
    expect(t.onWorkload(ev('MODIFIED', running))).toEqual([]);
    const unknown = { ...a, status: { phase: 'Unknown', reason: 'NodeLost' }, metadata: { ...a.metadata, resourceVersion: '3' } };
    expect(t.onWorkload(ev('MODIFIED', unknown)).map((c) => `${c.type} ${c.object.status?.phase}`)).toEqual(['UPSERT Unknown']);
    const back = { ...a, status: { phase: 'Running' }, metadata: { ...a.metadata, resourceVersion: '4' } };
    expect(t.onWorkload(ev('MODIFIED', back))).toEqual([]);
  });
});
