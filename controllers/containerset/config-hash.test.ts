// Rollout on config change: which objects a set hashes, the hash of their content, and which sets a
// ConfigMap or Secret event requeues.
import { describe, expect, it } from 'vitest';
import { CONFIG_HASH_ANNOTATION } from '../../lib/api/annotations.js';
import type { ConfigRef } from '../../lib/api/references.js';
import type { Resource } from '../../lib/api/resource.js';
import {
  configHash,
  configKeyOf,
  contentDigest,
  ContentDigestCache,
  contentChanged,
  indexByRolloutConfigRef,
  rolloutConfigRefs,
  setsToRequeue,
  templateWithConfigHash,
} from './config-hash.js';

const fullSpec = {
  image: 'web:1',
  env: [
    { name: 'A', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'a' } } },
    { name: 'B', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'b' } } },
  ],
  envFrom: [{ configMapRef: { name: 'all-cm' } }, { secretRef: { name: 'all-secret' } }],
  volumes: [
    { mountPath: '/etc/app', configMap: { name: 'files' } },
    { mountPath: '/etc/tls', secret: { secretName: 'tls' } },
  ],
  imagePullSecrets: [{ name: 'regcred' }],
};

const set = (spec: Record<string, unknown>, namespace = 'prod', name = 'web'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'ContainerSet',
  metadata: { name, namespace },
  spec,
});

const cm = (name: string, data?: Record<string, string>, extra: Partial<Resource> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'prod' },
  ...(data ? { data } : {}),
  ...extra,
});
const secret = (name: string, data: Record<string, string>, type = 'Opaque'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Secret',
  metadata: { name, namespace: 'prod' },
  type,
  data,
});

describe('rolloutConfigRefs', () => {
  it.each([
    ['no flag', { template: { spec: fullSpec } }, []],
    ['flag false', { rolloutOnConfigChange: false, template: { spec: fullSpec } }, []],
    ['flag but no template', { rolloutOnConfigChange: true }, []],
    [
      'env, envFrom and volumes, without imagePullSecrets',
      { rolloutOnConfigChange: true, template: { spec: fullSpec } },
      ['ConfigMap/prod/all-cm', 'ConfigMap/prod/env-cm', 'ConfigMap/prod/files', 'Secret/prod/all-secret', 'Secret/prod/env-secret', 'Secret/prod/tls'],
    ],
    ['only imagePullSecrets', { rolloutOnConfigChange: true, template: { spec: { image: 'x', imagePullSecrets: [{ name: 'regcred' }] } } }, []],
  ])('%s', (_name, spec, want) => {
    expect(indexByRolloutConfigRef(set(spec)).sort()).toEqual(want);
  });

  it('names objects in the set\'s namespace, "default" when it has none', () => {
    const s = set({ rolloutOnConfigChange: true, template: { spec: { image: 'x', volumes: [{ mountPath: '/c', configMap: { name: 'c' } }] } } }, '');
    expect(rolloutConfigRefs(s)).toEqual([{ kind: 'ConfigMap', namespace: 'default', name: 'c' }]);
  });
});

