// The resource API end to end over mTLS gRPC against real etcd: CRUD semantics, conflicts,
// generation and status, apply, selectors and paging, namespaces, finalizers, owners, dry-run.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { status as Code } from '@grpc/grpc-js';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

let api: TestApiServer;
beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
});
afterAll(async () => api?.stop());

const container = (name: string, extra: Partial<Resource> = {}, spec: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, ...(extra.metadata ?? {}) },
  spec: { image: 'persys/busybox:test', ...spec },
});

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exists = (kind: string, name: string, ns = 'default') =>
  api.client.get(kind, name, ns).then(
    () => true,
    (e: ApiError) => (e.code === Code.NOT_FOUND ? false : Promise.reject(e)),
  );

describe('create, get, update, delete', () => {
  it('creates an object with server-set uid, creationTimestamp, generation 1 and a resourceVersion', async () => {
    const created = await api.client.create(container('crud-a'));
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.creationTimestamp).toMatch(/Z$/);
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.namespace).toBe('default');
    expect(Number(created.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(created.spec.restartPolicy).toBe('Always');
    const got = await api.client.get('Container', 'crud-a', 'default');
    expect(got).toEqual(created);
  });

  it('refuses a second create of the same name with ALREADY_EXISTS', async () => {
    await api.client.create(container('crud-dup'));
    const err = await apiError(api.client.create(container('crud-dup')));
    expect(err.code).toBe(Code.ALREADY_EXISTS);
    expect(err.message).toContain('Container "crud-dup" already exists');
  });

  it('refuses an object over the size limit by its JSON size, on create and on update, and stores nothing', async () => {
    const secret = (blob: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'crud-big', namespace: 'default' }, stringData: { blob } } as Resource);
    // Under the limit on the wire, but its JSON (with the escapes a control character needs) is over it.
    const escaped = '\u0001'.repeat(300_000);
    for (const write of [(o: Resource) => api.client.create(o), (o: Resource) => api.client.update(o)]) {
      const err = await apiError(write(secret(escaped)));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toMatch(/object is \d+ bytes, the limit is 1572864/);
      expect(await exists('Secret', 'crud-big')).toBe(false);
    }
    const small = await api.client.create(secret('fits'));
    expect(small.metadata.generation).toBe(1);
  });

  it('fails an update with a stale resourceVersion with ABORTED and keeps the stored object', async () => {
    const v1 = await api.client.create(container('crud-cas'));
    const v2 = await api.client.update({ ...v1, spec: { ...v1.spec, args: ['one'] } });
    const err = await apiError(api.client.update({ ...v1, spec: { ...v1.spec, args: ['stale'] } }));
    expect(err.code).toBe(Code.ABORTED);
    expect((await api.client.get('Container', 'crud-cas', 'default')).spec.args).toEqual(['one']);
    expect(v2.metadata.resourceVersion).not.toBe(v1.metadata.resourceVersion);
  });

  it('bumps generation for spec changes only, not for labels or status', async () => {
    const v1 = await api.client.create(container('crud-gen'));
    const labelled = await api.client.update({ ...v1, metadata: { ...v1.metadata, labels: { a: 'b' } } });
    expect(labelled.metadata.generation).toBe(1);
    const withStatus = await api.client.updateStatus({ ...labelled, status: { phase: 'Running' } });
    expect(withStatus.metadata.generation).toBe(1);
    const changed = await api.client.update({ ...withStatus, spec: { ...withStatus.spec, args: ['x'] } });
    expect(changed.metadata.generation).toBe(2);
  });

  it('writes status only through UpdateStatus: Update and Create ignore it', async () => {
    const created = await api.client.create({ ...container('crud-status'), status: { phase: 'Running' } });
    expect(created.status).toBeUndefined();
    const st = await api.client.updateStatus({ ...created, status: { phase: 'Running', restartCount: 2 } });
    expect(st.status).toEqual({ phase: 'Running', restartCount: 2 });
    const upd = await api.client.update({ ...st, status: { phase: 'Failed' }, spec: { ...st.spec, args: ['a'] } });
    expect(upd.status).toEqual({ phase: 'Running', restartCount: 2 });
    const stSpec = await api.client.updateStatus({ ...upd, spec: { ...upd.spec, image: 'other:1' }, status: { phase: 'Succeeded' } });
    expect(stSpec.spec.image).toBe('persys/busybox:test');
  });

  it('deletes with a resourceVersion precondition and reports NOT_FOUND afterwards', async () => {
    const v1 = await api.client.create(container('crud-del'));
    await api.client.update({ ...v1, metadata: { ...v1.metadata, labels: { x: 'y' } } });
    const err = await apiError(api.client.delete('Container', 'crud-del', 'default', { resourceVersion: v1.metadata.resourceVersion }));
    expect(err.code).toBe(Code.ABORTED);
    await api.client.delete('Container', 'crud-del', 'default');
    const gone = await apiError(api.client.get('Container', 'crud-del', 'default'));
    expect(gone.code).toBe(Code.NOT_FOUND);
    expect(gone.message).toBe('Container "crud-del" not found in namespace "default"');
  });

  it('names generated objects from generateName', async () => {
    const created = await api.client.create({ ...container(''), metadata: { generateName: 'gen-' } });
    expect(created.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it('answers an unknown kind with NOT_FOUND naming it', async () => {
    const err = await apiError(api.client.get('pods', 'x'));
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.message).toContain('"pods"');
  });
});

