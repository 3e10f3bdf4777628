// persys patch, run in-process against the in-memory FakeClient.
import { describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import { countingUpdates, seeded, stored, updates } from '../testing/updates.js';

describe('persys patch', () => {
  it('merges a patch into the object, nulls removing fields and lists replaced whole', async () => {
    const fake = countingUpdates(seeded());
    const r = await runCli(fake, ['patch', 'cs', 'web', '-p', '{"spec":{"replicas":5,"template":{"spec":{"ports":[{"containerPort":8080}]}}},"metadata":{"labels":{"app":null}}}']);
    expect(r).toMatchObject({ code: 0, out: 'containerset/web patched\n', err: '' });
    const obj = stored(fake, 'web');
    expect(obj.spec.replicas).toBe(5);
    expect(obj.spec.template.spec).toEqual({ image: 'nginx:1.26', ports: [{ containerPort: 8080 }] });
    expect(obj.metadata.labels).toEqual({});
  });

  it('applies a JSON patch given as kind/name', async () => {
    const fake = seeded();
    const r = await runCli(fake, ['patch', 'cs/web', '--type', 'json', '-p', '[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/template/spec/image","value":"nginx:1.27"}]']);
    expect(r.out).toBe('containerset/web patched\n');
    expect(stored(fake, 'web').spec.template.spec.image).toBe('nginx:1.27');
  });

  it('writes nothing and says so when the patch changes nothing', async () => {
    const fake = countingUpdates(seeded());
    const r = await runCli(fake, ['patch', 'cs', 'web', '-p', 'spec: {replicas: 2}']);
    expect(r.out).toBe('containerset/web patched (no change)\n');
    expect(updates(fake)).toBe(0);
  });

  it('re-applies the patch to a fresh read after a conflict', async () => {
    const fake = countingUpdates(seeded(), 2);
    const r = await runCli(fake, ['patch', 'cs', 'web', '-p', '{"spec":{"replicas":7}}']);
    expect(r.code).toBe(0);
    expect(updates(fake)).toBe(3);
    expect(stored(fake, 'web').spec.replicas).toBe(7);
  });

  it('refuses a failed JSON patch test, an unknown field and a rename, storing nothing', async () => {
    const fake = countingUpdates(seeded());
    const test = await runCli(fake, ['patch', 'cs', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":9},{"op":"test","path":"/spec/replicas","value":2}]']);
    expect(test).toMatchObject({ code: 1, err: 'error: testing value /spec/replicas failed: it is 9, not 2\n' });
    const unknown = await runCli(fake, ['patch', 'cs', 'web', '-p', '{"spec":{"replica":3}}']);
    expect(unknown).toMatchObject({ code: 1, err: 'error: ContainerSet "web" is invalid: spec.replica: unknown field "replica"\n' });
    const renamed = await runCli(fake, ['patch', 'cs', 'web', '-p', '{"metadata":{"name":"other"}}']);
    expect(renamed.err).toBe('error: At least one of apiVersion, kind, name and namespace was changed\n');
    expect(updates(fake)).toBe(0);
    expect(stored(fake, 'web').spec.replicas).toBe(2);
  });

  it('rejects a patch that is not JSON or YAML, a missing patch and strategic patches', async () => {
    expect((await runCli(seeded(), ['patch', 'cs', 'web', '-p', '{"spec":'])).err).toMatch(/^error: unable to parse "\{\\"spec\\":"/);
    expect((await runCli(seeded(), ['patch', 'cs', 'web'])).err).toContain('must specify --patch or --patch-file');
    expect((await runCli(seeded(), ['patch', 'cs', 'web', '--type', 'strategic', '-p', '{}'])).err).toContain('strategic merge patch is not supported');
  });
});
