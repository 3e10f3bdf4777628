// The ContainerSet controller against a real API server (no Docker): the test plays the agents by
// writing Container status, and checks scaling, a surge-only rolling update, cascading deletion and
// the rollout on a change of a referenced ConfigMap.
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CONFIG_HASH_ANNOTATION } from '../../lib/api/annotations.js';
import type { Resource } from '../../lib/api/resource.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { runControllers, type RunningControllers } from '../runtime/manager.js';
import { newContainerSetController } from './controller.js';
import { TEMPLATE_HASH_LABEL } from './rollout.js';
import { waitFor } from '../../e2e/harness/wait.js';

let api: TestApiServer;
let running: RunningControllers;
beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  const registry = new Registry();
  const set = newContainerSetController({
    client: api.client,
    logger: silentLogger(),
    registry,
    informerDelay: (ms, signal) => sleep(Math.min(ms, 50), undefined, { signal }).catch(() => undefined),
  });
  running = await runControllers({ ...set, registry, logger: silentLogger() });
});
afterAll(async () => {
  await running?.stop();
  await api?.stop();
});

const NS = 'default';
async function ownedBy(set: Resource): Promise<Resource[]> {
  const all = (await api.client.list('Container', { namespace: NS })).items;
  return all.filter((c) => !c.metadata.deletionTimestamp && c.metadata.ownerReferences?.some((r) => r.uid === set.metadata.uid && r.controller));
}
const isReady = (c: Resource) => (c.status?.conditions ?? []).some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True');

// Stands in for the node agents: every owned Container not yet ready becomes Running and Ready. Given
// `seen`, only those: a caller that counts what it lists then never readies a Container it did not count.
async function markAllReady(set: Resource, seen?: Resource[]): Promise<void> {
  for (const c of seen ?? (await ownedBy(set))) {
    if (isReady(c)) continue;
    await api.client.updateStatus({
      ...c,
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', reason: 'Started', lastTransitionTime: new Date().toISOString() }] },
    });
  }
}

function containerSet(name: string, replicas: number, image: string): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { image } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '1', maxUnavailable: '0' } },
    },
  };
}

async function setSpec(name: string, change: (spec: any) => void): Promise<Resource> {
  for (;;) {
    const s = await api.client.get('ContainerSet', name, NS);
    change(s.spec);
    try {
      return await api.client.update(s);
    } catch (err) {
      if ((err as { codeName?: string }).codeName !== 'ABORTED') throw err;
    }
  }
}

const countIs = (set: Resource, n: number) => async () => {
  const owned = await ownedBy(set);
  return owned.length === n ? owned : undefined;
};