describe('bind', () => {
  it('sets spec.nodeName and the Scheduled status in one write, keeping the status the agent wrote', async () => {
    const created = await api.client.create(container('bind-one'));
    const withReady = await api.client.updateStatus({ ...created, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'NotBound' }] } });
    const bound = await api.client.bind('default', 'bind-one', 'node-a', { resourceVersion: withReady.metadata.resourceVersion });
    expect(bound.spec.nodeName).toBe('node-a');
    expect(Number(bound.metadata.resourceVersion)).toBe(Number(withReady.metadata.resourceVersion) + 1);
    expect(bound.metadata.generation).toBe(2);
    expect(bound.status.phase).toBe('Scheduled');
    expect(bound.status.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'NotBound' },
      expect.objectContaining({ type: 'Scheduled', status: 'True', reason: 'Scheduled', message: 'assigned to node node-a', observedGeneration: 2 }),
    ]);
    expect(await api.client.get('Container', 'bind-one', 'default')).toEqual(bound);
  });

  it('returns a Container bound to the same node unchanged and refuses another node with FAILED_PRECONDITION', async () => {
    await api.client.create(container('bind-twice'));
    const first = await api.client.bind('default', 'bind-twice', 'node-a');
    expect(await api.client.bind('default', 'bind-twice', 'node-a')).toEqual(first);
    const err = await apiError(api.client.bind('default', 'bind-twice', 'node-b'));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toContain('already assigned to node "node-a"');
    expect((await api.client.get('Container', 'bind-twice', 'default')).spec.nodeName).toBe('node-a');
  });

  it('fails on a stale resourceVersion, a missing Container and a bad node name, and writes nothing', async () => {
    const v1 = await api.client.create(container('bind-stale'));
    const v2 = await api.client.update({ ...v1, metadata: { ...v1.metadata, labels: { x: 'y' } } });
    expect((await apiError(api.client.bind('default', 'bind-stale', 'node-a', { resourceVersion: v1.metadata.resourceVersion }))).code).toBe(Code.ABORTED);
    const bad = await apiError(api.client.bind('default', 'bind-stale', 'Node_A'));
    expect(bad.code).toBe(Code.INVALID_ARGUMENT);
    expect(bad.message).toContain('nodeName');
    expect(await api.client.get('Container', 'bind-stale', 'default')).toEqual(v2);
    expect((await apiError(api.client.bind('default', 'bind-missing', 'node-a'))).code).toBe(Code.NOT_FOUND);
  });
});

describe('dry run', () => {
  it('validates and returns the result of every mutating verb without storing anything', async () => {
    const dry = await api.client.create(container('dry-a'), { dryRun: true });
    expect(dry.metadata.uid).toBeTruthy();
    expect(await exists('Container', 'dry-a')).toBe(false);
    const applied = await api.client.apply(container('dry-a'), { dryRun: true });
    expect(applied.result).toBe('created');
    expect(await exists('Container', 'dry-a')).toBe(false);

    const real = await api.client.create(container('dry-b'));
    await api.client.update({ ...real, spec: { ...real.spec, args: ['x'] } }, { dryRun: true });
    expect((await api.client.get('Container', 'dry-b', 'default')).metadata.resourceVersion).toBe(real.metadata.resourceVersion);
    await api.client.delete('Container', 'dry-b', 'default', { dryRun: true });
    expect(await exists('Container', 'dry-b')).toBe(true);
  });
});

