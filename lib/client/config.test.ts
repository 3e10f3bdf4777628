// Reading the client config file with contexts, and writing it without losing them.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { loadClientConfig, writeClientConfig } from './config.js';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'persys-config-'));
  file = join(dir, 'config.yaml');
  for (const v of ['PERSYS_CONTEXT', 'PERSYS_SERVER', 'PERSYS_CA_CERT', 'PERSYS_CLIENT_CERT', 'PERSYS_CLIENT_KEY', 'PERSYS_NAMESPACE']) vi.stubEnv(v, undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

const CONTEXTS = {
  currentContext: 'prod',
  contexts: [
    { name: 'prod', server: '10.0.0.5:7443', caCert: 'prod/ca.crt', clientCert: '/etc/persys/admin.crt', clientKey: 'prod/admin.key', namespace: 'shop' },
    { name: 'dev', server: '127.0.0.1:7443', caCert: 'dev/ca.crt', clientCert: 'dev/a.crt', clientKey: 'dev/a.key' },
  ],
};

describe('loadClientConfig with contexts', () => {
  it('uses the current context, with certificate paths relative to the file', () => {
    writeFileSync(file, YAML.stringify(CONTEXTS));
    expect(loadClientConfig({ config: file })).toEqual({
      server: '10.0.0.5:7443',
      caCert: join(dir, 'prod/ca.crt'),
      clientCert: '/etc/persys/admin.crt',
      clientKey: join(dir, 'prod/admin.key'),
      namespace: 'shop',
    });
  });

  it('uses --context over PERSYS_CONTEXT over the current context, and flags over all of them', () => {
    writeFileSync(file, YAML.stringify(CONTEXTS));
    vi.stubEnv('PERSYS_CONTEXT', 'dev');
    expect(loadClientConfig({ config: file })).toMatchObject({ server: '127.0.0.1:7443', namespace: 'default' });
    expect(loadClientConfig({ config: file, context: 'prod' }).server).toBe('10.0.0.5:7443');
    expect(loadClientConfig({ config: file, context: 'prod', server: 'other:1' }).server).toBe('other:1');
  });

  it('fails for a context that does not exist', () => {
    writeFileSync(file, YAML.stringify(CONTEXTS));
    expect(() => loadClientConfig({ config: file, context: 'staging' })).toThrow('context was not found for specified context: staging');
  });
});

describe('writeClientConfig', () => {
  it('writes the flat format to a new file, private', () => {
    writeClientConfig(file, { server: 'a:1', caCert: 'ca', clientCert: 'c', clientKey: 'k', namespace: 'default' });
    expect(YAML.parse(readFileSync(file, 'utf8'))).toEqual({ server: 'a:1', caCert: 'ca', clientCert: 'c', clientKey: 'k', namespace: 'default' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('updates context "default" of a file with contexts rather than dropping the others', () => {
    writeFileSync(file, YAML.stringify(CONTEXTS));
    writeClientConfig(file, { server: 'a:1', caCert: 'ca', clientCert: 'c', clientKey: 'k', namespace: 'default' });
    const written = YAML.parse(readFileSync(file, 'utf8'));
    expect(written.currentContext).toBe('prod');
    expect(written.contexts.map((c: { name: string }) => c.name)).toEqual(['prod', 'dev', 'default']);
    expect(written.contexts[2]).toEqual({ name: 'default', server: 'a:1', caCert: 'ca', clientCert: 'c', clientKey: 'k', namespace: 'default' });
  });
});
