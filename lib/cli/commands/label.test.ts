// persys label and annotate, run in-process against the in-memory FakeClient.
import { describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import { countingUpdates, seeded, stored, updates } from '../testing/updates.js';

describe('persys label and annotate', () => {
  it('adds and removes labels, and says "not labeled" when nothing changes', async () => {
    const fake = countingUpdates(seeded());
    const r = await runCli(fake, ['label', 'cs', 'api', 'zone=a', 'tier-']);
    expect(r).toMatchObject({ code: 0, out: 'containerset/api labeled\n' });
    expect(stored(fake, 'api').metadata.labels).toEqual({ app: 'api', zone: 'a' });
    const again = await runCli(fake, ['label', 'cs/api', 'ghost-']);
    expect(again.out).toBe('label "ghost" not found.\ncontainerset/api not labeled\n');
    expect(updates(fake)).toBe(1);
  });

  it('refuses to change a label without --overwrite, and changes it with', async () => {
    const fake = seeded();
    const r = await runCli(fake, ['label', 'cs', 'api', 'tier=front']);
    expect(r).toMatchObject({ code: 1, err: "error: 'tier' already has a value (back), and --overwrite is false\n" });
    expect(stored(fake, 'api').metadata.labels!.tier).toBe('back');
    expect((await runCli(fake, ['label', 'cs', 'api', 'tier=front', '--overwrite'])).code).toBe(0);
    expect(stored(fake, 'api').metadata.labels!.tier).toBe('front');
  });

  it('labels every object matched by -l, or every one with --all', async () => {
    const fake = seeded();
    const r = await runCli(fake, ['label', 'cs', '-l', 'app=web', 'checked=yes']);
    expect(r.out).toBe('containerset/web labeled\n');
    expect(stored(fake, 'api').metadata.labels!.checked).toBeUndefined();
    const all = await runCli(fake, ['annotate', 'cs', '--all', 'note=hello world']);
    expect(all.out).toBe('containerset/web annotated\ncontainerset/api annotated\n');
    expect(stored(fake, 'api').metadata.annotations).toEqual({ note: 'hello world' });
  });

  it("words annotate's overwrite refusal as kubectl does", async () => {
    const fake = seeded();
    await runCli(fake, ['annotate', 'cs', 'web', 'note=a']);
    const r = await runCli(fake, ['annotate', 'cs', 'web', 'note=b']);
    expect(r.err).toBe("error: --overwrite is false but found the following declared annotation(s): 'note' already has a value (a)\n");
  });

  it('needs an object and an update', async () => {
    expect((await runCli(seeded(), ['label', 'cs', 'zone=a'])).err).toContain('one or more resources must be specified');
    expect((await runCli(seeded(), ['label', 'cs', 'web'])).err).toContain('at least one label update is required');
  });
});
