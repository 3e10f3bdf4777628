// persys edit with EDITOR set to small shell scripts (no terminal), against the in-memory FakeClient.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import { countingUpdates, seeded, stored, updates } from '../testing/updates.js';

const dir = mkdtempSync(join(tmpdir(), 'persys-edit-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An editor: a shell script run with the file as $1, which also appends every file it is given to seen.log. */
function editor(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\ncat "$1" >> ${dir}/${name}.seen\necho '=====' >> ${dir}/${name}.seen\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
const seen = (name: string) => readFileSync(join(dir, `${name}.seen`), 'utf8').split('=====\n').filter(Boolean);
/** Removes the copy of refused changes an edit announced on stderr, and returns its text. */
function takeCopy(stderr: string): string {
  const path = /stored to "(.+)"/.exec(stderr)?.[1];
  if (!path) throw new Error(`no copy announced in: ${stderr}`);
  const text = readFileSync(path, 'utf8');
  rmSync(path);
  return text;
}

describe('persys edit', () => {
  it('opens the object as YAML under a comment header and saves the change', async () => {
    const fake = countingUpdates(seeded());
    const r = await runCli(fake, ['edit', 'cs', 'web'], { env: { EDITOR: editor('four', `sed -i 's/replicas: 2/replicas: 4/' "$1"`) } });
    expect(r).toMatchObject({ code: 0, out: 'containerset/web edited\n', err: '' });
    expect(stored(fake, 'web').spec.replicas).toBe(4);
    const [file] = seen('four');
    expect(file).toMatch(/^# Please edit the object below\. Lines beginning with a '#' will be ignored,\n/);
    expect(file).toContain('\nkind: ContainerSet\n');
    expect(file).toContain('\n  resourceVersion: "');
  });

  it('edits JSON with -o json', async () => {
    const fake = seeded();
    const r = await runCli(fake, ['edit', 'cs', 'web', '-o', 'json'], { env: { EDITOR: editor('json', `sed -i 's/"replicas": 2/"replicas": 8/' "$1"`) } });
    expect(r.code).toBe(0);
    expect(seen('json')[0]).toContain('\n    "kind": "ContainerSet",\n');
    expect(stored(fake, 'web').spec.replicas).toBe(8);
  });

  it('prefers PERSYS_EDITOR, then KUBE_EDITOR, then EDITOR', async () => {
    const fake = seeded();
    const env = { EDITOR: 'false', KUBE_EDITOR: editor('kube', `sed -i 's/replicas: 2/replicas: 3/' "$1"`) };
    expect((await runCli(fake, ['edit', 'cs/web'], { env })).code).toBe(0);
    expect(stored(fake, 'web').spec.replicas).toBe(3);
    const persys = await runCli(fake, ['edit', 'cs/web'], { env: { ...env, PERSYS_EDITOR: 'true' } });
    expect(persys).toMatchObject({ code: 0, out: '', err: 'Edit cancelled, no changes made.\n' });
  });

  it('cancels without writing when the file is saved unchanged or emptied', async () => {
    const fake = countingUpdates(seeded());
    expect((await runCli(fake, ['edit', 'cs', 'web'], { env: { EDITOR: 'true' } })).err).toBe('Edit cancelled, no changes made.\n');
    // A reformatted file with the same content is unchanged too.
    const reformatted = editor('reformat', `sed -i 's/^  replicas: 2$/  replicas: 0x2/' "$1"`);
    expect((await runCli(fake, ['edit', 'cs', 'web'], { env: { EDITOR: reformatted } })).err).toBe('Edit cancelled, no changes made.\n');
    expect((await runCli(fake, ['edit', 'cs', 'web'], { env: { EDITOR: 'truncate -s 0' } })).err).toBe('Edit cancelled, saved file was empty.\n');
    // Comments alone count as empty.
    expect((await runCli(fake, ['edit', 'cs', 'web'], { env: { EDITOR: editor('comments', `sed -i '/^[^#]/d' "$1"`) } })).err).toBe(
      'Edit cancelled, saved file was empty.\n',
    );
    expect(updates(fake)).toBe(0);
  });

  it('reopens an invalid edit with the error at the top, then saves the fixed one', async () => {
    const fake = countingUpdates(seeded());
    const script = editor(
      'fix',
      `if grep -q 'was not valid' "$1"; then sed -i 's/replica: 5/replicas: 5/' "$1"; else sed -i 's/replicas: 2/replica: 5/' "$1"; fi`,
    );
    const r = await runCli(fake, ['edit', 'cs', 'web'], { env: { EDITOR: script } });
    expect(r).toMatchObject({ code: 0, out: 'containerset/web edited\n' });
    const [first, second] = seen('fix');
    expect(first).not.toContain('was not valid');
    expect(second).toContain(
      '#\n# containersets "web" was not valid:\n# * ContainerSet "web" is invalid: spec.replica: unknown field "replica"\n#\n',
    );
    expect(second).toContain('  replica: 5');
    expect(stored(fake, 'web').spec.replicas).toBe(5);
    expect(updates(fake)).toBe(1);
  });

  it('gives up when an invalid file is saved again unchanged, keeping a copy', async () => {
    const fake = countingUpdates(seeded());
    const r = await runCli(fake, ['edit', 'cs', 'web'], { env: { EDITOR: editor('stubborn', `sed -i 's/replicas: 2/replicas: lots/' "$1"`) } });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^A copy of your changes has been stored to "(.+)"\nerror: Edit cancelled, no valid changes were saved\.\n$/);
    expect(takeCopy(r.err)).toContain('replicas: lots');
    expect(seen('stubborn')).toHaveLength(2);
    expect(updates(fake)).toBe(0);
  });

  it('applies the change to a newer version when the object changed while it was being edited', async () => {
    const fake = seeded();
    const get = fake.get.bind(fake);
    let reads = 0;
    fake.get = async (kind, name, ns) => {
      if (++reads === 2) {
        const now = stored(fake, 'web');
        fake.put({ ...now, metadata: { ...now.metadata, labels: { ...now.metadata.labels, concurrent: 'yes' } } });
      }
      return get(kind, name, ns);
    };
    const r = await runCli(fake, ['edit', 'cs', 'web'], { env: { EDITOR: editor('late', `sed -i 's/replicas: 2/replicas: 6/' "$1"`) } });
    expect(r.code).toBe(0);
    expect(stored(fake, 'web').spec.replicas).toBe(6);
    expect(stored(fake, 'web').metadata.labels).toEqual({ app: 'web', concurrent: 'yes' });
  });

  it('fails when the editor fails, and refuses a rename', async () => {
    const failed = await runCli(seeded(), ['edit', 'cs', 'web'], { env: { EDITOR: 'false' } });
    expect(failed.code).toBe(1);
    expect(failed.err).toContain('error: there was a problem with the editor "false"');
    takeCopy(failed.err);
    const fake = countingUpdates(seeded());
    const rename = await runCli(fake, ['edit', 'cs', 'web'], { env: { EDITOR: editor('rename', `sed -i 's/name: web$/name: other/' "$1"`) } });
    expect(rename.code).toBe(1);
    expect(seen('rename')[1]).toContain('# * At least one of apiVersion, kind, name and namespace was changed');
    expect(takeCopy(rename.err)).toContain('name: other');
    expect(updates(fake)).toBe(0);
  });
});
