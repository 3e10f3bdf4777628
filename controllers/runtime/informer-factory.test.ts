// The shared informer factory: one informer per kind and namespace, indexes merged from every user,
// conflicting index functions refused, and an informer stopped only when its last user releases it.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import type { ClientWatchEvent, WatchOptions } from '../../lib/client/client.js';
import { BY_NODE_NAME, BY_OWNER_UID, indexByNodeName, indexByOwnerUid } from './indexers.js';
import type { ListWatcher } from './informer.js';
import { IndexConflictError, InformerFactory } from './informer-factory.js';

const container: Resource = {
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name: 'a', namespace: 'default', uid: 'uid-a', ownerReferences: [{ kind: 'ContainerSet', name: 's', uid: 'set-1' }] },
  spec: { nodeName: 'n1' },
};

/** Lists `items` once per call and keeps each watch open until the informer stops. */
class CountingSource implements ListWatcher {
  lists: string[] = [];
  openWatches = 0;
  async list(kind: string) {
    this.lists.push(kind);
    return { items: kind === 'Container' ? [container] : [], resourceVersion: '1' };
  }
  async *watch(_kind: string, opts: WatchOptions = {}): AsyncGenerator<ClientWatchEvent> {
    this.openWatches++;
    await new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve(), { once: true }));
    this.openWatches--;
  }
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('InformerFactory', () => {
  it('gives every user of a kind the same informer, one per namespace scope', () => {
    const f = new InformerFactory({ client: new CountingSource() });
    const a = f.informerFor('Container');
    expect(f.informerFor('Container')).toBe(a);
    expect(f.informerFor('Container', { namespace: 'kube' })).not.toBe(a);
    expect(f.informerFor('Secret')).not.toBe(a);
  });

  it('merges the indexes its users ask for and lists and watches once', async () => {
    const source = new CountingSource();
    const f = new InformerFactory({ client: source });
    const byOwner = f.informerFor('Container', { indexers: { [BY_OWNER_UID]: indexByOwnerUid } });
    const byNode = f.informerFor('Container', { indexers: { [BY_NODE_NAME]: indexByNodeName, [BY_OWNER_UID]: indexByOwnerUid } });
    byOwner.start();
    byNode.start();
    await byOwner.waitForSync();
    await settle();
    expect(source.lists).toEqual(['Container']);
    expect(source.openWatches).toBe(1);
    expect(byNode.byIndex(BY_NODE_NAME, 'n1').map((c) => c.metadata.name)).toEqual(['a']);
    expect(byNode.byIndex(BY_OWNER_UID, 'set-1').map((c) => c.metadata.name)).toEqual(['a']);
    await f.release([byOwner, byNode]);
  });

  it('refuses an index name registered with another function', () => {
    const f = new InformerFactory({ client: new CountingSource() });
    f.informerFor('Container', { indexers: { [BY_OWNER_UID]: indexByOwnerUid } });
    expect(() => f.informerFor('Container', { indexers: { [BY_OWNER_UID]: () => [] } })).toThrow(IndexConflictError);
  });

  it('stops an informer only when its last user releases it, and makes a new one after', async () => {
    const source = new CountingSource();
    const f = new InformerFactory({ client: source });
    const first = f.informerFor('Container');
    const second = f.informerFor('Container');
    first.start();
    await first.waitForSync();
    await settle();
    await f.release([first]);
    await settle();
    expect(source.openWatches).toBe(1);
    expect(f.owns(second)).toBe(true);
    await f.release([second]);
    expect(source.openWatches).toBe(0);
    expect(f.owns(second)).toBe(false);
    expect(f.informerFor('Container')).not.toBe(second);
  });

  it('stop ends every informer it holds, used or not', async () => {
    const source = new CountingSource();
    const f = new InformerFactory({ client: source });
    const a = f.informerFor('Container');
    const b = f.informerFor('Node');
    f.informerFor('Node');
    a.start();
    b.start();
    await Promise.all([a.waitForSync(), b.waitForSync()]);
    await settle();
    expect(source.openWatches).toBe(2);
    await f.stop();
    expect(source.openWatches).toBe(0);
    expect(f.owns(a) || f.owns(b)).toBe(false);
  });
});
