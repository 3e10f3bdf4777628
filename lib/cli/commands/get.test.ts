// persys get, run in-process against the in-memory FakeClient.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('watches with custom columns and jsonpath, a row or a template per event', async () => {
    for (const [output, want] of [
      ['custom-columns=NAME:.metadata.name,PHASE:.status.phase', 'NAME   PHASE\nweb    Running\ndb     Running\nweb    Failed\n'],
      // As kubectl does with -w, the template applies to each object, the listed ones too.
      ['jsonpath={.metadata.name}={.status.phase}{"\\n"}', 'web=Running\ndb=Running\nweb=Failed\n'],
    ]) {
      const fake = seeded();
      const abort = new AbortController();
      const changed = { ...ct('web', 'default', 'Failed'), metadata: { ...ct('web').metadata, resourceVersion: '200' } };
      fake.watchScripts.push({ events: [{ type: 'MODIFIED', object: changed, resourceVersion: '200' }], then: 'hang' });
      fake.onWatchIdle = () => abort.abort();
      const r = await runCli(fake, ['get', 'ct', '-w', '-o', output!], { signal: abort.signal });
      expect(r.out).toBe(want);
    }
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

describe('persys get output habits', () => {
  const cs = (name: string, replicas: number, created: string): Resource => ({
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name, namespace: 'default', creationTimestamp: created },
    spec: { replicas, template: { spec: { image: `${name}:1` } } },
  });
  function withSets(): FakeClient {
    const fake = seeded();
    fake.put(cs('b-set', 10, '2024-05-01T11:00:00Z'));
    fake.put(cs('a-set', 9, '2024-05-01T11:30:00Z'));
    return fake;
  }

  it('prints a jsonpath template over the List, without adding a newline', async () => {
    const r = await runCli(seeded(), ['get', 'ct', '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(r).toMatchObject({ code: 0, out: 'web db', err: '' });
    const ranged = await runCli(seeded(), ['get', 'ct', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}']);
    expect(ranged.out).toBe('web=Running\ndb=Running\n');
  });

  it('applies a jsonpath template to the object itself when one is named', async () => {
    const r = await runCli(seeded(), ['get', 'ct', 'web', '-o', 'jsonpath={.spec.image}@{.metadata.labels.app}']);
    expect(r.out).toBe('nginx@web');
  });

  it('reads templates and columns from files, and fails on missing keys when told to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persys-get-'));
    writeFileSync(join(dir, 'names.tmpl'), '{range .items[*]}{.metadata.name};{end}');
    writeFileSync(join(dir, 'cols.txt'), 'NAME IMAGE\n.metadata.name .spec.image\n');
    expect((await runCli(seeded(), ['get', 'ct', '-o', `jsonpath-file=${join(dir, 'names.tmpl')}`])).out).toBe('web;db;');
    expect((await runCli(seeded(), ['get', 'ct', '-o', `custom-columns-file=${join(dir, 'cols.txt')}`])).out).toBe('NAME   IMAGE\nweb    nginx\ndb     nginx\n');
    rmSync(dir, { recursive: true });
    const strict = await runCli(seeded(), ['get', 'ct', 'web', '-o', 'jsonpath={.spec.nope}', '--allow-missing-template-keys=false']);
    expect(strict).toMatchObject({ code: 1, out: '', err: 'error: error executing jsonpath "{.spec.nope}": nope is not found\n' });
  });

  it('rejects a bad jsonpath before reading anything, naming the problem', async () => {
    const fake = seeded();
    const r = await runCli(fake, ['get', 'ct', '-o', 'jsonpath={.items[*}']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('error: error parsing jsonpath {.items[*}, unclosed action\n');
    expect(fake.calls).toEqual([]);
    const empty = await runCli(fake, ['get', 'ct', '-o', 'jsonpath=']);
    expect(empty.err).toBe('error: template format specified but no template given\n');
  });

  it('prints custom columns with <none> for missing fields, and without headers on request', async () => {
    const fake = seeded();
    fake.put({ ...ct('lone'), spec: { image: 'busybox' } });
    const r = await runCli(fake, ['get', 'ct', '-o', 'custom-columns=NAME:.metadata.name,NODE:.spec.nodeName']);
    expect(r.out).toBe('NAME   NODE\nweb    n1\ndb     n1\nlone   <none>\n');
    const bare = await runCli(fake, ['get', 'ct', '--no-headers', '-o', 'custom-columns=NAME:.metadata.name,NODE:.spec.nodeName']);
    expect(bare.out).toBe('web    n1\ndb     n1\nlone   <none>\n');
    const table = await runCli(fake, ['get', 'ct', '--no-headers']);
    expect(table.out.split('\n')[0]).toMatch(/^web\s+nginx\s+n1\s+Running/);
  });

  it('sorts by a field after reading every page, numbers by value', async () => {
    const fake = withSets();
    const r = await runCli(fake, ['get', 'cs', '--sort-by', '.spec.replicas', '-o', 'name', '--chunk-size', '1']);
    expect(r.out).toBe('containerset/a-set\ncontainerset/b-set\n');
    expect(fake.calls.filter((c) => c.startsWith('list'))).toEqual(['list ContainerSet/default', 'list ContainerSet/default from 1']);
    const byTime = await runCli(fake, ['get', 'cs', '--sort-by', '{.metadata.creationTimestamp}', '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(byTime.out).toBe('b-set a-set');
    const bad = await runCli(fake, ['get', 'cs', '--sort-by', '.spec[']);
    expect(bad).toMatchObject({ code: 1, err: 'error: error parsing jsonpath {.spec[}, unclosed action\n' });
  });

  it('prints a table per kind with kind/name rows for several kinds, and one List for -o json', async () => {
    const r = await runCli(withSets(), ['get', 'cs,ct']);
    expect(r.out).toBe(
      'NAME                 READY   UP-TO-DATE   AVAILABLE   AGE\n' +
        'containerset/b-set   0/10    0            0           60m\n' +
        'containerset/a-set   0/9     0            0           30m\n' +
        '\n' +
        'NAME            IMAGE   NODE   STATUS    RESTARTS   AGE\n' +
        'container/web   nginx   n1     Running   0          3m\n' +
        'container/db    nginx   n1     Running   0          3m\n',
    );
    const json = JSON.parse((await runCli(withSets(), ['get', 'ct,cs', '-o', 'json'])).out);
    expect(json.items.map((i: Resource) => `${i.kind}/${i.metadata.name}`)).toEqual(['Container/web', 'Container/db', 'ContainerSet/b-set', 'ContainerSet/a-set']);
  });

  it('gets all workload kinds with `all`, skipping kinds without objects', async () => {
    const fake = withSets();
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' } });
    const r = await runCli(fake, ['get', 'all', '-o', 'name']);
    expect(r.out).toBe('container/web\ncontainer/db\ncontainerset/b-set\ncontainerset/a-set\n');
    expect(fake.calls.filter((c) => c.startsWith('list')).map((c) => c.split('/')[0])).toEqual([
      'list Container',
      'list ContainerSet',
      'list ComposeStack',
      'list SwarmService',
      'list CronJob',
    ]);
    const empty = await runCli(new FakeClient(), ['get', 'all']);
    expect(empty).toMatchObject({ code: 0, out: '', err: 'No resources found in default namespace.\n' });
  });

  it('gets objects named kind/name, and refuses a kind given twice', async () => {
    const r = await runCli(withSets(), ['get', 'ct/web', 'cs/a-set', '-o', 'name']);
    expect(r.out).toBe('container/web\ncontainerset/a-set\n');
    const one = await runCli(withSets(), ['get', 'ct/web', '-o', 'yaml']);
    expect(YAML.parse(one.out).kind).toBe('Container');
    const mixed = await runCli(withSets(), ['get', 'ct', 'ct/web']);
    expect(mixed.code).toBe(1);
    expect(mixed.err).toContain('there is no need to specify a resource type as a separate argument');
  });
});

describe('persys get services and endpointslices', () => {
  const created = '2024-05-01T11:57:00Z';
  const svc = (name: string, clusterIp: string, ports: unknown[], ready: number, total: number): Resource => ({
    apiVersion: 'persys.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', creationTimestamp: created },
    spec: { selector: { app: name }, ports, clusterIp },
    status: { readyEndpoints: ready, totalEndpoints: total },
  });
  const endpoint = (i: number, ready = true) => ({
    containerName: `web-${i}`,
    nodeName: 'n1',
    nodeAddress: '192.0.2.1',
    containerIp: `172.17.0.${i}`,
    ready,
    ports: [{ name: 'http', port: 8080, hostPort: 30000 + i, protocol: 'TCP' }],
  });
  const slice = (name: string, endpoints: unknown[]): Resource => ({
    apiVersion: 'persys.dev/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', creationTimestamp: created },
    endpoints,
  });
  function fake(): FakeClient {
    const f = new FakeClient();
    f.put(svc('web', '10.96.0.10', [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'https', port: 443, protocol: 'TCP' }], 4, 5));
    f.put(svc('db', 'None', [{ port: 5432, protocol: 'TCP' }], 0, 0));
    f.put(slice('web', [1, 2, 3, 4].map((i) => endpoint(i)).concat([endpoint(5, false)])));
    f.put(slice('db', []));
    return f;
  }

  it('prints services with cluster IP, ports and ready/total endpoints (svc is the short name)', async () => {
    const r = await runCli(fake(), ['get', 'svc']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'NAME   CLUSTER-IP   PORTS            ENDPOINTS   AGE\n' +
        'web    10.96.0.10   80/TCP,443/TCP   4/5         3m\n' +
        'db     None         5432/TCP         0/0         3m\n',
    );
  });

  it('prints the selector with -o wide', async () => {
    const r = await runCli(fake(), ['get', 'services', '-o', 'wide']);
    expect(r.out.split('\n')[0]).toMatch(/AGE\s+SELECTOR$/);
    expect(r.out.split('\n')[1]).toMatch(/app=web$/);
  });

  it('prints endpoint slices as ready ip:port, three then "+ N more..." like kubectl', async () => {
    const r = await runCli(fake(), ['get', 'eps']);
    expect(r.out).toBe(
      'NAME   ENDPOINTS                                                     AGE\n' +
        'web    172.17.0.1:8080,172.17.0.2:8080,172.17.0.3:8080 + 1 more...   3m\n' +
        'db     <none>                                                        3m\n',
    );
    const wide = await runCli(fake(), ['get', 'endpointslices', '-o', 'wide']);
    expect(wide.out.split('\n')[1]).toContain('192.0.2.1:30001,192.0.2.1:30002,192.0.2.1:30003 + 1 more...');
  });

  it('prints services and their endpoint slices together', async () => {
    const r = await runCli(fake(), ['get', 'services,endpointslices']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('service/web');
    expect(r.out).toContain('endpointslice/web');
    expect(r.out).toMatch(/NAME\s+CLUSTER-IP\s+PORTS\s+ENDPOINTS\s+AGE/);
    expect(r.out).toMatch(/NAME\s+ENDPOINTS\s+AGE/);
  });
});
