// What persys asks of Docker for a Container: tables of spec fragments and the create options they become.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import type { ConfigKind } from '../../lib/api/references.js';
import { MissingConfigError } from './errors.js';
import { LABEL_SPEC_HASH, specHash } from './labels.js';
import { containerName, createOptions } from './spec.js';

const UID = '0f6c1f7e-1111-2222-3333-444455556666';
// The node's ConfigMaps and Secrets by `Kind/namespace/name`, already decoded to bytes.
const objects: Record<string, Record<string, string>> = {
  'Secret/shop/db': { password: 's3cret', empty: '', user: 'admin' },
  'ConfigMap/shop/app': { LOG_LEVEL: 'debug', MODE: 'prod', 'not valid!': 'x', '1ST': 'y', 'app.conf': 'a=1' },
  'ConfigMap/shop/override': { MODE: 'dev' },
};
const config = (kind: ConfigKind, ns: string, name: string) => {
  const o = objects[`${kind}/${ns}/${name}`];
  return o && new Map(Object.entries(o).map(([k, v]) => [k, Buffer.from(v)]));
};
const ctx = { node: 'node-a', config };

function container(spec: Record<string, unknown>): Resource {
  return { apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'web', namespace: 'shop', uid: UID }, spec: { image: 'img:1', ...spec } };
}

