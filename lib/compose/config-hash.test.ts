import { describe, expect, it } from 'vitest';
import { configHash, stableJson } from './config-hash.js';
import type { ComposeService } from './model.js';

const base = (): Omit<ComposeService, 'configHash'> => ({
  name: 'web',
  image: 'nginx:1',
  pullPolicy: 'missing',
  command: ['nginx', '-g', 'daemon off;'],
  environment: { A: '1', B: '2' },
  ports: [{ target: 80, published: 8080, protocol: 'tcp' }],
  volumes: [{ type: 'volume', source: 'data', target: '/data', readOnly: false }],
  fileMounts: [
    { origin: 'configs.app', target: '/etc/app.conf', mode: 0o444, uid: 0, gid: 0, source: { kind: 'inline', content: 'a=1' } },
    { origin: 'secrets.db', target: '/run/secrets/db', mode: 0o400, uid: 0, gid: 0, source: { kind: 'Secret', name: 'db', key: 'password' } },
  ],
  restart: 'always',
  labels: { tier: 'front' },
  replicas: 1,
  resources: { memoryBytes: 1024 },
  dependsOn: [{ service: 'db', condition: 'service_started' }],
  networks: [{ key: 'default', aliases: [] }],
});

describe('stableJson', () => {
  it('sorts keys at every depth, keeps list order and drops undefined members', () => {
    expect(stableJson({ b: 1, a: { d: [2, 1], c: undefined, b: null } })).toBe('{"a":{"b":null,"d":[2,1]},"b":1}');
  });
});

describe('configHash', () => {
  it('is a SHA-256 hex digest that the same service always gets', () => {
    expect(configHash(base())).toMatch(/^[0-9a-f]{64}$/);
    expect(configHash(base())).toBe(configHash(base()));
  });

  it('does not depend on the order of keys in objects and maps', () => {
    const s = base();
    const reordered = { ...s, environment: { B: '2', A: '1' }, labels: { tier: 'front' } };
    const shuffled = Object.fromEntries(Object.entries(reordered).reverse()) as typeof s;
    expect(configHash(shuffled)).toBe(configHash(s));
  });

  it('ignores replicas, depends_on and a previous configHash, so scaling never recreates', () => {
    const s = base();
    expect(configHash({ ...s, replicas: 5, dependsOn: [] })).toBe(configHash(s));
    expect(configHash({ ...s, configHash: 'old' })).toBe(configHash(s));
  });

  it('ignores the pull policy, as Compose does', () => {
    expect(configHash({ ...base(), pullPolicy: 'always' })).toBe(configHash(base()));
  });

  it('ignores the content of a mounted file, which the agent rewrites in place', () => {
    const s = base();
    s.fileMounts[0]!.source = { kind: 'inline', content: 'a=2' };
    expect(configHash(s)).toBe(configHash(base()));
  });

  it('is the same with no file mounts as for a service written before they existed', () => {
    const { fileMounts: _f, ...older } = { ...base(), fileMounts: [] };
    expect(configHash({ ...base(), fileMounts: [] })).toBe(configHash(older as Omit<ComposeService, 'configHash'>));
  });

  it.each<[string, (s: Omit<ComposeService, 'configHash'>) => void]>([
    ['the image', (s) => (s.image = 'nginx:2')],
    ['an environment value', (s) => (s.environment['A'] = '9')],
    ['an added environment variable', (s) => (s.environment['C'] = '')],
    ['the command order', (s) => s.command!.reverse()],
    ['a published port', (s) => (s.ports[0]!.published = 8081)],
    ['a mount made read-only', (s) => (s.volumes[0]!.readOnly = true)],
    ['the restart policy', (s) => (s.restart = 'no')],
    ['a label', (s) => (s.labels['tier'] = 'back')],
    ['the memory limit', (s) => (s.resources.memoryBytes = 2048)],
    ['a network alias', (s) => s.networks[0]!.aliases.push('www')],
    ['a healthcheck', (s) => (s.healthcheck = { test: ['NONE'] })],
    ['the user', (s) => (s.user = '1000')],
    ['a file mount target', (s) => (s.fileMounts[0]!.target = '/etc/other.conf')],
    ['a file mode', (s) => (s.fileMounts[1]!.mode = 0o440)],
    ['a file owner', (s) => (s.fileMounts[1]!.uid = 1000)],
    ['the Secret a file comes from', (s) => (s.fileMounts[1]!.source = { kind: 'Secret', name: 'db2', key: 'password' })],
    ['the key of the Secret a file comes from', (s) => (s.fileMounts[1]!.source = { kind: 'Secret', name: 'db' })],
    ['an added file mount', (s) => s.fileMounts.push({ origin: 'configs.x', target: '/x', mode: 0o444, uid: 0, gid: 0, source: { kind: 'ConfigMap', name: 'x' } })],
  ])('changes when %s changes', (_name, change) => {
    const s = base();
    change(s);
    expect(configHash(s)).not.toBe(configHash(base()));
  });
});