describe('apply', () => {
  const manifest = `
apiVersion: persys.dev/v1
kind: Container
metadata:
  name: web-apply
  labels: { app: web, tier: frontend }
spec:
  image: persys/busybox:test
  command: [httpd, -f, -p, "8080"]
  env:
    - { name: MODE, value: prod }
`;

  it('creates, then writes nothing when the same manifest is applied again', async () => {
    const first = await api.client.apply(manifest);
    expect(first.result).toBe('created');
    const second = await api.client.apply(manifest);
    expect(second.result).toBe('unchanged');
    expect(second.object.metadata.resourceVersion).toBe(first.object.metadata.resourceVersion);
  });

  it('removes a field dropped from the manifest but keeps fields set by others and the status', async () => {
    const live = await api.client.get('Container', 'web-apply', 'default');
    await api.client.update({ ...live, spec: { ...live.spec, nodeName: 'node-1' } });
    await api.client.updateStatus({ ...(await api.client.get('Container', 'web-apply', 'default')), status: { phase: 'Running' } });
    const trimmed = manifest.replace('  env:\n    - { name: MODE, value: prod }\n', '').replace(', tier: frontend', '');
    const res = await api.client.apply(trimmed);
    expect(res.result).toBe('configured');
    expect(res.object.spec.env).toBeUndefined();
    expect(res.object.metadata.labels).toEqual({ app: 'web' });
    expect(res.object.spec.nodeName).toBe('node-1');
    expect(res.object.status).toEqual({ phase: 'Running' });
    expect(res.object.metadata.generation).toBe(3);
  });

  it('rejects unknown fields in the manifest with the field path and stores nothing', async () => {
    const err = await apiError(api.client.apply(manifest.replace('web-apply', 'web-unknown').replace('  image:', '  pullPolicy: Always\n  image:')));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('spec.pullPolicy: unknown field "pullPolicy"');
    expect(await exists('Container', 'web-unknown')).toBe(false);
  });

  it('names the line of malformed YAML', async () => {
    const err = await apiError(api.client.apply('apiVersion: persys.dev/v1\nkind: Container\nmetadata: {name: x\n'));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(/line \d+/);
  });
});

describe('invalid objects are refused and nothing is stored', () => {
  const cases: [string, Resource, string][] = [
    ['no image', { ...container('inv-a'), spec: {} }, 'spec.image'],
    ['bad port', container('inv-b', {}, { ports: [{ containerPort: 80 }, { containerPort: 70000 }] }), 'spec.ports[1].containerPort'],
    ['bad quantity', container('inv-c', {}, { resources: { limits: { memory: '12XB' } } }), 'spec.resources.limits.memory'],
    ['bad name', container('Bad_Name'), 'metadata.name'],
    ['bad restart policy', container('inv-d', {}, { restartPolicy: 'Sometimes' }), 'spec.restartPolicy'],
  ];
  it.each(cases)('%s', async (_what, obj, path) => {
    for (const send of [() => api.client.create(obj), () => api.client.apply(obj)]) {
      const err = await apiError(send());
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toContain(path);
    }
    expect(await exists('Container', obj.metadata.name!)).toBe(false);
  });
});