describe('ContainerSet controller', () => {
  it('creates, scales, rolls out without dropping below R ready, and is garbage collected with its set', async () => {
    const set = await api.client.create(containerSet('web', 3, 'web:1'));

    const first = await waitFor(countIs(set, 3), '3 Containers');
    for (const c of first) {
      expect(c.metadata.name).toMatch(/^web-/);
      expect(c.metadata.labels).toMatchObject({ app: 'web', [TEMPLATE_HASH_LABEL]: expect.any(String) });
      expect(c.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ContainerSet', name: 'web', uid: set.metadata.uid, controller: true, blockOwnerDeletion: true })]);
      expect(c.spec.image).toBe('web:1');
    }
    await markAllReady(set);
    await waitFor(async () => (await api.client.get('ContainerSet', 'web', NS)).status?.readyReplicas === 3, 'status readyReplicas 3');

    await setSpec('web', (s) => (s.replicas = 5));
    await waitFor(countIs(set, 5), '5 Containers');
    await markAllReady(set);
    await waitFor(async () => (await api.client.get('ContainerSet', 'web', NS)).status?.readyReplicas === 5, 'status readyReplicas 5');
    await setSpec('web', (s) => (s.replicas = 2));
    const two = await waitFor(countIs(set, 2), '2 Containers');
    expect(two.every(isReady)).toBe(true);

    await setSpec('web', (s) => (s.replicas = 3));
    await waitFor(countIs(set, 3), '3 Containers again');
    await markAllReady(set);
    const oldHash = (await ownedBy(set))[0]!.metadata.labels![TEMPLATE_HASH_LABEL];

    await setSpec('web', (s) => (s.template.spec.image = 'web:2'));
    let maxSeen = 0;
    const final = await waitFor(
      async () => {
        const owned = await ownedBy(set);
        const ready = owned.filter(isReady);
        expect(ready.length).toBeGreaterThanOrEqual(3);
        maxSeen = Math.max(maxSeen, owned.length);
        const fresh = owned.filter((c) => c.metadata.labels![TEMPLATE_HASH_LABEL] !== oldHash);
        if (fresh.length === 3 && owned.length === 3 && fresh.every(isReady)) return owned;
        await markAllReady(set, owned);
        return undefined;
      },
      'rollout to web:2',
      30_000,
    );
    expect(final.map((c) => c.spec.image)).toEqual(['web:2', 'web:2', 'web:2']);
    // maxSurge 1: one extra Container at most, and the surge must have happened (old ones go only after new are ready).
    expect(maxSeen).toBe(4);
    const status = await waitFor(async () => {
      const s = await api.client.get('ContainerSet', 'web', NS);
      return s.status?.updatedReplicas === 3 && s.status?.readyReplicas === 3 && s.status?.replicas === 3 ? s.status : undefined;
    }, 'status after rollout');
    expect(status.currentRevision).toBe(final[0]!.metadata.labels![TEMPLATE_HASH_LABEL]);

    // Events are recorded after the writes they report, on their own: wait for them.
    await waitFor(async () => {
      const events = (await api.client.list('Event', { namespace: NS })).items.filter((e) => (e['involvedObject'] as { name: string }).name === 'web');
      const reasons = new Set(events.map((e) => e['reason']));
      return ['ScalingUp', 'ScalingDown', 'RollingUpdate'].every((r) => reasons.has(r)) || undefined;
    }, 'ScalingUp, ScalingDown and RollingUpdate Events');

    await api.client.delete('ContainerSet', 'web', NS);
    await waitFor(async () => (await api.client.list('Container', { namespace: NS })).items.every((c) => c.metadata.ownerReferences?.[0]?.uid !== set.metadata.uid), 'GC of owned Containers');
  }, 90_000);

  it('replaces a failed Container and, with Recreate, never runs old and new revisions together', async () => {
    const spec = containerSet('batch', 2, 'batch:1');
    spec.spec.strategy = { type: 'Recreate' };
    const set = await api.client.create(spec);
    const first = await waitFor(countIs(set, 2), '2 Containers');
    await markAllReady(set);
    await api.client.updateStatus({ ...(await api.client.get('Container', first[0]!.metadata.name!, NS)), status: { phase: 'Failed' } });
    const replaced = await waitFor(async () => {
      const owned = await ownedBy(set);
      return owned.length === 2 && !owned.some((c) => c.metadata.name === first[0]!.metadata.name) ? owned : undefined;
    }, 'failed Container replaced');
    expect(replaced.some((c) => c.metadata.name === first[1]!.metadata.name)).toBe(true);
    await markAllReady(set);

    await setSpec('batch', (s) => (s.template.spec.image = 'batch:2'));
    const final = await waitFor(async () => {
      const owned = await ownedBy(set);
      const images = new Set(owned.map((c) => c.spec.image));
      expect(images.size).toBeLessThanOrEqual(1);
      return owned.length === 2 && images.has('batch:2') ? owned : undefined;
    }, 'recreate to batch:2');
    expect(final.map((c) => c.spec.image)).toEqual(['batch:2', 'batch:2']);
    await api.client.delete('ContainerSet', 'batch', NS);
  }, 60_000);

  it('records each template as a numbered ControllerRevision, trims to revisionHistoryLimit, and fails a stuck rollout after its deadline', async () => {
    const spec = containerSet('hist', 1, 'hist:1');
    spec.spec.revisionHistoryLimit = 1;
    spec.spec.progressDeadlineSeconds = 2;
    const set = await api.client.create(spec);
    const revisions = async () =>
      (await api.client.list('ControllerRevision', { namespace: NS })).items
        .filter((r) => r.metadata.ownerReferences?.[0]?.uid === set.metadata.uid)
        .map((r) => [Number(r['revision']), (r['template'] as any).spec.image])
        .sort((a, b) => a[0] - b[0]);
    await waitFor(countIs(set, 1), '1 Container');
    await markAllReady(set);
    await waitFor(async () => JSON.stringify(await revisions()) === JSON.stringify([[1, 'hist:1']]), 'revision 1');

    await setSpec('hist', (s) => (s.template.spec.image = 'hist:2'));
    await waitFor(async () => JSON.stringify(await revisions()) === JSON.stringify([[1, 'hist:1'], [2, 'hist:2']]), 'revision 2');
    await setSpec('hist', (s) => (s.template.spec.image = 'hist:3'));
    // The limit keeps one old revision besides the current one.
    await waitFor(async () => JSON.stringify(await revisions()) === JSON.stringify([[2, 'hist:2'], [3, 'hist:3']]), 'revision 3, revision 1 trimmed');

    // Nobody makes hist:3 ready: after 2 s without progress the rollout is failed, with an Event.
    const progressing = await waitFor(async () => {
      const s = await api.client.get('ContainerSet', 'hist', NS);
      const c = (s.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Progressing');
      return c?.status === 'False' ? c : undefined;
    }, 'Progressing=False', 20_000);
    expect(progressing.reason).toBe('ProgressDeadlineExceeded');
    // The Event is recorded after the status is written, on its own: wait for it rather than read once.
    await waitFor(async () => {
      const events = (await api.client.list('Event', { namespace: NS })).items.filter((e) => (e['involvedObject'] as { name: string }).name === 'hist');
      return events.some((e) => e['reason'] === 'ProgressDeadlineExceeded') || undefined;
    }, 'a ProgressDeadlineExceeded Event');

    await api.client.delete('ContainerSet', 'hist', NS);
    await waitFor(async () => (await revisions()).length === 0, 'revisions garbage collected');
  }, 60_000);

  it('with rolloutOnConfigChange rolls a set out to a new config hash and revision when its ConfigMap changes, and only then', async () => {
    const configMap = (name: string, data: Record<string, string>): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data });
    await api.client.create(configMap('cfg-c', { 'app.conf': 'v=1' }));
    await api.client.create(configMap('cfg-unrelated', { 'other.conf': 'v=1' }));
    const mounting = (name: string, rolloutOnConfigChange: boolean) => {
      const r = containerSet(name, 2, `${name}:1`);
      r.spec.rolloutOnConfigChange = rolloutOnConfigChange;
      r.spec.template.spec.volumes = [{ mountPath: '/etc/app', configMap: { name: 'cfg-c' } }];
      return r;
    };
    const cfg = await api.client.create(mounting('cfg', true));
    const plain = await api.client.create(mounting('plain', false));
    const configHashOf = (c: Resource) => c.metadata.annotations?.[CONFIG_HASH_ANNOTATION];
    const revisions = async () =>
      (await api.client.list('ControllerRevision', { namespace: NS })).items
        .filter((r) => r.metadata.ownerReferences?.[0]?.uid === cfg.metadata.uid)
        .sort((a, b) => Number(a['revision']) - Number(b['revision']));

    const before = await waitFor(countIs(cfg, 2), '2 Containers of cfg');
    const h1 = configHashOf(before[0]!);
    expect(h1).toMatch(/^[0-9a-f]{16}$/);
    expect(before.map(configHashOf)).toEqual([h1, h1]);
    const plainBefore = await waitFor(countIs(plain, 2), '2 Containers of plain');
    expect(plainBefore.map(configHashOf)).toEqual([undefined, undefined]);
    await markAllReady(cfg);
    await markAllReady(plain);
    const [first] = await waitFor(async () => ((await revisions()).length === 1 ? revisions() : undefined), 'revision 1 of cfg');
    expect(first!.metadata.annotations?.[CONFIG_HASH_ANNOTATION]).toBe(h1);
    // The revision keeps the set's own template, so an undo never writes a stale hash into the spec.
    expect((first!['template'] as any).metadata.annotations?.[CONFIG_HASH_ANNOTATION]).toBeUndefined();

    // The unrelated ConfigMap changes first: had it moved the hash, cfg would show an extra revision.
    await api.client.update({ ...(await api.client.get('ConfigMap', 'cfg-unrelated', NS)), data: { 'other.conf': 'v=2' } });
    await api.client.update({ ...(await api.client.get('ConfigMap', 'cfg-c', NS)), data: { 'app.conf': 'v=2' } });

    let maxSeen = 0;
    const after = await waitFor(
      async () => {
        const owned = await ownedBy(cfg);
        expect(owned.filter(isReady).length).toBeGreaterThanOrEqual(2);
        maxSeen = Math.max(maxSeen, owned.length);
        const fresh = owned.filter((c) => configHashOf(c) !== h1);
        if (fresh.length === 2 && owned.length === 2 && fresh.every(isReady)) return owned;
        // Readying only what was counted: an old Container goes only once its surge is ready, so the
        // surge is always counted beside both old ones, however slow this loop is.
        await markAllReady(cfg, owned);
        return undefined;
      },
      'rollout of cfg to the new config',
      30_000,
    );
    const h2 = configHashOf(after[0]!);
    expect(h2).toMatch(/^[0-9a-f]{16}$/);
    expect(after.map(configHashOf)).toEqual([h2, h2]);
    expect(after.some((c) => before.some((b) => b.metadata.name === c.metadata.name))).toBe(false);
    expect(maxSeen).toBe(3);
    const history = await waitFor(async () => ((await revisions()).length === 2 ? revisions() : undefined), 'revision 2 of cfg');
    expect(history.map((r) => [Number(r['revision']), r.metadata.annotations?.[CONFIG_HASH_ANNOTATION]])).toEqual([[1, h1], [2, h2]]);
    const status = await waitFor(async () => {
      const s = await api.client.get('ContainerSet', 'cfg', NS);
      return s.status?.updatedReplicas === 2 && s.status?.replicas === 2 ? s.status : undefined;
    }, 'status of cfg after the rollout');
    expect(status.currentRevision).toBe(after[0]!.metadata.labels![TEMPLATE_HASH_LABEL]);

    // The set without the flag keeps its replicas: a reconcile after the change (scaling up) adds one of
    // the same template hash and leaves the two it had.
    await setSpec('plain', (s) => (s.replicas = 3));
    const plainAfter = await waitFor(countIs(plain, 3), '3 Containers of plain');
    for (const c of plainBefore) expect(plainAfter.map((x) => x.metadata.name)).toContain(c.metadata.name);
    expect(new Set(plainAfter.map((c) => c.metadata.labels![TEMPLATE_HASH_LABEL]))).toEqual(new Set([plainBefore[0]!.metadata.labels![TEMPLATE_HASH_LABEL]]));
    expect(plainAfter.map(configHashOf)).toEqual([undefined, undefined, undefined]);

    await api.client.delete('ContainerSet', 'cfg', NS);
    await api.client.delete('ContainerSet', 'plain', NS);
  }, 60_000);
});
