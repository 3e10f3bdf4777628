// persys diff, run in-process against the in-memory FakeClient.
import { describe, expect, it } from 'vitest';
import { FakeClient } from '../testing/fake-client.js';
import { runCli } from '../testing/run-cli.js';

const manifest = (image: string) =>
  `apiVersion: persys.dev/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: ${image}\n`;

async function liveWeb(): Promise<FakeClient> {
  const fake = new FakeClient();
  await runCli(fake, ['apply', '-f', '-'], { stdin: manifest('nginx:1') });
  return fake;
}

describe('persys diff', () => {
  it('exits 0 with no output when apply would change nothing', async () => {
    const fake = await liveWeb();
    const r = await runCli(fake, ['diff', '-f', '-'], { stdin: manifest('nginx:1') });
    expect(r).toMatchObject({ code: 0, out: '', err: '' });
  });

  it('exits 1 with a unified diff of live against the dry-run result', async () => {
    const fake = await liveWeb();
    const r = await runCli(fake, ['diff', '-f', '-'], { stdin: manifest('nginx:2') });
    expect(r.code).toBe(1);
    expect(r.out).toContain('--- live/container/web\n+++ merged/container/web\n');
    expect(r.out).toContain('-  image: nginx:1\n+  image: nginx:2\n');
    expect(r.out).not.toContain('resourceVersion');
    expect(fake.objects.get('Container/default/web')!.spec.image).toBe('nginx:1');
  });

  it('shows a new object as entirely added, without server-invented fields', async () => {
    const r = await runCli(new FakeClient(), ['diff', '-f', '-'], { stdin: manifest('nginx:1') });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^--- live\/container\/web\n\+\+\+ merged\/container\/web\n@@ -0,0 \+1,\d+ @@\n/);
    expect(r.out).not.toMatch(/uid|creationTimestamp|last-applied/);
  });

  it('exits 2 when the server rejects an object', async () => {
    const fake = new FakeClient();
    fake.invalidNames.add('web');
    const r = await runCli(fake, ['diff', '-f', '-'], { stdin: manifest('nginx:1') });
    expect(r.code).toBe(2);
    expect(r.err).toContain('Error from server (Invalid): error when diffing container/web from "-"');
  });

  describe('Secrets', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const secret = (data: Record<string, string>, labels = '') =>
      `apiVersion: persys.dev/v1\nkind: Secret\nmetadata:\n  name: db\n${labels}data:\n${Object.entries(data)
        .map(([k, v]) => `  ${k}: ${b64(v)}\n`)
        .join('')}`;
    const liveDb = async () => {
      const fake = new FakeClient();
      await runCli(fake, ['apply', '-f', '-'], { stdin: secret({ password: 'hunter2', user: 'admin' }) });
      return fake;
    };
    const values = ['hunter2', 'hunter3', 'admin', 'root'].flatMap((v) => [v, b64(v)]);

    it('masks a changed value as before and after, so the change still shows', async () => {
      const r = await runCli(await liveDb(), ['diff', '-f', '-'], { stdin: secret({ password: 'hunter3', user: 'admin' }) });
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/^-  password: ["']\*\*\* \(before\)["']$/m);
      expect(r.out).toMatch(/^\+  password: ["']\*\*\* \(after\)["']$/m);
      expect(r.out).toMatch(/^   user: ["']\*\*\*["']$/m);
      for (const v of values) expect(r.out).not.toContain(v);
    });

    it('masks unchanged values alike on both sides, so only the real change shows', async () => {
      const r = await runCli(await liveDb(), ['diff', '-f', '-'], { stdin: secret({ password: 'hunter2', user: 'admin' }, '  labels:\n    tier: db\n') });
      expect(r.code).toBe(1);
      expect(r.out).toContain('+    tier: db');
      expect(r.out).not.toMatch(/^[-+] +(password|user):/m);
      for (const v of values) expect(r.out).not.toContain(v);
    });

    it('masks added and removed keys, and every value of a new Secret', async () => {
      const changed = await runCli(await liveDb(), ['diff', '-f', '-'], { stdin: secret({ password: 'hunter2', token: 'root' }) });
      expect(changed.out).toMatch(/^\+  token: ["']\*\*\*["']$/m);
      expect(changed.out).toMatch(/^-  user: ["']\*\*\*["']$/m);
      const created = await runCli(new FakeClient(), ['diff', '-f', '-'], { stdin: secret({ password: 'hunter2' }) });
      expect(created.code).toBe(1);
      expect(created.out).toMatch(/^\+  password: ["']\*\*\*["']$/m);
      for (const r of [changed, created]) for (const v of values) expect(r.out).not.toContain(v);
    });

    it('exits 0 when a Secret would not change', async () => {
      const r = await runCli(await liveDb(), ['diff', '-f', '-'], { stdin: secret({ password: 'hunter2', user: 'admin' }) });
      expect(r).toMatchObject({ code: 0, out: '' });
    });
  });

  it('exits 2 on a usage error', async () => {
    const r = await runCli(new FakeClient(), ['diff']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('you must give -f FILE');
  });
});
