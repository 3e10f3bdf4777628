// Which imagePullSecret's credentials a SwarmService's apply carries, and what its PullSecrets condition says.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../../lib/api/resource.js';
import { dockerConfigJson, encodeRegistryAuth } from '../../../lib/registry/credentials.js';
import { chooseRegistryAuth } from './registry-auth.js';

const secret = (name: string, json: string, type = 'persys.dev/dockerconfigjson'): Resource =>
  ({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name, namespace: 'default' }, type, data: { '.dockerconfigjson': Buffer.from(json).toString('base64') } }) as Resource;

const IMAGE = '10.231.0.1:5000/team/api:1';
const ours = dockerConfigJson('10.231.0.1:5000', 'alice', 's3cret');
const other = dockerConfigJson('registry.example.com', 'bob', 'hunter2');
const authOf = (server: string, username: string, password: string) => encodeRegistryAuth({ serveraddress: server, username, password });

describe('chooseRegistryAuth', () => {
  it('sends nothing and sets no condition when the service names no imagePullSecrets', () => {
    expect(chooseRegistryAuth(IMAGE, [])).toEqual({});
  });

  it("picks the credentials of the image's registry, skipping a Secret for another registry", () => {
    const choice = chooseRegistryAuth(IMAGE, [{ name: 'other', secret: secret('other', other) }, { name: 'ours', secret: secret('ours', ours) }]);
    expect(choice.registryAuth).toBe(authOf('10.231.0.1:5000', 'alice', 's3cret'));
    expect(choice.from).toBe('ours');
    expect(choice.condition).toEqual({ status: 'True', reason: 'CredentialsFound', message: 'credentials for 10.231.0.1:5000 from Secret "ours"' });
  });

  it('takes the first matching Secret in the order the service names them', () => {
    const second = dockerConfigJson('10.231.0.1:5000', 'carol', 'pw2');
    const choice = chooseRegistryAuth(IMAGE, [{ name: 'a', secret: secret('a', ours) }, { name: 'b', secret: secret('b', second) }]);
    expect(choice.from).toBe('a');
  });

  it("accepts Kubernetes' kubernetes.io/dockerconfigjson type", () => {
    expect(chooseRegistryAuth(IMAGE, [{ name: 'k', secret: secret('k', ours, 'kubernetes.io/dockerconfigjson') }]).from).toBe('k');
  });

  it('matches Docker Hub images against index.docker.io credentials', () => {
    const hub = dockerConfigJson('https://index.docker.io/v1/', 'dave', 'pw');
    expect(chooseRegistryAuth('nginx:1.27', [{ name: 'hub', secret: secret('hub', hub) }]).from).toBe('hub');
  });

  it('pulls without credentials when no Secret has the registry, and says so', () => {
    const choice = chooseRegistryAuth(IMAGE, [{ name: 'other', secret: secret('other', other) }]);
    expect(choice.registryAuth).toBeUndefined();
    expect(choice.condition).toEqual({ status: 'True', reason: 'NoCredentialsForRegistry', message: 'no imagePullSecret has credentials for 10.231.0.1:5000; pulling without' });
  });

  it('reports a missing Secret in the condition and still uses the others', () => {
    const choice = chooseRegistryAuth(IMAGE, [{ name: 'gone' }, { name: 'ours', secret: secret('ours', ours) }]);
    expect(choice.from).toBe('ours');
    expect(choice.condition).toEqual({ status: 'False', reason: 'PullSecretNotFound', message: 'Secret "gone" not found; credentials for 10.231.0.1:5000 from Secret "ours"' });
  });

  it.each([
    ['of another type', secret('bad', ours, 'Opaque'), 'Secret "bad" is of type "Opaque", not persys.dev/dockerconfigjson'],
    ['without the .dockerconfigjson key', { ...secret('bad', ours), data: { other: 'eA==' } } as Resource, 'Secret "bad" has no .dockerconfigjson key'],
    ['whose JSON does not parse', secret('bad', '{not json'), 'Secret "bad": .dockerconfigjson is not valid JSON'],
  ])('reports a Secret %s as PullSecretInvalid without a value in the message', (_name, s, message) => {
    const choice = chooseRegistryAuth(IMAGE, [{ name: 'bad', secret: s }]);
    expect(choice.registryAuth).toBeUndefined();
    expect(choice.condition).toEqual({ status: 'False', reason: 'PullSecretInvalid', message: `${message}; no imagePullSecret has credentials for 10.231.0.1:5000; pulling without` });
  });

  it('never puts a password in the condition', () => {
    const choice = chooseRegistryAuth(IMAGE, [{ name: 'ours', secret: secret('ours', ours) }, { name: 'gone' }]);
    expect(JSON.stringify(choice.condition)).not.toContain('s3cret');
  });
});
