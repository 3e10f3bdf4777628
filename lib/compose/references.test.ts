import { describe, expect, it } from 'vitest';
import { referencedConfig } from '../api/references.js';
import type { Resource } from '../api/resource.js';

const stack = (spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'persys.dev/v1', kind: 'ComposeStack', metadata: { name: 'shop', namespace: 'team' }, spec }) as Resource;

describe('composeStackReferences', () => {
  it('lists the imagePullSecrets and the external configs and secrets the services mount, by their persys names', () => {
    const compose = `
services:
  web:
    image: nginx
    configs: [site, inline]
    secrets: [{source: tls, target: server.key}]
  api:
    image: api
    secrets: [tls]
configs:
  site: {external: true, name: nginx-site}
  inline: {content: "x"}
  unused: {external: true}
secrets:
  tls: {external: true, x-persys-key: tls.key}
`;
    expect(referencedConfig(stack({ compose, imagePullSecrets: [{ name: 'regcred' }] }))).toEqual([
      { kind: 'Secret', namespace: 'team', name: 'regcred' },
      { kind: 'ConfigMap', namespace: 'team', name: 'nginx-site' },
      { kind: 'Secret', namespace: 'team', name: 'tls' },
    ]);
  });

  it('finds no configs or secrets in a file that does not parse, but still the imagePullSecrets', () => {
    const compose = 'services:\n  web:\n    image: nginx\n    secrets: [tls]\n    privileged: true\nsecrets:\n  tls: {external: true}\n';
    expect(referencedConfig(stack({ compose, imagePullSecrets: [{ name: 'regcred' }] }))).toEqual([{ kind: 'Secret', namespace: 'team', name: 'regcred' }]);
  });
});
