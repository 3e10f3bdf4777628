// EventRecorder against a real API server: the Event passes validation, repeats aggregate into one
// object, and a fresh recorder (a restarted process) continues the same count.
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { EventRecorder } from './events.js';

let api: TestApiServer;
beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
});
afterAll(async () => api?.stop());

describe('EventRecorder on a real API server', () => {
  it('creates one Event per object and reason+message and counts repeats across recorder restarts', async () => {
    const web: Resource = await api.client.create({
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: 'ev-web', namespace: 'default' },
      spec: { image: 'persys/busybox:test' },
    });
    const first = new EventRecorder({ client: api.client, component: 'docker-controller', host: 'test-host' });
    expect(await first.record(web, 'Warning', 'FailedScheduling', '0/1 nodes are available: 1 insufficient memory.')).toBe(true);
    expect(await first.record(web, 'Warning', 'FailedScheduling', '0/1 nodes are available: 1 insufficient memory.')).toBe(true);
    const restarted = new EventRecorder({ client: api.client, component: 'docker-controller', host: 'test-host' });
    expect(await restarted.record(web, 'Warning', 'FailedScheduling', '0/1 nodes are available: 1 insufficient memory.')).toBe(true);
    expect(await restarted.record(web, 'Normal', 'Scheduled', 'Successfully assigned default/ev-web to n1')).toBe(true);

    const events = (await api.client.list('Event', { namespace: 'default' })).items.filter((e) => (e['involvedObject'] as { name?: string }).name === 'ev-web');
    expect(events).toHaveLength(2);
    const failed = events.find((e) => e['reason'] === 'FailedScheduling')!;
    expect(failed.metadata.name).toMatch(/^ev-web\.[0-9a-f]{16}$/);
    expect(failed).toMatchObject({
      type: 'Warning',
      count: 3,
      message: '0/1 nodes are available: 1 insufficient memory.',
      involvedObject: { kind: 'Container', namespace: 'default', name: 'ev-web', uid: web.metadata.uid, apiVersion: 'persys.dev/v1' },
      source: { component: 'docker-controller', host: 'test-host' },
    });
    expect(Date.parse(failed['lastTimestamp'] as string)).toBeGreaterThanOrEqual(Date.parse(failed['firstTimestamp'] as string));
    expect(events.find((e) => e['reason'] === 'Scheduled')).toMatchObject({ type: 'Normal', count: 1 });
  });
});
