// The informer against a real API server on the shared etcd: it follows creates, updates and
// deletes, resumes across an API server restart, and re-lists when its revision is too old.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import type { ListOptions, WatchOptions } from '../../lib/client/client.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { BY_NODE_NAME, BY_OWNER_UID, indexByNodeName, indexByOwnerUid } from './indexers.js';
import { Informer, type ListWatcher } from './informer.js';
import { waitFor } from '../../e2e/harness/wait.js';

const endpoint = inject('etcdEndpoint');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const container = (name: string, spec: Record<string, unknown> = {}, metadata: Resource['metadata'] = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default', ...metadata },
  spec: { image: 'persys/busybox:test', ...spec },
});

/**
 * Routes list and watch to whichever real API server is current, so one informer can live through
 * a server restart (a new server listens on a new port), and records what it was asked.
 */
class SwitchableServer implements ListWatcher {
  calls: { verb: 'list' | 'watch'; server: string; resourceVersion?: string }[] = [];
  constructor(
    public current: TestApiServer,
    public label: string,
  ) {}

  list(kind: string, opts?: ListOptions) {
    this.calls.push({ verb: 'list', server: this.label });
    return this.current.client.list(kind, opts);
  }

  watch(kind: string, opts?: WatchOptions) {
    this.calls.push({ verb: 'watch', server: this.label, resourceVersion: opts?.resourceVersion });
    return this.current.client.watch(kind, opts);
  }

  switchTo(server: TestApiServer, label: string) {
    this.current = server;
    this.label = label;
  }
}

