// `persys events` against a real API server and etcd: oldest first by when last seen, narrowed by
// --for and --types, and with -w the events recorded afterwards.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { captureIo } from '../../lib/cli/io.js';
import { main } from '../../lib/cli/main.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

const NS = 'eventful';
let api: TestApiServer;

const event = (name: string, about: { kind: string; name: string }, type: string, reason: string, lastTimestamp: string): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Event',
  metadata: { name, namespace: NS },
  involvedObject: { kind: about.kind, name: about.name, namespace: NS },
  type,
  reason,
  message: `${reason} happened`,
  count: 1,
  firstTimestamp: lastTimestamp,
  lastTimestamp,
});

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
  // Created out of order: the listing sorts them.
  await api.client.create(event('e2', { kind: 'Container', name: 'web-1' }, 'Warning', 'BackOff', '2026-12-06T10:02:00Z'));
  await api.client.create(event('e1', { kind: 'ContainerSet', name: 'web' }, 'Normal', 'ScalingReplicaSet', '2026-12-06T10:01:00Z'));
  await api.client.create(event('e3', { kind: 'ContainerSet', name: 'web' }, 'Normal', 'SuccessfulRescale', '2026-12-06T10:03:00Z'));
});
afterAll(async () => {
  await api?.stop();
});

async function cli(args: string[], signal?: AbortSignal) {
  const io = captureIo('', signal);
  const creds = ['--server', api.config.server, '--ca-cert', api.config.caCert, '--client-cert', api.config.clientCert, '--client-key', api.config.clientKey];
  const code = await main([...creds, '-n', NS, ...args], io, { env: {}, now: () => new Date('2026-12-06T10:05:00Z') });
  return { code, out: io.stdout(), err: io.stderr() };
}

const reasons = (out: string) => out.trim().split('\n').slice(1).map((l) => l.split(/\s{2,}/)[2]);

describe('persys events', () => {
  it('lists the namespace\'s events oldest first, with kubectl\'s columns', async () => {
    const res = await cli(['events']);
    expect(res.code).toBe(0);
    expect(res.out.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(reasons(res.out)).toEqual(['ScalingReplicaSet', 'BackOff', 'SuccessfulRescale']);
    expect(res.out).toContain('4m');
  });

  it('narrows to one object with --for and to a type with --types', async () => {
    expect(reasons((await cli(['events', '--for', 'cs/web'])).out)).toEqual(['ScalingReplicaSet', 'SuccessfulRescale']);
    expect(reasons((await cli(['events', '--types', 'Warning'])).out)).toEqual(['BackOff']);
  });

  it('with -w prints the listed events, then each new one as it is recorded', async () => {
    const abort = new AbortController();
    const io = captureIo('', abort.signal);
    const creds = ['--server', api.config.server, '--ca-cert', api.config.caCert, '--client-cert', api.config.clientCert, '--client-key', api.config.clientKey];
    const run = main([...creds, '-n', NS, 'events', '-w', '--types', 'Warning'], io, { env: {} });
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 100 && !what(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(what()).toBe(true);
    };
    await until(() => io.stdout().includes('BackOff'));
    await api.client.create(event('e4', { kind: 'Container', name: 'web-2' }, 'Warning', 'Unhealthy', '2026-12-06T10:04:00Z'));
    await api.client.create(event('e5', { kind: 'Container', name: 'web-2' }, 'Normal', 'Started', '2026-12-06T10:04:30Z'));
    await until(() => io.stdout().includes('Unhealthy'));
    abort.abort();
    expect(await run).toBe(0);
    expect(io.stdout()).not.toContain('Started');
  });

  it('refuses an unknown type, a --for without a name, and positional arguments', async () => {
    expect(await cli(['events', '--types', 'Error'])).toMatchObject({ code: 1, err: expect.stringContaining('valid --types are Normal and Warning, not "Error"') });
    expect(await cli(['events', '--for', 'cs'])).toMatchObject({ code: 1, err: expect.stringContaining('--for takes KIND/NAME') });
    expect(await cli(['events', 'web'])).toMatchObject({ code: 1, err: expect.stringContaining('unexpected argument "web"') });
  });
});
