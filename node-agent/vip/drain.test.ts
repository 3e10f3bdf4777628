import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ServiceDirectory } from '../dns/directory.js';
import { EndpointDrain } from './drain.js';

const slice = (name: string, endpoints: { containerName: string; nodeName: string; ready: boolean }[]): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'shop' },
  endpoints,
});

/** How long drained() took, in ms. */
async function timed(p: Promise<void>): Promise<number> {
  const t0 = performance.now();
  await p;
  return performance.now() - t0;
}

describe('EndpointDrain', () => {
  it('lets a Container no slice lists go at once', async () => {
    const d = new ServiceDirectory();
    const drain = new EndpointDrain({ directory: d, node: 'n1', marginMs: 300 });
    d.setDesired([slice('web', [{ containerName: 'web-a', nodeName: 'n2', ready: true }, { containerName: 'web-b', nodeName: 'n1', ready: false }])]);
    // Listed on another node, or listed here but not ready: no VIP sends it anything.
    expect(await timed(drain.drained('shop', 'web-a'))).toBeLessThan(100);
    expect(await timed(drain.drained('shop', 'web-b'))).toBeLessThan(100);
  });

  it('holds a listed Container until the slice drops it, then for the margin', async () => {
    const d = new ServiceDirectory();
    const drain = new EndpointDrain({ directory: d, node: 'n1', marginMs: 300 });
    d.setDesired([slice('web', [{ containerName: 'web-a', nodeName: 'n1', ready: true }])]);
    const t0 = performance.now();
    let doneAt = 0;
    const waiting = drain.drained('shop', 'web-a').then(() => (doneAt = performance.now() - t0));
    await new Promise((r) => setTimeout(r, 200));
    expect(doneAt, 'still listed: not released').toBe(0);
    d.applyChange('UPSERT', slice('web', []));
    await waiting;
    expect(doneAt).toBeGreaterThanOrEqual(480);
    expect(doneAt).toBeLessThan(2_000);
  });

  it('waits out the margin for a Container the slice dropped just before the removal', async () => {
    const d = new ServiceDirectory();
    const drain = new EndpointDrain({ directory: d, node: 'n1', marginMs: 300 });
    d.setDesired([slice('web', [{ containerName: 'web-a', nodeName: 'n1', ready: true }])]);
    d.applyChange('DELETE', slice('web', [{ containerName: 'web-a', nodeName: 'n1', ready: true }]));
    const took = await timed(drain.drained('shop', 'web-a'));
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1_000);
  });

  it('gives up waiting for the slice after maxWaitMs', async () => {
    const d = new ServiceDirectory();
    const drain = new EndpointDrain({ directory: d, node: 'n1', marginMs: 100, maxWaitMs: 300 });
    d.setDesired([slice('web', [{ containerName: 'web-a', nodeName: 'n1', ready: true }])]);
    const took = await timed(drain.drained('shop', 'web-a'));
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1_000);
  });
});