function startInformer(client: ListWatcher) {
  const informer = new Informer({
    client,
    kind: 'Container',
    namespace: 'default',
    indexers: { [BY_NODE_NAME]: indexByNodeName, [BY_OWNER_UID]: indexByOwnerUid },
    // Real back-off shape, shortened so a restart is noticed quickly.
    delay: (ms, signal) => sleep(Math.min(ms, 50), undefined, { signal }).catch(() => undefined),
  });
  const events: string[] = [];
  const deleted: Resource[] = [];
  informer.addEventHandler({
    onAdd: (o) => events.push(`add ${o.metadata.name}`),
    onUpdate: (old, o) => events.push(`update ${o.metadata.name} ${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
    onDelete: (o) => {
      events.push(`delete ${o.metadata.name}`);
      deleted.push(o);
    },
  });
  informer.start();
  cleanups.push(() => informer.stop());
  return { informer, events, deleted };
}

describe('Informer against a real API server', () => {
  let api: TestApiServer;
  beforeAll(async () => {
    api = await startTestApiServer(endpoint, { bookmarkIntervalMs: 200 });
  });
  afterAll(async () => api?.stop());

  it('lists existing objects, then sees creates, updates and deletes and keeps its indexes current', async () => {
    await api.client.create(container('inf-a'));
    const { informer, events } = startInformer(api.client);
    await informer.waitForSync();
    expect(informer.get('default', 'inf-a')?.spec.image).toBe('persys/busybox:test');

    const emptyStamp = informer.indexStamp(BY_NODE_NAME, 'node-1');
    const b = await api.client.create(container('inf-b', { nodeName: 'node-1' }));
    await waitFor(() => informer.byIndex(BY_NODE_NAME, 'node-1').length === 1, 'inf-b indexed on node-1');
    const filedStamp = informer.indexStamp(BY_NODE_NAME, 'node-1');
    expect(filedStamp).not.toBe(emptyStamp);

    const a = informer.get('default', 'inf-a')!;
    const a2 = await api.client.update({ ...a, spec: { ...a.spec, args: ['serve'] } });
    await waitFor(() => informer.get('default', 'inf-a')?.metadata.resourceVersion === a2.metadata.resourceVersion, 'inf-a update');
    expect(informer.get('default', 'inf-a')?.spec.args).toEqual(['serve']);
    // inf-a is on no node: node-1's stamp holds; a change of inf-b moves it.
    expect(informer.indexStamp(BY_NODE_NAME, 'node-1')).toBe(filedStamp);
    const b2 = await api.client.update({ ...b, metadata: { ...b.metadata, labels: { v: '2' } } });
    await waitFor(() => informer.get('default', 'inf-b')?.metadata.resourceVersion === b2.metadata.resourceVersion, 'inf-b update');
    const changedStamp = informer.indexStamp(BY_NODE_NAME, 'node-1');
    expect(changedStamp).not.toBe(filedStamp);

    await api.client.create(container('inf-c', {}, { ownerReferences: [{ apiVersion: 'persys.dev/v1', kind: 'ContainerSet', name: 'set', uid: 'owner-uid-1' }] }));
    await waitFor(() => informer.byIndex(BY_OWNER_UID, 'owner-uid-1').length === 1, 'inf-c indexed by owner');

    await api.client.delete('Container', 'inf-b', 'default');
    await waitFor(() => informer.get('default', 'inf-b') === undefined, 'inf-b deleted');
    expect(informer.byIndex(BY_NODE_NAME, 'node-1')).toEqual([]);
    expect(informer.indexStamp(BY_NODE_NAME, 'node-1')).not.toBe(changedStamp);
    expect(events).toEqual([
      'add inf-a',
      'add inf-b',
      `update inf-a ${a.metadata.resourceVersion}->${a2.metadata.resourceVersion}`,
      `update inf-b ${b.metadata.resourceVersion}->${b2.metadata.resourceVersion}`,
      'add inf-c',
      'delete inf-b',
    ]);
    expect(b.metadata.uid).toBeTruthy();
  });

  it('moves its resourceVersion forward on bookmarks while its kind is quiet', async () => {
    const { informer } = startInformer(api.client);
    await informer.waitForSync();
    const before = BigInt(informer.lastSyncResourceVersion());
    // A write to another kind advances etcd's revision without any Container event.
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: `bm-${randomBytes(3).toString('hex')}`, namespace: 'default' } });
    await waitFor(() => BigInt(informer.lastSyncResourceVersion()) > before, 'a bookmark past the write', 10_000);
  });
});

describe('Informer across API server restarts', () => {
  const prefix = () => `/informer-test-${randomBytes(6).toString('hex')}`;

  it('resumes from its last resourceVersion on the restarted server and catches up, deletes included', async () => {
    const etcdPrefix = prefix();
    const first = await startTestApiServer(endpoint, { etcdPrefix });
    cleanups.push(() => first.stop());
    await first.client.create(container('keep'));
    await first.client.create(container('doomed'));
    const source = new SwitchableServer(first, 'first');
    const { informer, deleted } = startInformer(source);
    await informer.waitForSync();
    await waitFor(() => informer.list().length === 2, 'both objects cached');

    await first.stop();
    const lastSeen = informer.lastSyncResourceVersion();
    const second = await startTestApiServer(endpoint, { etcdPrefix });
    cleanups.push(() => second.stop());
    source.switchTo(second, 'second');

    await second.client.delete('Container', 'doomed', 'default');
    const keep = await second.client.get('Container', 'keep', 'default');
    const kept = await second.client.update({ ...keep, spec: { ...keep.spec, args: ['v2'] } });
    await second.client.create(container('fresh'));

    await waitFor(
      () =>
        informer.get('default', 'doomed') === undefined &&
        informer.get('default', 'keep')?.metadata.resourceVersion === kept.metadata.resourceVersion &&
        informer.get('default', 'fresh') !== undefined,
      'the informer to catch up with the restarted server',
    );
    const firstOnSecond = source.calls.find((c) => c.server === 'second')!;
    expect(firstOnSecond).toEqual({ verb: 'watch', server: 'second', resourceVersion: lastSeen });
    expect(deleted.map((o) => o.metadata.name)).toEqual(['doomed']);
  });

  it('lists again when its revision is older than the new server keeps, synthesizing deletes for vanished objects', async () => {
    const etcdPrefix = prefix();
    const first = await startTestApiServer(endpoint, { etcdPrefix });
    cleanups.push(() => first.stop());
    await first.client.create(container('stays'));
    const gone = await first.client.create(container('vanishes'));
    const source = new SwitchableServer(first, 'first');
    const { informer, deleted, events } = startInformer(source);
    await informer.waitForSync();
    await waitFor(() => informer.list().length === 2, 'both objects cached');
    await first.stop();

    // Changes made while the informer is away, then a server whose history starts after them.
    const writer = await startTestApiServer(endpoint, { etcdPrefix });
    cleanups.push(() => writer.stop());
    await writer.client.delete('Container', 'vanishes', 'default');
    await writer.client.create(container('appears'));
    const third = await startTestApiServer(endpoint, { etcdPrefix });
    cleanups.push(() => third.stop());
    source.switchTo(third, 'third');

    await waitFor(() => informer.get('default', 'vanishes') === undefined && informer.get('default', 'appears') !== undefined, 're-list');
    const onThird = source.calls.filter((c) => c.server === 'third').map((c) => c.verb);
    expect(onThird.slice(0, 3)).toEqual(['watch', 'list', 'watch']);
    // The synthesized delete carries the last state the cache knew.
    expect(deleted).toHaveLength(1);
    expect(deleted[0]!.metadata.uid).toBe(gone.metadata.uid);
    expect(deleted[0]!.metadata.resourceVersion).toBe(gone.metadata.resourceVersion);
    expect(events.filter((e) => e.startsWith('add'))).toEqual(['add stays', 'add vanishes', 'add appears']);
  });
});
