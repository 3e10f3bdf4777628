// The compose controller against a real API server: it places a stack on a node its selector allows,
// keeps two stacks publishing the same port apart, and says why when no node fits until one does.
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { waitFor } from '../../e2e/harness/wait.js';
import { runControllers, type RunningControllers } from '../runtime/manager.js';
import { newComposeController } from './controller.js';

let api: TestApiServer;
let running: RunningControllers;
const NS = 'default';

async function node(name: string, labels: Record<string, string>): Promise<void> {
  const n = await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name, labels }, spec: {} });
  await api.client.updateStatus({ ...n, status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '4', memory: '8Gi' } } });
}

const stack = (name: string, compose: string, nodeSelector?: Record<string, string>) =>
  api.client.create({ apiVersion: 'persys.dev/v1', kind: 'ComposeStack', metadata: { name, namespace: NS }, spec: { compose, nodeSelector } });

const placedOn = (name: string) => waitFor(async () => (await api.client.get('ComposeStack', name, NS)).spec?.nodeName as string | undefined, `${name} placed`);

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  await node('compose-a', { disk: 'ssd' });
  await node('compose-b', { disk: 'hdd' });
  const registry = new Registry();
  const set = newComposeController({
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

describe('compose controller', () => {
  it('places a stack on a node its selector matches, with a Scheduled condition and Event', async () => {
    await stack('shop', 'services:\n  web:\n    image: persys/busybox:test\n', { disk: 'hdd' });
    expect(await placedOn('shop')).toBe('compose-b');
    // The placement (spec) and its condition (status) are two writes: wait for the second.
    const s = await waitFor(async () => {
      const got = await api.client.get('ComposeStack', 'shop', NS);
      return got.status?.nodeName ? got : undefined;
    }, 'shop status');
    expect(s.status).toMatchObject({ phase: 'Pending', nodeName: 'compose-b', conditions: [{ type: 'Scheduled', status: 'True' }] });
    const scheduled = await waitFor(async () => {
      const events = (await api.client.list('Event', { namespace: NS })).items;
      return events.some((e) => e['reason'] === 'Scheduled' && (e['involvedObject'] as { name: string }).name === 'shop') || undefined;
    }, 'Scheduled event');
    expect(scheduled).toBe(true);
  });

  it('keeps stacks that publish the same host port on different nodes', async () => {
    const web = 'services:\n  web:\n    image: persys/busybox:test\n    ports: ["8088:80"]\n';
    await stack('blue', web);
    const first = await placedOn('blue');
    await stack('green', web);
    const second = await placedOn('green');
    expect(new Set([first, second])).toEqual(new Set(['compose-a', 'compose-b']));
  });

  it('reports an unplaceable stack as Pending with the reason, and places it once a node fits', async () => {
    await stack('gpu', 'services:\n  train:\n    image: persys/busybox:test\n', { gpu: 'yes' });
    const pending = await waitFor(async () => {
      const s = await api.client.get('ComposeStack', 'gpu', NS);
      return s.status?.conditions?.[0]?.status === 'False' ? s : undefined;
    }, 'gpu Unschedulable');
    expect(pending.status.phase).toBe('Pending');
    expect(pending.status.conditions[0].message).toContain("0/2 nodes are available: 2 node(s) didn't match node selector");
    await node('compose-gpu', { gpu: 'yes' });
    expect(await placedOn('gpu')).toBe('compose-gpu');
  });
});
