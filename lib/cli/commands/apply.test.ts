// persys apply, run in-process against the in-memory FakeClient.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { FakeClient } from '../testing/fake-client.js';
import { runCli } from '../testing/run-cli.js';

function manifestDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'persys-apply-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const container = (name: string, extra = '') =>
  `apiVersion: persys.dev/v1\nkind: Container\nmetadata:\n  name: ${name}\n  labels: {app: shop}\nspec:\n  image: nginx${extra}\n`;
const namespace = (name: string) => `apiVersion: persys.dev/v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;

const applied = (fake: FakeClient) => fake.appliedTexts.map((t) => YAML.parse(t));

describe('persys apply', () => {
  it('applies every document, Namespaces first, and prints kubectl-style results', async () => {
    const fake = new FakeClient();
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'same', namespace: 'default' }, spec: { image: 'nginx' } });
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'old', namespace: 'default' }, spec: { image: 'httpd' } });
    const dir = manifestDir({ 'a.yaml': `${container('web')}---\n${container('same')}---\n${container('old')}`, 'b.yaml': namespace('shop') });
    const r = await runCli(fake, ['apply', '-f', dir]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('namespace/shop created\ncontainer/web created\ncontainer/same unchanged\ncontainer/old configured\n');
  });

  it('sends each document as text with the default namespace added and unknown fields kept', async () => {
    const fake = new FakeClient();
    const r = await runCli(fake, ['apply', '-f', '-', '-n', 'shop'], { stdin: container('web', '\n  mystery: 1') });
    expect(r.code).toBe(0);
    const [sent] = applied(fake);
    expect(sent.metadata.namespace).toBe('shop');
    expect(sent.spec.mystery).toBe(1);
    expect(r.out).toBe('container/web created\n');
  });

  it('marks server dry runs and stores nothing', async () => {
    const fake = new FakeClient();
    const r = await runCli(fake, ['apply', '-f', '-', '--dry-run=server'], { stdin: container('web') });
    expect(r.out).toBe('container/web created (server dry run)\n');
    expect(fake.objects.size).toBe(0);
  });

  it('continues past a rejected object and exits 1', async () => {
    const fake = new FakeClient();
    fake.invalidNames.add('bad');
    const r = await runCli(fake, ['apply', '-f', '-'], { stdin: `${container('bad')}---\n${container('good')}` });
    expect(r.code).toBe(1);
    expect(r.out).toBe('container/good created\n');
    expect(r.err).toBe(
      'Error from server (Invalid): error when applying container/bad from "-": Container "bad": spec.image: required\n',
    );
  });

  it('applies nothing when any manifest has a YAML error, naming file and line', async () => {
    const fake = new FakeClient();
    const dir = manifestDir({ 'a.yaml': container('web'), 'b.yaml': 'kind: Container\nmetadata:\n  name: [x\n' });
    const r = await runCli(fake, ['apply', '-f', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(dir, 'b.yaml')}:4: invalid YAML`);
    expect(fake.calls).toEqual([]);
  });

  it('requires a selector for --prune', async () => {
    const r = await runCli(new FakeClient(), ['apply', '-f', '-', '--prune'], { stdin: container('web') });
    expect(r.code).toBe(1);
    expect(r.err).toContain('--prune requires a label selector');
  });

  it('prunes previously applied objects matching the selector that left the manifests', async () => {
    const fake = new FakeClient();
    await runCli(fake, ['apply', '-f', '-'], { stdin: `${container('web')}---\n${container('gone')}` });
    // Created by hand (no last-applied annotation): never pruned.
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'manual', namespace: 'default', labels: { app: 'shop' } }, spec: { image: 'x' } });
    // Applied, but outside the selector.
    await runCli(fake, ['apply', '-f', '-'], { stdin: container('other').replace('app: shop', 'app: blog') });

    const r = await runCli(fake, ['apply', '-f', '-', '--prune', '-l', 'app=shop'], { stdin: container('web') });
    expect(r.err).toBe('');
    expect(r.out).toBe('container/web unchanged\ncontainer/gone pruned\n');
    expect([...fake.objects.keys()].sort()).toEqual(['Container/default/manual', 'Container/default/other', 'Container/default/web']);
  });
});