describe('list: selectors and paging', () => {
  beforeAll(async () => {
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: 'paging' } });
    for (let i = 0; i < 12; i++) {
      await api.client.create({
        ...container(`p-${String(i).padStart(2, '0')}`, { metadata: { namespace: 'paging', labels: { app: i % 2 ? 'odd' : 'even', idx: String(i) } } }, i < 3 ? { nodeName: 'node-a' } : {}),
      });
    }
  });

  it('filters by label selector and field selector', async () => {
    const odd = await api.client.list('containers', { namespace: 'paging', labelSelector: 'app=odd' });
    expect(odd.items.map((i) => i.metadata.name)).toEqual(['p-01', 'p-03', 'p-05', 'p-07', 'p-09', 'p-11']);
    const some = await api.client.list('ct', { namespace: 'paging', labelSelector: 'idx in (1,2,3),app!=odd' });
    expect(some.items.map((i) => i.metadata.name)).toEqual(['p-02']);
    const onNode = await api.client.list('Container', { namespace: 'paging', fieldSelector: 'spec.nodeName=node-a' });
    expect(onNode.items).toHaveLength(3);
    const err = await apiError(api.client.list('Container', { fieldSelector: 'spec.image=x' }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
  });

  it('pages with limit and continue, every item exactly once at one revision', async () => {
    const seen: string[] = [];
    let token = '';
    let rv = '';
    let pages = 0;
    do {
      const page = await api.client.list('Container', { namespace: 'paging', limit: 5, continue: token });
      if (!rv) rv = page.resourceVersion;
      expect(page.resourceVersion).toBe(rv);
      expect(page.items.length).toBeLessThanOrEqual(5);
      seen.push(...page.items.map((i) => i.metadata.name!));
      token = page.continue;
      if (pages === 0) {
        expect(page.remainingItemCount).toBe(7);
        await api.client.create(container('p-99', { metadata: { namespace: 'paging' } }));
      }
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
    expect(seen).not.toContain('p-99');
  });

  it('lists across namespaces when no namespace is given', async () => {
    const all = await api.client.list('Container', { labelSelector: 'idx' });
    expect(all.items.every((i) => i.metadata.namespace === 'paging')).toBe(true);
    expect(all.items.length).toBe(12);
  });
});

describe('namespaces', () => {
  it('refuses to delete the default namespace', async () => {
    const err = await apiError(api.client.delete('Namespace', 'default'));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(await exists('Namespace', 'default', '')).toBe(true);
  });

  it('refuses objects in a namespace that does not exist', async () => {
    const err = await apiError(api.client.create(container('ns-a', { metadata: { namespace: 'nowhere' } })));
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.message).toContain('Namespace "nowhere" not found');
  });

  it('deleting a namespace deletes everything in it, then the namespace', async () => {
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await api.client.create(container('ns-b', { metadata: { namespace: 'doomed' } }));
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 's', namespace: 'doomed' }, stringData: { a: 'b' } });
    const terminating = await api.client.delete('Namespace', 'doomed');
    expect(terminating.status?.phase).toBe('Terminating');
    const err = await apiError(api.client.create(container('ns-c', { metadata: { namespace: 'doomed' } })));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    const gone = await eventually(() => exists('Namespace', 'doomed', ''), (e) => !e);
    expect(gone).toBe(false);
    expect(await exists('Container', 'ns-b', 'doomed')).toBe(false);
    expect(await exists('Secret', 's', 'doomed')).toBe(false);
  });
});

describe('finalizers and owners', () => {
  it('a finalizer holds deletion until it is removed', async () => {
    await api.client.create(container('fin-a', { metadata: { finalizers: ['example.com/hold'] } }));
    const marked = await api.client.delete('Container', 'fin-a', 'default');
    expect(marked.metadata.deletionTimestamp).toBeTruthy();
    const live = await api.client.get('Container', 'fin-a', 'default');
    expect(live.metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);
    await api.client.update({ ...live, metadata: { ...live.metadata, finalizers: [] } });
    expect(await exists('Container', 'fin-a')).toBe(false);
  });

  it('deleting an owner deletes its dependents in the background', async () => {
    const owner = await api.client.create({
      apiVersion: 'persys.dev/v1',
      kind: 'ContainerSet',
      metadata: { name: 'owner-a' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'o' } }, template: { metadata: { labels: { app: 'o' } }, spec: { image: 'persys/busybox:test' } } },
    });
    const ref = { apiVersion: 'persys.dev/v1', kind: 'ContainerSet', name: 'owner-a', uid: owner.metadata.uid!, controller: true };
    await api.client.create(container('dep-a', { metadata: { ownerReferences: [ref] } }));
    await api.client.create(container('dep-b', { metadata: { ownerReferences: [ref] } }));
    await api.client.create(container('not-dep'));
    await api.client.delete('ContainerSet', 'owner-a', 'default');
    await eventually(() => exists('Container', 'dep-b'), (e) => !e);
    expect(await exists('Container', 'dep-a')).toBe(false);
    expect(await exists('Container', 'dep-b')).toBe(false);
    expect(await exists('Container', 'not-dep')).toBe(true);
  });

  it('orphan propagation keeps dependents and drops their owner reference', async () => {
    const owner = await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'owner-b' }, stringData: { k: 'v' } });
    const ref = { apiVersion: 'persys.dev/v1', kind: 'Secret', name: 'owner-b', uid: owner.metadata.uid! };
    await api.client.create(container('orphan-a', { metadata: { ownerReferences: [ref] } }));
    await api.client.delete('Secret', 'owner-b', 'default', { propagationPolicy: 'Orphan' });
    const orphan = await api.client.get('Container', 'orphan-a', 'default');
    expect(orphan.metadata.ownerReferences ?? []).toEqual([]);
  });
});
