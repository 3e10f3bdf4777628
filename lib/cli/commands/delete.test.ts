// persys delete, run in-process against the in-memory FakeClient.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../api/resource.js';
import { FakeClient } from '../testing/fake-client.js';
import { runCli } from '../testing/run-cli.js';

const ct = (name: string, labels: Record<string, string> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default', labels },
  spec: { image: 'nginx' },
});

describe('persys delete', () => {
  it('deletes named objects and prints kubectl-style lines', async () => {
    const fake = new FakeClient();
    fake.put(ct('web'));
    fake.put(ct('db'));
    const r = await runCli(fake, ['delete', 'ct', 'web', 'db', '--cascade=orphan']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('container "web" deleted\ncontainer "db" deleted\n');
    expect(fake.calls).toContain('delete Container/default/web Orphan');
    expect(fake.objects.size).toBe(0);
  });

  it('fails on a missing object unless --ignore-not-found', async () => {
    const fake = new FakeClient();
    const r = await runCli(fake, ['delete', 'ct', 'ghost']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('Error from server (NotFound): Container "ghost" not found\n');
    const ok = await runCli(fake, ['delete', 'ct', 'ghost', '--ignore-not-found']);
    expect(ok).toMatchObject({ code: 0, out: '', err: '' });
  });

  it('deletes what manifests name, in their namespaces', async () => {
    const fake = new FakeClient();
    fake.put(ct('web'));
    const r = await runCli(fake, ['delete', '-f', '-'], { stdin: 'kind: Container\nmetadata:\n  name: web\n' });
    expect(r.out).toBe('container "web" deleted\n');
  });

  it('deletes by label selector', async () => {
    const fake = new FakeClient();
    fake.put(ct('a', { app: 'x' }));
    fake.put(ct('b', { app: 'y' }));
    const r = await runCli(fake, ['delete', 'ct', '-l', 'app=x']);
    expect(r.out).toBe('container "a" deleted\n');
    expect([...fake.objects.keys()]).toEqual(['Container/default/b']);
  });

  it('keeps objects with --dry-run=server', async () => {
    const fake = new FakeClient();
    fake.put(ct('web'));
    const r = await runCli(fake, ['delete', 'ct', 'web', '--dry-run=server']);
    expect(r.out).toBe('container "web" deleted (server dry run)\n');
    expect(fake.objects.size).toBe(1);
  });

  it('with --wait polls every 250 ms until the object is gone', async () => {
    const fake = new FakeClient();
    fake.put(ct('web'));
    fake.deleteLingers = 2;
    const r = await runCli(fake, ['delete', 'ct', 'web', '--wait']);
    expect(r.code).toBe(0);
    expect(r.sleeps).toEqual([250, 250]);
    expect(fake.objects.size).toBe(0);
  });

  it('with --wait gives up after --timeout, naming what is left', async () => {
    const fake = new FakeClient();
    fake.put(ct('web'));
    fake.deleteLingers = 1000;
    const r = await runCli(fake, ['delete', 'ct', 'web', '--wait', '--timeout', '1s']);
    expect(r.code).toBe(1);
    expect(r.sleeps.length).toBe(4);
    expect(r.err).toBe('error: timed out waiting for container/web to be deleted\n');
  });

  it('rejects an unknown cascade mode and a malformed timeout', async () => {
    expect((await runCli(new FakeClient(), ['delete', 'ct', 'x', '--cascade=foreground'])).err).toContain('invalid --cascade');
    expect((await runCli(new FakeClient(), ['delete', 'ct', 'x', '--timeout=soon'])).err).toContain('invalid duration "soon"');
  });
});
