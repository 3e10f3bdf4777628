// What persys asks of Docker for a Container: tables of spec fragments and the create options they become.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { MissingSecretError } from './errors.js';
import { LABEL_SPEC_HASH, specHash } from './labels.js';
import { containerName, createOptions } from './spec.js';

const UID = '0f6c1f7e-1111-2222-3333-444455556666';
const secrets: Record<string, string> = { 'shop/db/password': 's3cret', 'shop/db/empty': '' };
const ctx = { node: 'node-a', resolveSecret: (ns: string, name: string, key: string) => secrets[`${ns}/${name}/${key}`] };

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

  it('leaves everything else to the image when the spec has only an image', () => {
    const opts = createOptions(container({}), ctx);
    for (const field of ['Entrypoint', 'Cmd', 'WorkingDir', 'User', 'Healthcheck', 'ExposedPorts'] as const) {
      expect(opts[field], field).toBeUndefined();
    }
    expect(opts.HostConfig?.Mounts).toEqual([]);
    expect(opts.HostConfig?.PortBindings).toEqual({});
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

  it('names a missing non-optional secret in a typed error', () => {
    const c = container({ env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'missing' } } }] });
    expect(() => createOptions(c, ctx)).toThrow(MissingSecretError);
    expect(() => createOptions(c, ctx)).toThrow('env PW: secret shop/db has no key "missing"');
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
