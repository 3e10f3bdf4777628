// persys get, run in-process against the in-memory FakeClient.
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../api/resource.js';
import { FakeClient } from '../testing/fake-client.js';
import { runCli } from '../testing/run-cli.js';

const ct = (name: string, namespace = 'default', phase = 'Running'): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace, labels: { app: name }, creationTimestamp: '2024-05-01T11:57:00Z' },
  spec: { image: 'nginx', nodeName: 'n1' },
  status: { phase },
});

function seeded(): FakeClient {
  const fake = new FakeClient();
  fake.put(ct('web'));
  fake.put(ct('db'));
  fake.put(ct('api', 'shop'));
  return fake;
}

describe('persys get', () => {
  it('prints a table of the namespace\'s objects, resolving short names', async () => {
    const r = await runCli(seeded(), ['get', 'ct']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'NAME   IMAGE   NODE   STATUS    RESTARTS   AGE\n' +
        'web    nginx   n1     Running   0          3m\n' +
        'db     nginx   n1     Running   0          3m\n',
    );
  });

  it('adds a NAMESPACE column across all namespaces', async () => {
    const r = await runCli(seeded(), ['get', 'containers', '-A']);
    expect(r.out.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+IMAGE/);
    expect(r.out).toMatch(/\nshop\s+api\s+nginx/);
  });

  it('prints one object as bare YAML and several as a List', async () => {
    const one = await runCli(seeded(), ['get', 'container', 'web', '-o', 'yaml']);
    expect(YAML.parse(one.out)).toMatchObject({ kind: 'Container', metadata: { name: 'web' } });
    const many = await runCli(seeded(), ['get', 'ct', '-o', 'json']);
    const list = JSON.parse(many.out);
    expect(list.apiVersion).toBe('v1');
    expect(list.kind).toBe('List');
    expect(list.items.map((i: Resource) => i.metadata.name)).toEqual(['web', 'db']);
  });

  it('prints kind/name with -o name', async () => {
    const r = await runCli(seeded(), ['get', 'ct', '-o', 'name', '-n', 'shop']);
    expect(r.out).toBe('container/api\n');
  });

  it('reports a missing object as NotFound and exits 1, still printing the others', async () => {
    const r = await runCli(seeded(), ['get', 'ct', 'web', 'nope']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('Error from server (NotFound): Container "nope" not found\n');
    expect(r.out).toMatch(/^NAME.*\nweb\s/);
  });

  it('says "No resources found" on stderr and exits 0 for an empty list', async () => {
    const r = await runCli(seeded(), ['get', 'cronjobs']);
    expect(r).toMatchObject({ code: 0, out: '', err: 'No resources found in default namespace.\n' });
    const nodes = await runCli(seeded(), ['get', 'nodes']);
    expect(nodes.err).toBe('No resources found\n');
  });

  it('rejects an unknown output format', async () => {
    const r = await runCli(seeded(), ['get', 'ct', '-o', 'xml']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown output format "xml"');
  });

  it('watches from the list revision, printing a row per event until aborted', async () => {
    const fake = seeded();
    const abort = new AbortController();
    const changed = { ...ct('web', 'default', 'Failed'), metadata: { ...ct('web').metadata, resourceVersion: '200' } };
    fake.watchScripts.push({ events: [{ type: 'MODIFIED', object: changed, resourceVersion: '200' }], then: 'hang' });
    fake.onWatchIdle = () => abort.abort();
    const r = await runCli(fake, ['get', 'ct', '-w'], { signal: abort.signal });
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n')).toEqual([
      'NAME   IMAGE   NODE   STATUS    RESTARTS   AGE',
      'web    nginx   n1     Running   0          3m',
      'db     nginx   n1     Running   0          3m',
      'web    nginx   n1     Failed    0          3m',
    ]);
    expect(fake.calls.filter((c) => c.startsWith('watch'))).toEqual(['watch Container from 103']);
  });

  it('re-lists after a "too old" watch error and prints only what changed', async () => {
    const fake = seeded();
    const abort = new AbortController();
    fake.watchScripts.push({ events: [], then: 'too-old' });
    fake.onWatchIdle = () => abort.abort();
    const origList = fake.list.bind(fake);
    let lists = 0;
    fake.list = async (kind, opts) => {
      if (++lists === 2) fake.put(ct('db', 'default', 'Succeeded'));
      return origList(kind, opts);
    };
    const r = await runCli(fake, ['get', 'ct', '-w', '-o', 'name'], { signal: abort.signal });
    expect(r.code).toBe(0);
    expect(r.out).toBe('container/web\ncontainer/db\ncontainer/db\n');
    expect(fake.calls.filter((c) => c.startsWith('watch'))).toEqual(['watch Container from 103', 'watch Container from 104']);
  });
});

describe('persys get of a long list', () => {
  function many(n: number): FakeClient {
    const fake = new FakeClient();
    for (let i = 0; i < n; i++) fake.put(ct(`c${String(i).padStart(4, '0')}`, 'big'));
    return fake;
  }
  const lists = (fake: FakeClient) => fake.calls.filter((c) => c.startsWith('list'));

  it('lists in pages of 500 and prints one JSON List of every object', async () => {
    const fake = many(1203);
    const r = await runCli(fake, ['get', 'ct', '-n', 'big', '-o', 'json']);
    expect(r.code).toBe(0);
    const names = JSON.parse(r.out).items.map((i: Resource) => i.metadata.name);
    expect(names.length).toBe(1203);
    expect(new Set(names).size).toBe(1203);
    expect(lists(fake)).toEqual(['list Container/big', 'list Container/big from 500', 'list Container/big from 1000']);
  });

  it('prints a table with one header and a row per object across pages', async () => {
    const r = await runCli(many(1203), ['get', 'ct', '-n', 'big', '--chunk-size', '100']);
    const lines = r.out.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('NAME '))).toHaveLength(1);
    expect(lines.length).toBe(1204);
  });

  it('prints a name per line across pages, and lists in one call with --chunk-size 0', async () => {
    const fake = many(1203);
    const r = await runCli(fake, ['get', 'ct', '-n', 'big', '-o', 'name', '--chunk-size', '0']);
    expect(r.out.trimEnd().split('\n')).toHaveLength(1203);
    expect(lists(fake)).toEqual(['list Container/big']);
  });

  it('rejects a --chunk-size that is not a whole number', async () => {
    const r = await runCli(many(1), ['get', 'ct', '--chunk-size=-5']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('invalid --chunk-size "-5"');
    expect((await runCli(many(1), ['get', 'ct', '--chunk-size', 'lots'])).err).toContain('invalid --chunk-size "lots"');
  });

  it('prints the pages already read and exits 1 when a later page fails', async () => {
    const fake = many(1203);
    const origList = fake.list.bind(fake);
    fake.list = async (kind, opts) => {
      if (opts?.continue === '1000') throw new Error('connection reset');
      return origList(kind, opts);
    };
    const r = await runCli(fake, ['get', 'ct', '-n', 'big', '-o', 'name']);
    expect(r.code).toBe(1);
    expect(r.out.trimEnd().split('\n')).toHaveLength(1000);
    expect(r.err).toContain('connection reset');
  });
});