describe('createOptions', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['image', {}, { Image: 'img:1', Env: [] }],
    ['command replaces the entrypoint', { command: ['/bin/httpd', '-f'] }, { Entrypoint: ['/bin/httpd', '-f'] }],
    ['args replace the cmd', { args: ['-p', '80'] }, { Cmd: ['-p', '80'] }],
    ['plain env', { env: [{ name: 'A', value: '1' }, { name: 'EMPTY' }] }, { Env: ['A=1', 'EMPTY='] }],
    [
      'env from a secret, an empty secret value kept',
      { env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }, { name: 'E', valueFrom: { secretKeyRef: { name: 'db', key: 'empty' } } }] },
      { Env: ['PW=s3cret', 'E='] },
    ],
    [
      'an optional missing secret is left out',
      { env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } }] },
      { Env: [] },
    ],
    ['workingDir and user', { workingDir: '/srv', user: 'nobody' }, { WorkingDir: '/srv', User: 'nobody' }],
  ])('%s', (_case, spec, expected) => {
    expect(createOptions(container(spec), ctx)).toMatchObject(expected);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['env from a ConfigMap key', { env: [{ name: 'LVL', valueFrom: { configMapKeyRef: { name: 'app', key: 'LOG_LEVEL' } } }] }, ['LVL=debug']],
    [
      'an optional missing ConfigMap key or ConfigMap is left out',
      {
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'app', key: 'nope', optional: true } } },
          { name: 'B', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
        ],
      },
      [],
    ],
    [
      'envFrom a ConfigMap: every key with a valid variable name, in key order',
      { envFrom: [{ configMapRef: { name: 'app' } }] },
      ['LOG_LEVEL=debug', 'MODE=prod', 'app.conf=a=1'],
    ],
    [
      'envFrom with a prefix (which can make a key starting with a digit valid)',
      { envFrom: [{ prefix: 'APP_', configMapRef: { name: 'app' } }] },
      ['APP_1ST=y', 'APP_LOG_LEVEL=debug', 'APP_MODE=prod', 'APP_app.conf=a=1'],
    ],
    ['envFrom a Secret', { envFrom: [{ secretRef: { name: 'db' } }] }, ['empty=', 'password=s3cret', 'user=admin']],
    [
      'a later envFrom overrides an earlier one',
      { envFrom: [{ configMapRef: { name: 'app' } }, { configMapRef: { name: 'override' } }] },
      ['LOG_LEVEL=debug', 'MODE=dev', 'app.conf=a=1'],
    ],
    [
      'an explicit env entry overrides envFrom, whatever the order',
      { env: [{ name: 'MODE', value: 'explicit' }], envFrom: [{ configMapRef: { name: 'override' } }] },
      ['MODE=explicit'],
    ],
    [
      'an optional explicit reference that is missing leaves the envFrom value',
      {
        env: [{ name: 'MODE', valueFrom: { secretKeyRef: { name: 'db', key: 'MODE', optional: true } } }],
        envFrom: [{ configMapRef: { name: 'override' } }],
      },
      ['MODE=dev'],
    ],
    [
      'an optional missing envFrom source sets nothing',
      { envFrom: [{ configMapRef: { name: 'nope', optional: true } }, { secretRef: { name: 'nope', optional: true } }] },
      [],
    ],
  ])('env: %s', (_case, spec, expected) => {
    expect(createOptions(container(spec), ctx).Env).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, string, Record<string, unknown>]>([
    [
      'a missing secret key',
      { env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'missing' } } }] },
      'env PW: Secret shop/db has no key "missing"',
      { kind: 'Secret', namespace: 'shop', objectName: 'db', key: 'missing' },
    ],
    [
      'a missing secret',
      { env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'gone', key: 'password' } } }] },
      'env PW: Secret shop/gone not found',
      { kind: 'Secret', objectName: 'gone', key: undefined },
    ],
    [
      'a missing ConfigMap key',
      { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'app', key: 'X' } } }] },
      'env X: ConfigMap shop/app has no key "X"',
      { kind: 'ConfigMap', objectName: 'app', key: 'X' },
    ],
    [
      'a missing envFrom ConfigMap',
      { envFrom: [{ configMapRef: { name: 'app' } }, { configMapRef: { name: 'gone' } }] },
      'envFrom[1]: ConfigMap shop/gone not found',
      { kind: 'ConfigMap', objectName: 'gone', key: undefined },
    ],
    [
      'a missing envFrom Secret',
      { envFrom: [{ secretRef: { name: 'gone' } }] },
      'envFrom[0]: Secret shop/gone not found',
      { kind: 'Secret', objectName: 'gone' },
    ],
  ])('refuses %s with a MissingConfigError naming it', (_case, spec, message, fields) => {
    let err: unknown;
    try {
      createOptions(container(spec), ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingConfigError);
    expect((err as Error).message).toBe(message);
    expect(err).toMatchObject(fields);
  });

  it('refuses a missing ConfigMap without a context to look it up in', () => {
    const c = container({ env: [{ name: 'LVL', valueFrom: { configMapKeyRef: { name: 'app', key: 'LOG_LEVEL' } } }] });
    expect(() => createOptions(c, { node: 'node-a' })).toThrow(MissingConfigError);
  });

  it('leaves everything else to the image when the spec has only an image', () => {
    const opts = createOptions(container({}), ctx);
    for (const field of ['Entrypoint', 'Cmd', 'WorkingDir', 'User', 'Healthcheck', 'ExposedPorts'] as const) {
      expect(opts[field], field).toBeUndefined();
    }
    expect(opts.HostConfig?.Mounts).toEqual([]);
    expect(opts.HostConfig?.PortBindings).toEqual({});
  });

  it("resolves through the agent's DNS with the namespace's search list when the agent serves DNS, else the engine's", () => {
    const opts = createOptions(container({}), { ...ctx, dnsServer: '172.17.0.1' });
    expect(opts.HostConfig).toMatchObject({ Dns: ['172.17.0.1'], DnsSearch: ['shop.svc.persys.local', 'svc.persys.local', 'persys.local'], DnsOptions: ['ndots:5'] });
    expect(specHash(container({}).spec)).toBe(opts.Labels![LABEL_SPEC_HASH]);
    const plain = createOptions(container({}), ctx);
    expect(plain.HostConfig?.Dns).toBeUndefined();
    expect(plain.HostConfig?.DnsSearch).toBeUndefined();
  });

  it('leaves entrypoint and cmd to the image when command and args are empty', () => {
    const opts = createOptions(container({ command: [], args: [] }), ctx);
    expect(opts.Entrypoint).toBeUndefined();
    expect(opts.Cmd).toBeUndefined();
  });

  it('names the container persys-<namespace>-<name>-<uid first 8>', () => {
    expect(createOptions(container({}), ctx).name).toBe('persys-shop-web-0f6c1f7e');
    expect(containerName(container({}))).toBe('persys-shop-web-0f6c1f7e');
  });

  it('labels the container with its identity, node and spec hash', () => {
    const c = container({ args: ['x'] });
    expect(createOptions(c, ctx).Labels).toEqual({
      'dev.persys.uid': UID,
      'dev.persys.kind': 'Container',
      'dev.persys.namespace': 'shop',
      'dev.persys.name': 'web',
      'dev.persys.node': 'node-a',
      [LABEL_SPEC_HASH]: specHash(c.spec),
    });
  });

  it('sets no Docker restart policy: the agent restarts with back-off itself', () => {
    expect(createOptions(container({ restartPolicy: 'Always' }), ctx).HostConfig?.RestartPolicy).toEqual({ Name: 'no' });
  });

  it.each<[string, Record<string, unknown>[], Record<string, unknown>, Record<string, unknown>]>([
    ['exposed but not published', [{ containerPort: 80 }], { '80/tcp': {} }, {}],
    [
      'published on a host port',
      [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }],
      { '80/tcp': {} },
      { '80/tcp': [{ HostPort: '8080', HostIp: '' }] },
    ],
    [
      'UDP on one host IP',
      [{ containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIp: '127.0.0.1' }],
      { '53/udp': {} },
      { '53/udp': [{ HostPort: '5353', HostIp: '127.0.0.1' }] },
    ],
    [
      'published on a port Docker picks',
      [{ containerPort: 80, hostPort: 0, publish: true }],
      { '80/tcp': {} },
      { '80/tcp': [{ HostPort: '', HostIp: '' }] },
    ],
    [
      'publish with a fixed host port',
      [{ containerPort: 80, hostPort: 8080, publish: true }],
      { '80/tcp': {} },
      { '80/tcp': [{ HostPort: '8080', HostIp: '' }] },
    ],
    [
      'one container port on two host ports',
      [{ containerPort: 80, hostPort: 8080 }, { containerPort: 80, hostPort: 8081 }],
      { '80/tcp': {} },
      { '80/tcp': [{ HostPort: '8080', HostIp: '' }, { HostPort: '8081', HostIp: '' }] },
    ],
  ])('ports: %s', (_case, ports, exposed, bindings) => {
    const opts = createOptions(container({ ports }), ctx);
    expect(opts.ExposedPorts).toEqual(exposed);
    expect(opts.HostConfig?.PortBindings).toEqual(bindings);
  });

  it('mounts named volumes (labelled, without uid) and host paths, read-only when asked', () => {
    const opts = createOptions(
      container({ volumes: [{ mountPath: '/data', volumeName: 'shop-data' }, { mountPath: '/etc/conf', hostPath: '/srv/conf', readOnly: true }] }),
      ctx,
    );
    expect(opts.HostConfig?.Mounts).toEqual([
      {
        Type: 'volume',
        Source: 'shop-data',
        Target: '/data',
        ReadOnly: false,
        VolumeOptions: {
          Labels: { 'dev.persys.kind': 'Container', 'dev.persys.namespace': 'shop', 'dev.persys.name': 'web', 'dev.persys.node': 'node-a' },
        },
      },
      { Type: 'bind', Source: '/srv/conf', Target: '/etc/conf', ReadOnly: true },
    ]);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'a ConfigMap volume: its projected directory, read-only',
      { mountPath: '/etc/app', configMap: { name: 'app' } },
      { Type: 'bind', Source: '/var/lib/persys/volumes/u/0-configmap-app', Target: '/etc/app', ReadOnly: true },
    ],
    [
      'a Secret volume is read-only even when readOnly is false',
      { mountPath: '/run/secrets', secret: { secretName: 'db' }, readOnly: false },
      { Type: 'bind', Source: '/var/lib/persys/volumes/u/0-secret-db', Target: '/run/secrets', ReadOnly: true },
    ],
    [
      'a subPath mount binds the path it was given (a snapshot of one file)',
      { mountPath: '/etc/nginx/nginx.conf', configMap: { name: 'app' }, subPath: 'app.conf' },
      { Type: 'bind', Source: '/var/lib/persys/volumes/u/0-configmap-app.subpath', Target: '/etc/nginx/nginx.conf', ReadOnly: true },
    ],
  ])('config volume: %s', (_case, volume, expected) => {
    const source = expected['Source'] as string;
    const opts = createOptions(container({ volumes: [volume] }), { ...ctx, projectedVolumes: new Map([[0, source]]) });
    expect(opts.HostConfig?.Mounts).toEqual([expected]);
  });

  it('binds each config volume by its index among named volumes and host paths', () => {
    const volumes = [
      { mountPath: '/data', volumeName: 'shop-data' },
      { mountPath: '/etc/app', configMap: { name: 'app' } },
      { mountPath: '/etc/conf', hostPath: '/srv/conf' },
      { mountPath: '/run/db', secret: { secretName: 'db' } },
    ];
    const projectedVolumes = new Map([
      [1, '/v/1-configmap-app'],
      [3, '/v/3-secret-db'],
    ]);
    const mounts = createOptions(container({ volumes }), { ...ctx, projectedVolumes }).HostConfig?.Mounts ?? [];
    expect(mounts.map((m) => [m.Target, m.Source, m.ReadOnly])).toEqual([
      ['/data', 'shop-data', false],
      ['/etc/app', '/v/1-configmap-app', true],
      ['/etc/conf', '/srv/conf', false],
      ['/run/db', '/v/3-secret-db', true],
    ]);
  });

  it('refuses a config volume whose files were not written first', () => {
    expect(() => createOptions(container({ volumes: [{ mountPath: '/etc/app', configMap: { name: 'app' } }] }), ctx)).toThrow(
      'volume 0 (/etc/app): its ConfigMap/Secret files were not written before create',
    );
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['cpu cores and binary memory', { cpu: '1.5', memory: '256Mi' }, { NanoCpus: 1_500_000_000, Memory: 268_435_456 }],
    ['millicores and decimal memory', { cpu: '250m', memory: '1G' }, { NanoCpus: 250_000_000, Memory: 1_000_000_000 }],
  ])('limits: %s', (_case, limits, expected) => {
    expect(createOptions(container({ resources: { limits } }), ctx).HostConfig).toMatchObject(expected);
  });

  it('sets no Docker limit from requests alone', () => {
    const host = createOptions(container({ resources: { requests: { cpu: '1', memory: '1Gi' } } }), ctx).HostConfig!;
    expect(host.NanoCpus).toBeUndefined();
    expect(host.Memory).toBeUndefined();
  });

  const S = 1_000_000_000;
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'exec runs the command directly',
      { exec: { command: ['cat', '/tmp/ready'] }, intervalSeconds: 5, timeoutSeconds: 2, retries: 4, startPeriodSeconds: 10 },
      { Test: ['CMD', 'cat', '/tmp/ready'], Interval: 5 * S, Timeout: 2 * S, Retries: 4, StartPeriod: 10 * S },
    ],
    [
      'httpGet fetches the path on loopback with wget',
      { httpGet: { path: '/healthz', port: 8080 }, intervalSeconds: 30 },
      { Test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/healthz'], Interval: 30 * S },
    ],
    ['httpGet without a path fetches /', { httpGet: { port: 80 } }, { Test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:80/'] }],
    [
      'tcpSocket connects with nc (falling back for a busybox nc without -z)',
      { tcpSocket: { port: 6379 } },
      { Test: ['CMD-SHELL', 'nc -z 127.0.0.1 6379 2>/dev/null || nc -w 2 127.0.0.1 6379 -e true'] },
    ],
  ])('healthcheck: %s', (_case, healthcheck, expected) => {
    expect(createOptions(container({ healthcheck }), ctx).Healthcheck).toEqual(expected);
  });
});
