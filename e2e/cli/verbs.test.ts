// kubectl's everyday verbs through the real `persys` executable against a real API server and etcd:
// get with JSONPath, custom columns, --sort-by and several kinds; label, annotate, patch, set image
// and edit (with EDITOR set to a script, no terminal). Each change is checked by reading it back.
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { TestCluster, type CliRun } from '../harness/cluster.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/persys.js');
const NS = 'verbs';

let cluster: TestCluster;

/** `persys ARGS -n verbs` as the admin, with extra environment (EDITOR) and no terminal. */
function persys(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliRun> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args, '-n', NS],
      { cwd: cluster.dir, env: { ...process.env, PERSYS_CONFIG: join(cluster.dir, 'config.yaml'), PERSYS_LOG_LEVEL: 'warn', ...opts.env }, timeout: 60_000 },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(opts.input ?? '');
  });
}

const set = (name: string, replicas: number) => `apiVersion: persys.dev/v1
kind: ContainerSet
metadata: {name: ${name}, namespace: ${NS}, labels: {app: ${name}}}
spec:
  replicas: ${replicas}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {image: "nginx:1.26", ports: [{containerPort: 80}]}
`;

const live = async (kind: string, name: string) => cluster.client.get(kind, name, NS);

/** An EDITOR: a shell script run with the file as $1; it appends each file it is given to NAME.seen. */
function editor(name: string, body: string): string {
  const path = join(cluster.dir, name);
  writeFileSync(path, `#!/bin/sh\ncat "$1" >> ${path}.seen\necho ===== >> ${path}.seen\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
const seen = (name: string) => readFileSync(join(cluster.dir, `${name}.seen`), 'utf8').split('=====\n').filter(Boolean);

beforeAll(async () => {
  cluster = await TestCluster.start({ agents: [], controllers: false });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
  const manifests = [
    set('web', 3),
    set('api', 10),
    `apiVersion: persys.dev/v1\nkind: Container\nmetadata: {name: solo, namespace: ${NS}}\nspec: {image: "busybox:1.36", nodeName: n1}\n`,
    `apiVersion: persys.dev/v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: ${NS}}\ndata: {a: b}\n`,
  ].join('---\n');
  const applied = await persys(['apply', '-f', '-'], { input: manifests });
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('persys get output habits', () => {
  it('prints a jsonpath template over the List, sorted numerically by --sort-by', async () => {
    // As text "10" sorts before "3"; as numbers web (3) comes first.
    const r = await persys(['get', 'cs', '--sort-by', '.spec.replicas', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.replicas}{"\\n"}{end}']);
    expect(r).toMatchObject({ code: 0, stdout: 'web=3\napi=10\n', stderr: '' });
    const one = await persys(['get', 'ct', 'solo', '-o', 'jsonpath={.spec.image}']);
    expect(one.stdout).toBe('busybox:1.36');
    const filtered = await persys(['get', 'cs', '-o', 'jsonpath={.items[?(@.spec.replicas>5)].metadata.name}']);
    expect(filtered.stdout).toBe('api');
  });

  it('fails a bad jsonpath with exit 1 and the parse error', async () => {
    const r = await persys(['get', 'cs', '-o', 'jsonpath={.items[}']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: error parsing jsonpath {.items[}, unclosed action\n');
  });

  it('prints custom columns, <none> where a field is missing, with and without headers', async () => {
    const r = await persys(['get', 'ct', '-o', 'custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,PHASE:.status.phase']);
    expect(r.stdout).toBe('NAME   NODE   PHASE\nsolo   n1     <none>\n');
    const bare = await persys(['get', 'cs', '--no-headers', '--sort-by', '{.metadata.name}', '-o', 'custom-columns=N:.metadata.name,R:.spec.replicas']);
    expect(bare.stdout).toBe('api   10\nweb   3\n');
  });

  it('gets several kinds at once as tables of kind/name, and `all` workload kinds', async () => {
    const r = await persys(['get', 'cs,ct', '--sort-by', '.metadata.name']);
    expect(r.code).toBe(0);
    const [sets, containers] = r.stdout.split('\n\n');
    expect(sets).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ncontainerset\/api\s+0\/10\s.*\ncontainerset\/web\s+0\/3\s/);
    expect(containers).toMatch(/^NAME\s+IMAGE\s+NODE\s+STATUS\s+RESTARTS\s+AGE\ncontainer\/solo\s+busybox:1\.36\s+n1\s/);
    const all = await persys(['get', 'all', '-o', 'name']);
    expect(all.stdout.split('\n').filter(Boolean).sort()).toEqual(['container/solo', 'containerset/api', 'containerset/web']);
  });
});

describe('persys label and annotate', () => {
  it('labels, refuses to overwrite without --overwrite, and selects by the new label', async () => {
    expect((await persys(['label', 'cs', 'web', 'tier=front'])).stdout).toBe('containerset/web labeled\n');
    const again = await persys(['label', 'cs/web', 'tier=back']);
    expect(again).toMatchObject({ code: 1, stderr: "error: 'tier' already has a value (front), and --overwrite is false\n" });
    expect((await live('ContainerSet', 'web')).metadata.labels).toEqual({ app: 'web', tier: 'front' });
    expect((await persys(['label', 'cs/web', 'tier=back', '--overwrite'])).code).toBe(0);
    expect((await persys(['get', 'cs', '-l', 'tier=back', '-o', 'name'])).stdout).toBe('containerset/web\n');
    expect((await persys(['label', 'cs', 'web', 'tier-'])).stdout).toBe('containerset/web labeled\n');
    expect((await live('ContainerSet', 'web')).metadata.labels).toEqual({ app: 'web' });
  });

  it('loses no label when several persys processes label one object at once', async () => {
    const runs = await Promise.all([1, 2, 3, 4, 5].map((i) => persys(['label', 'cs', 'api', `writer${i}=yes`])));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
    const labels = (await live('ContainerSet', 'api')).metadata.labels ?? {};
    expect(Object.keys(labels).filter((k) => k.startsWith('writer')).sort()).toEqual(['writer1', 'writer2', 'writer3', 'writer4', 'writer5']);
  });

  it("leaves a bad label value to the server's validation", async () => {
    const r = await persys(['label', 'cs', 'web', 'tier=not valid!']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error from server \(Invalid\): ContainerSet "web" is invalid: metadata\.labels\[tier\]: invalid value "not valid!"/);
  });

  it('annotates every object of a kind with --all', async () => {
    const r = await persys(['annotate', 'cs', '--all', 'owner=team a']);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['containerset/api annotated', 'containerset/web annotated']);
    expect((await live('ContainerSet', 'api')).metadata.annotations?.owner).toBe('team a');
  });
});

describe('persys patch', () => {
  it('applies a merge patch, and says (no change) for one that changes nothing', async () => {
    const before = await live('ContainerSet', 'api');
    expect((await persys(['patch', 'cs', 'api', '-p', '{"spec":{"replicas":4}}'])).stdout).toBe('containerset/api patched\n');
    const after = await live('ContainerSet', 'api');
    expect(after.spec.replicas).toBe(4);
    expect(after.metadata.generation).toBe((before.metadata.generation ?? 1) + 1);
    const same = await persys(['patch', 'cs', 'api', '-p', '{"spec":{"replicas":4}}']);
    expect(same.stdout).toBe('containerset/api patched (no change)\n');
    expect((await live('ContainerSet', 'api')).metadata.resourceVersion).toBe(after.metadata.resourceVersion);
  });

  it('applies a JSON patch', async () => {
    const r = await persys(['patch', 'cs/api', '--type', 'json', '-p', '[{"op":"add","path":"/spec/template/spec/ports/-","value":{"containerPort":443}}]']);
    expect(r.code).toBe(0);
    const ports = (await live('ContainerSet', 'api')).spec.template.spec.ports as { containerPort: number }[];
    expect(ports.map((p) => p.containerPort)).toEqual([80, 443]);
  });

  it('stores nothing when the patched object is invalid, failing with the server validation error', async () => {
    const before = await live('ContainerSet', 'api');
    const r = await persys(['patch', 'cs', 'api', '-p', '{"spec":{"replicas":-1,"template":{"spec":{"image":"nginx:1.27"}}}}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error from server \(Invalid\): ContainerSet "api" is invalid: spec\.replicas/);
    const after = await live('ContainerSet', 'api');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.spec.template.spec.image).toBe('nginx:1.26');
    const failedTest = await persys(['patch', 'cs', 'api', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/replicas","value":8},{"op":"test","path":"/spec/replicas","value":99}]']);
    expect(failedTest).toMatchObject({ code: 1, stderr: 'error: testing value /spec/replicas failed: it is 8, not 99\n' });
    expect((await live('ContainerSet', 'api')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});

describe('persys set image', () => {
  it("sets a ContainerSet's template image by the set's name", async () => {
    expect((await persys(['set', 'image', 'cs/web', 'web=nginx:1.27'])).stdout).toBe('containerset/web image updated\n');
    expect((await live('ContainerSet', 'web')).spec.template.spec.image).toBe('nginx:1.27');
    const wrong = await persys(['set', 'image', 'cs/web', 'nginx=nginx:2']);
    expect(wrong).toMatchObject({ code: 1, stderr: 'error: unable to find container named "nginx"\n' });
    expect((await persys(['set', 'image', 'ct', 'solo', '*=busybox:1.37'])).code).toBe(0);
    expect((await live('Container', 'solo')).spec.image).toBe('busybox:1.37');
  });
});

describe('persys edit', () => {
  it('saves an edit made by $EDITOR with the resourceVersion it read', async () => {
    const r = await persys(['edit', 'cs', 'web'], { env: { EDITOR: editor('six', `sed -i 's/replicas: 3/replicas: 6/' "$1"`) } });
    expect(r).toMatchObject({ code: 0, stdout: 'containerset/web edited\n' });
    expect((await live('ContainerSet', 'web')).spec.replicas).toBe(6);
    const opened = YAML.parse(seen('six')[0]!.split('\n').filter((l) => !l.startsWith('#')).join('\n'));
    expect(opened).toMatchObject({ kind: 'ContainerSet', metadata: { name: 'web', namespace: NS } });
  });

  it("reopens the file with the server's validation error, then saves the fixed object", async () => {
    const script = editor(
      'fix',
      `if grep -q 'was not valid' "$1"; then sed -i 's/replicas: -2/replicas: 2/' "$1"; else sed -i 's/replicas: 6/replicas: -2/' "$1"; fi`,
    );
    const r = await persys(['edit', 'containerset/web'], { env: { EDITOR: script } });
    expect(r).toMatchObject({ code: 0, stdout: 'containerset/web edited\n' });
    const [, reopened] = seen('fix');
    expect(reopened).toMatch(/^# Please edit the object below\./);
    expect(reopened).toMatch(/\n# containersets "web" was not valid:\n# \* ContainerSet "web" is invalid: spec\.replicas/);
    expect((await live('ContainerSet', 'web')).spec.replicas).toBe(2);
  });

  it('applies the edit to the newer version when the object changed while the editor was open', async () => {
    // The editor itself changes the object (as another user would) before saving its own change.
    const script = editor('race', `node ${BIN} label cs web during-edit=yes -n ${NS} >/dev/null && sed -i 's/replicas: 2/replicas: 7/' "$1"`);
    const before = await live('ContainerSet', 'web');
    const r = await persys(['edit', 'cs', 'web'], { env: { EDITOR: script } });
    expect(r).toMatchObject({ code: 0, stdout: 'containerset/web edited\n' });
    const after = await live('ContainerSet', 'web');
    expect(after.spec.replicas).toBe(7);
    expect(after.metadata.labels).toMatchObject({ 'during-edit': 'yes' });
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
  });

  it('changes nothing for an unchanged file', async () => {
    const before = await live('ContainerSet', 'web');
    const r = await persys(['edit', 'cs', 'web'], { env: { EDITOR: 'true' } });
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: 'Edit cancelled, no changes made.\n' });
    expect((await live('ContainerSet', 'web')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});