describe('configHash', () => {
  const refs: ConfigRef[] = [
    { kind: 'ConfigMap', namespace: 'prod', name: 'files' },
    { kind: 'Secret', namespace: 'prod', name: 'tls' },
  ];
  const objects = (...objs: Resource[]) => (ref: ConfigRef) => {
    const o = objs.find((x) => x.kind === ref.kind && x.metadata.name === ref.name);
    return o && contentDigest(o);
  };
  const base = configHash(refs, objects(cm('files', { 'app.conf': 'x=1' }), secret('tls', { key: 'czE=' })));

  it.each<[string, ConfigRef[], (ref: ConfigRef) => string | undefined]>([
    ['another ref order', [...refs].reverse(), objects(cm('files', { 'app.conf': 'x=1' }), secret('tls', { key: 'czE=' }))],
    ['other metadata, labels and immutable', refs, objects(
      { ...cm('files', { 'app.conf': 'x=1' }), metadata: { name: 'files', namespace: 'prod', labels: { a: 'b' }, resourceVersion: '99' }, immutable: true },
      secret('tls', { key: 'czE=' }),
    )],
  ])('is the same for %s', (_name, r, lookup) => {
    expect(configHash(r, lookup)).toBe(base);
  });

  it.each<[string, (ref: ConfigRef) => string | undefined]>([
    ['a changed ConfigMap value', objects(cm('files', { 'app.conf': 'x=2' }), secret('tls', { key: 'czE=' }))],
    ['a new ConfigMap key', objects(cm('files', { 'app.conf': 'x=1', more: '' }), secret('tls', { key: 'czE=' }))],
    ['binaryData', objects(cm('files', { 'app.conf': 'x=1' }, { binaryData: { b: 'AA==' } }), secret('tls', { key: 'czE=' }))],
    ['a changed Secret value', objects(cm('files', { 'app.conf': 'x=1' }), secret('tls', { key: 'czI=' }))],
    ['a changed Secret type', objects(cm('files', { 'app.conf': 'x=1' }), secret('tls', { key: 'czE=' }, 'persys.dev/tls'))],
    ['stringData', objects(cm('files', { 'app.conf': 'x=1' }), { ...secret('tls', { key: 'czE=' }), stringData: { more: 'x' } })],
    ['a missing Secret', objects(cm('files', { 'app.conf': 'x=1' }))],
  ])('changes with %s', (_name, lookup) => {
    expect(configHash(refs, lookup)).not.toBe(base);
  });

  it('hashes a missing object unlike an empty one, and an empty map like an absent one', () => {
    const one: ConfigRef[] = [{ kind: 'ConfigMap', namespace: 'prod', name: 'c' }];
    const missing = configHash(one, () => undefined);
    expect(configHash(one, () => contentDigest(cm('c')))).not.toBe(missing);
    expect(configHash(one, () => contentDigest(cm('c', {})))).toBe(configHash(one, () => contentDigest(cm('c'))));
  });

  it('does not contain the Secret value', () => {
    const h = configHash([{ kind: 'Secret', namespace: 'prod', name: 's' }], () => contentDigest(secret('s', { password: 'aHVudGVyMg==' })));
    expect(h).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('ContentDigestCache', () => {
  const versioned = (rv: string, value: string): Resource => ({ ...cm('files', { a: value }), metadata: { name: 'files', namespace: 'prod', resourceVersion: rv } });

  it('hashes each resourceVersion of an object once', () => {
    const cache = new ContentDigestCache();
    const d1 = cache.digest(versioned('5', 'one'));
    // Same version: the cached digest, whatever the object says (objects of one version never differ).
    expect(cache.digest(versioned('5', 'two'))).toBe(d1);
    expect(cache.digest(versioned('6', 'two'))).toBe(contentDigest(versioned('6', 'two')));
    expect(cache.digest(versioned('6', 'two'))).not.toBe(d1);
  });

  it('hashes again after forget, and always without a resourceVersion', () => {
    const cache = new ContentDigestCache();
    cache.digest(versioned('5', 'one'));
    cache.forget(cm('files'));
    expect(cache.digest(versioned('5', 'two'))).toBe(contentDigest(versioned('5', 'two')));
    cache.digest(cm('files', { a: 'one' }));
    expect(cache.digest(cm('files', { a: 'two' }))).toBe(contentDigest(cm('files', { a: 'two' })));
  });
});

describe('templateWithConfigHash', () => {
  it('leaves the template alone without a hash', () => {
    const t = { metadata: { labels: { app: 'web' } }, spec: { image: 'x' } };
    expect(templateWithConfigHash(t, undefined)).toBe(t);
  });

  it('adds the annotation beside the template\'s own, without changing the set\'s template', () => {
    const t = { metadata: { labels: { app: 'web' }, annotations: { team: 'a' } }, spec: { image: 'x' } };
    expect(templateWithConfigHash(t, 'abc')).toEqual({
      metadata: { labels: { app: 'web' }, annotations: { team: 'a', [CONFIG_HASH_ANNOTATION]: 'abc' } },
      spec: { image: 'x' },
    });
    expect(t.metadata.annotations).toEqual({ team: 'a' });
    expect(templateWithConfigHash(undefined, 'abc')).toEqual({ metadata: { annotations: { [CONFIG_HASH_ANNOTATION]: 'abc' } } });
  });
});

describe('setsToRequeue', () => {
  const flagged = set({ rolloutOnConfigChange: true, template: { spec: fullSpec } });
  const other = set({ rolloutOnConfigChange: true, template: { spec: { image: 'x', volumes: [{ mountPath: '/c', configMap: { name: 'files' } }] } } }, 'prod', 'api');
  const elsewhere = set({ rolloutOnConfigChange: true, template: { spec: { image: 'x', volumes: [{ mountPath: '/c', configMap: { name: 'files' } }] } } }, 'dev', 'api');
  const unflagged = set({ template: { spec: fullSpec } }, 'prod', 'plain');
  // The informer's index, built from the same index function.
  const index = new Map<string, Resource[]>();
  for (const s of [flagged, other, elsewhere, unflagged]) for (const k of indexByRolloutConfigRef(s)) index.set(k, [...(index.get(k) ?? []), s]);
  const lookup = (key: string) => index.get(key) ?? [];

  it.each<[string, Resource, Resource | undefined, string[]]>([
    ['a new ConfigMap requeues the flagged sets of its namespace that read it', cm('files', { a: '1' }), undefined, ['prod/web', 'prod/api']],
    ['a changed value requeues them', cm('files', { a: '2' }), cm('files', { a: '1' }), ['prod/web', 'prod/api']],
    ['a label change requeues nothing', { ...cm('files', { a: '1' }), metadata: { name: 'files', namespace: 'prod', labels: { x: 'y' } } }, cm('files', { a: '1' }), []],
    ['a Secret of the same name as a ConfigMap is another object', secret('files', { a: 'MQ==' }), undefined, []],
    ['a Secret read through envFrom', secret('all-secret', { a: 'MQ==' }), secret('all-secret', { a: 'Mg==' }), ['prod/web']],
    ['an image pull Secret requeues nothing', secret('regcred', { '.dockerconfigjson': 'e30=' }, 'persys.dev/dockerconfigjson'), undefined, []],
    ['an unrelated ConfigMap requeues nothing', cm('unrelated', { a: '1' }), undefined, []],
  ])('%s', (_name, obj, old, want) => {
    expect(setsToRequeue(obj, old, lookup)).toEqual(want);
  });

  it('keys a config object by kind, namespace and name', () => {
    expect(configKeyOf(cm('files'))).toBe('ConfigMap/prod/files');
    expect(contentChanged(cm('a', { x: '1' }), cm('a', { x: '1' }))).toBe(false);
  });
});
