// `persys wait` against a real API server and etcd: it returns once an object qualifies (condition,
// field value, deletion), fails after --timeout naming the object, and refuses a bad --for.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { captureIo } from '../../lib/cli/io.js';
import { main } from '../../lib/cli/main.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

const NS = 'waiting';
let api: TestApiServer;

const container = (name: string, labels: Record<string, string> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: NS, labels },
  spec: { image: 'busybox', nodeName: 'n1' },
});

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
});
afterAll(async () => {
  await api?.stop();
});

async function cli(args: string[]) {
  const io = captureIo('');
  const creds = ['--server', api.config.server, '--ca-cert', api.config.caCert, '--client-cert', api.config.clientCert, '--client-key', api.config.clientKey];
  const code = await main([...creds, '-n', NS, ...args], io, { env: {} });
  return { code, out: io.stdout(), err: io.stderr() };
}

async function setStatus(name: string, status: Record<string, unknown>): Promise<void> {
  const cur = await api.client.get('Container', name, NS);
  await api.client.updateStatus({ ...cur, status });
}

const later = (ms: number, f: () => Promise<unknown>) => new Promise((r) => setTimeout(r, ms)).then(f);

describe('persys wait', () => {
  it('returns once a condition turns True, not before', async () => {
    await api.client.create(container('web'));
    await setStatus('web', { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] });
    const waiting = cli(['wait', '--for=condition=Ready', 'ct/web', '--timeout', '30s']);
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    await setStatus('web', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    expect(await waiting).toEqual({ code: 0, out: 'container/web condition met\n', err: '' });
  });

  it('waits for a field value on every object a selector matches', async () => {
    await api.client.create(container('a', { app: 'x' }));
    await api.client.create(container('b', { app: 'x' }));
    const waiting = cli(['wait', "--for=jsonpath={.status.phase}=Running", 'ct', '-l', 'app=x']);
    await later(200, () => setStatus('a', { phase: 'Running' }));
    await later(200, () => setStatus('b', { phase: 'Running' }));
    expect(await waiting).toEqual({ code: 0, out: 'container/a condition met\ncontainer/b condition met\n', err: '' });
  });

  it('returns once an object is deleted, and at once for one that is already gone', async () => {
    await api.client.create(container('doomed'));
    const waiting = cli(['wait', '--for=delete', 'container', 'doomed', 'never-was']);
    await later(200, () => api.client.delete('Container', 'doomed', NS));
    expect(await waiting).toEqual({ code: 0, out: 'container/doomed condition met\ncontainer/never-was condition met\n', err: '' });
  });

  it('fails after --timeout naming the object, and reports a missing object waited on for a condition', async () => {
    await api.client.create(container('slow'));
    const res = await cli(['wait', '--for=condition=Ready', 'ct/slow', 'ct/absent', '--timeout', '1s']);
    expect(res.code).toBe(1);
    expect(res.out).toBe('');
    expect(res.err).toContain('error: timed out waiting for the condition on container/slow');
    expect(res.err).toMatch(/NotFound.*absent|absent.*not found/i);
  });

  it('refuses a missing or unknown --for and a bad timeout, before reading anything', async () => {
    expect(await cli(['wait', 'ct/web'])).toMatchObject({ code: 1, err: expect.stringContaining('--for is required') });
    expect(await cli(['wait', '--for=ready', 'ct/web'])).toMatchObject({ code: 1, err: expect.stringContaining('unrecognized condition: "ready"') });
    expect(await cli(['wait', '--for=delete', 'ct/web', '--timeout', 'soon'])).toMatchObject({ code: 1, err: expect.stringContaining('invalid --timeout "soon"') });
  });
});
