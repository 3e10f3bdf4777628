import { describe, expect, it } from 'vitest';
import { credentialsFor, dockerConfigJson, encodeRegistryAuth, parseDockerConfigJson, registryHostOf } from './credentials.js';
import { defaultPullPolicy, effectivePullPolicy, imageReferenceError, parseImageReference, withDefaultTag } from './reference.js';

describe('parseImageReference', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: '', digest: '' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', digest: '' }],
    ['team/app:v1', { registry: 'docker.io', repository: 'team/app', tag: 'v1', digest: '' }],
    ['127.0.0.1:5000/private/busybox:v2', { registry: '127.0.0.1:5000', repository: 'private/busybox', tag: 'v2', digest: '' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: '', digest: '' }],
    ['ghcr.io/o/a@sha256:abc', { registry: 'ghcr.io', repository: 'o/a', tag: '', digest: 'sha256:abc' }],
    ['registry-1.docker.io/library/redis:7', { registry: 'docker.io', repository: 'library/redis', tag: '7', digest: '' }],
  ])('reads %s', (image, want) => {
    expect(parseImageReference(image)).toEqual(want);
  });
});

describe('pull policy', () => {
  it.each([
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.27', 'IfNotPresent'],
    ['127.0.0.1:5000/app', 'Always'],
    ['127.0.0.1:5000/app:v1', 'IfNotPresent'],
    ['app@sha256:abc', 'IfNotPresent'],
  ])('defaults %s to %s, as Kubernetes does', (image, want) => {
    expect(defaultPullPolicy(image)).toBe(want);
  });

  it('keeps a policy the spec sets and ignores an unknown one', () => {
    expect(effectivePullPolicy('nginx', 'Never')).toBe('Never');
    expect(effectivePullPolicy('nginx:1', '')).toBe('IfNotPresent');
  });

  it('adds :latest only when neither tag nor digest is given', () => {
    expect(withDefaultTag('nginx')).toBe('nginx:latest');
    expect(withDefaultTag('127.0.0.1:5000/a')).toBe('127.0.0.1:5000/a:latest');
    expect(withDefaultTag('a:1')).toBe('a:1');
    expect(withDefaultTag('a@sha256:x')).toBe('a@sha256:x');
  });
});

describe('docker config JSON', () => {
  it('round-trips what create secret docker-registry writes', () => {
    const auths = parseDockerConfigJson(dockerConfigJson('127.0.0.1:5000', 'alice', 'p:w'));
    expect(auths.get('127.0.0.1:5000')).toMatchObject({ username: 'alice', password: 'p:w', serveraddress: '127.0.0.1:5000' });
  });

  it('normalizes Docker Hub server names', () => {
    expect(registryHostOf('https://index.docker.io/v1/')).toBe('docker.io');
    expect(registryHostOf('HTTPS://Registry.Example.com:5000/v2/')).toBe('registry.example.com:5000');
  });

  it('names the problem without echoing values', () => {
    expect(() => parseDockerConfigJson('{')).toThrow('is not valid JSON');
    expect(() => parseDockerConfigJson('{"x":1}')).toThrow('"auths"');
    expect(() => parseDockerConfigJson('{"auths":{"r":{"email":"e"}}}')).toThrow('auths["r"] needs username and password');
    let message = '';
    try {
      parseDockerConfigJson('{"auths":{"r":{"auth":"bm9jb2xvbg=="}}}'); // base64 of "nocolon"
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('must be base64 of "username:password"');
    expect(message).not.toContain('nocolon');
  });

  it('finds the credentials of the image registry, in secret order, skipping others', () => {
    const a = dockerConfigJson('https://index.docker.io/v1/', 'hub', 'x');
    const b = dockerConfigJson('127.0.0.1:5000', 'one', 'x');
    const c = dockerConfigJson('127.0.0.1:5000', 'two', 'y');
    expect(credentialsFor('127.0.0.1:5000/p/app:v1', [a, b, c]).map((x) => x.username)).toEqual(['one', 'two']);
    expect(credentialsFor('nginx', [a, b]).map((x) => x.username)).toEqual(['hub']);
    expect(credentialsFor('quay.io/x/y', [a, b])).toEqual([]);
  });

  it('encodes X-Registry-Auth as base64url JSON', () => {
    const v = encodeRegistryAuth({ username: 'u', password: 'p', serveraddress: 'r' });
    expect(JSON.parse(Buffer.from(v, 'base64url').toString())).toEqual({ username: 'u', password: 'p', serveraddress: 'r' });
  });

  it("pads X-Registry-Auth as Go's base64.URLEncoding expects, with the URL alphabet", () => {
    for (const password of ['p', 'pw', 'pwd', '>>>???']) {
      const v = encodeRegistryAuth({ username: 'u', password, serveraddress: 'r' });
      expect(v.length % 4).toBe(0);
      expect(v).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
      expect(JSON.parse(Buffer.from(v, 'base64url').toString()).password).toBe(password);
    }
  });
});

describe('imageReferenceError (Docker\'s reference grammar)', () => {
  const SHA = 'a'.repeat(64);
  it.each([
    'nginx',
    'nginx:1.27-alpine',
    'team/app_v2:v1.0',
    'my--repo/a__b.c',
    '127.0.0.1:5000/private/busybox:v2',
    'localhost/app',
    '[::1]:5000/app:1',
    `ghcr.io/o/a@sha256:${SHA}`,
    `app:1@sha256:${SHA}`,
    'persys/busybox:test',
  ])('accepts %s', (image) => {
    expect(imageReferenceError(image)).toBeUndefined();
  });

  it.each([
    ['%s%n', 'invalid reference format'],
    ['nginx latest', 'invalid reference format'],
    ['Nginx', 'repository name must be lowercase'],
    ['ghcr.io/Team/app', 'repository name must be lowercase'],
    ['app:', 'invalid tag'],
    ['app:-x', 'invalid tag'],
    [`app:${'t'.repeat(129)}`, 'invalid tag'],
    ['app@sha256:abc', 'invalid digest'],
    [`app@sha256:${'A'.repeat(64)}`, 'sha256 takes 64 lowercase hex digits'],
    ['/app', 'invalid reference format'],
    ['app/', 'invalid reference format'],
    ['a..b', 'invalid reference format'],
    ['', 'must not be empty'],
  ])('refuses %s: %s', (image, why) => {
    expect(imageReferenceError(image)).toContain(why);
  });

  it('answers the same when asked again, after more valid references than it remembers', () => {
    for (let i = 0; i < 3000; i++) expect(imageReferenceError(`app-${i}:v1`)).toBeUndefined();
    for (const [image, valid] of [['app-7:v1', true], ['Nginx', false], ['app-2999:v1', true], ['nginx latest', false]] as const) {
      expect(imageReferenceError(image) === undefined).toBe(valid);
      expect(imageReferenceError(image) === undefined).toBe(valid);
    }
  });

  it('refuses a name over 255 characters without echoing all of it', () => {
    const why = imageReferenceError('a'.repeat(70_000))!;
    expect(why).toBe('the name must be no more than 255 characters, got 70000');
    expect(imageReferenceError(`${'a'.repeat(255)}:v1`)).toBeUndefined();
    expect(imageReferenceError(`${'%'.repeat(1000)}`)!.length).toBeLessThan(400);
  });
});
