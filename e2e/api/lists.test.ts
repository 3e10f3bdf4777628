// Large lists and batch deletion end to end over gRPC against real etcd: more than 4 MiB of
// Containers listed whole and in pages, and a namespace of 5,000 deleted with a DELETE event each.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findKind } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import { objectKey } from '../../apiserver/registry/keys.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

let api: TestApiServer;
let template: Resource;
const CONTAINER = findKind('Container')!;
const BIG = 6_000;
const PADDING = 'x'.repeat(1_000); // ~1.4 KB per object: 6,000 are ~8 MiB, twice gRPC's default limit

/** Writes Containers straight through storage (fast), shaped like one the API admitted. */
async function seed(namespace: string, count: number): Promise<void> {
  const storage = api.server.store.storage;
  for (let i = 0; i < count; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, count - i) }, (_, j) => {
        const name = `c-${String(i + j).padStart(5, '0')}`;
        const obj: Resource = {
          ...template,
          metadata: { ...template.metadata, name, namespace, uid: `${namespace}-${name}`, resourceVersion: undefined, annotations: { pad: PADDING } },
        };
        return storage.create(objectKey(CONTAINER, namespace, name), obj);
      }),
    );
  }
}

const namespace = (name: string): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name } });

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  for (const ns of ['big', 'small', 'doomed']) await api.client.create(namespace(ns));
  template = await api.client.create({
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name: 'template', namespace: 'small' },
    spec: { image: 'persys/busybox:test' },
  });
  await seed('big', BIG);
}, 180_000);
afterAll(async () => api?.stop());

describe('lists larger than 4 MiB', () => {
  it('lists one namespace of 6,000 Containers without a limit', async () => {
    const res = await api.client.list('Container', { namespace: 'big' });
    expect(res.items).toHaveLength(BIG);
    expect(new Set(res.items.map((o) => o.metadata.name)).size).toBe(BIG);
    expect(res.items.every((o) => o.metadata.annotations?.pad === PADDING)).toBe(true);
    expect(res.continue).toBe('');
  });

  it('lists all namespaces without a limit', async () => {
    const res = await api.client.list('Container');
    expect(res.items.filter((o) => o.metadata.namespace === 'big')).toHaveLength(BIG);
    expect(res.items.some((o) => o.metadata.namespace === 'small' && o.metadata.name === 'template')).toBe(true);
  });

  it('lists in pages of 500 at one resourceVersion, each Container exactly once, while writes go on', async () => {
    const seen: string[] = [];
    const versions = new Set<string>();
    let pages = 0;
    for await (const page of api.client.listPages('Container', { namespace: 'big' }, 500)) {
      pages++;
      versions.add(page.resourceVersion);
      for (const o of page.items) seen.push(o.metadata.name!);
      // A write between pages must not show in later pages: they are one snapshot.
      if (pages === 2) await api.client.create({ ...template, metadata: { name: 'c-99999', namespace: 'big' } });
    }
    expect(pages).toBe(BIG / 500);
    expect(versions.size).toBe(1);
    expect(seen).toHaveLength(BIG);
    expect(new Set(seen).size).toBe(BIG);
    expect(seen).not.toContain('c-99999');
    await api.client.delete('Container', 'c-99999', 'big');
  });

  it('reads its own writes: a list right after a create includes it', async () => {
    for (let i = 0; i < 20; i++) {
      const created = await api.client.create({ ...template, metadata: { name: `ryw-${i}`, namespace: 'small' } });
      const res = await api.client.list('Container', { namespace: 'small' });
      expect(res.items.map((o) => o.metadata.name)).toContain(`ryw-${i}`);
      expect(BigInt(res.resourceVersion)).toBeGreaterThanOrEqual(BigInt(created.metadata.resourceVersion!));
    }
  });

  it('listAll with selectors pages and filters', async () => {
    const res = await api.client.listAll('Container', { fieldSelector: 'metadata.namespace=small' }, 7);
    expect(res.items.map((o) => o.metadata.name).sort()).toEqual(['template', ...Array.from({ length: 20 }, (_, i) => `ryw-${i}`)].sort());
  });
});

describe('namespace deletion in batches', () => {
  it('deletes a namespace of 5,000 Containers, with a DELETED event for each, then the namespace', async () => {
    await seed('doomed', 5_000);
    const before = await api.client.list('Container', { namespace: 'doomed', limit: 1 });
    const abort = new AbortController();
    const deleted = new Set<string>();
    // A watcher that falls behind the burst is closed with "watch again from the last
    // resourceVersion you received": do so, as a client must; every delete must still arrive.
    const watching = (async () => {
      let from = before.resourceVersion;
      while (deleted.size < 5_000 && !abort.signal.aborted) {
        try {
          for await (const ev of api.client.watch('Container', { namespace: 'doomed', resourceVersion: from, signal: abort.signal })) {
            if (ev.type === 'DELETED') deleted.add(ev.object!.metadata.name!);
            from = ev.resourceVersion || from;
            if (deleted.size === 5_000) break;
          }
        } catch (err) {
          if ((err as { code?: number }).code !== 8) throw err;
        }
      }
    })();
    await api.client.delete('Namespace', 'doomed');
    const deadline = Date.now() + 120_000;
    for (;;) {
      const gone = await api.client.get('Namespace', 'doomed').then(() => false, (e: { code?: number }) => e.code === 5);
      if (gone || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.race([watching, new Promise((r) => setTimeout(r, 30_000))]);
    abort.abort();
    expect(deleted.size).toBe(5_000);
    expect((await api.server.store.storage.list(objectKey(CONTAINER, 'doomed', ''))).items).toHaveLength(0);
    await expect(api.client.get('Namespace', 'doomed')).rejects.toMatchObject({ code: 5 });
    // Other namespaces are untouched.
    expect((await api.client.list('Container', { namespace: 'big', limit: 1 })).remainingItemCount).toBe(BIG - 1);
  });
});
