// The node gauges: Ready per node and Lease age, computed at scrape time, none before the caches sync.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { nodeSamples, registerNodeMetrics } from './metrics.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const node = (name: string, ready?: string): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Node',
  metadata: { name },
  status: ready ? { conditions: [{ type: 'Ready', status: ready }] } : {},
});
const lease = (name: string, renewMs: number): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Lease',
  metadata: { name, namespace: 'persys-node-lease' },
  spec: { renewTime: new Date(renewMs).toISOString() },
});

describe('nodeSamples', () => {
  it('is 1 only for Ready=True and gives the Lease age of nodes that have one', () => {
    const nodes = [node('a', 'True'), node('b', 'Unknown'), node('c', 'False'), node('d')];
    expect(nodeSamples(nodes, [lease('a', T0 - 4_000), lease('b', T0 - 61_500)], T0)).toEqual([
      { node: 'a', ready: 1, leaseAgeSeconds: 4 },
      { node: 'b', ready: 0, leaseAgeSeconds: 61.5 },
      { node: 'c', ready: 0 },
      { node: 'd', ready: 0 },
    ]);
  });
});

describe('registerNodeMetrics', () => {
  it('reports the informers as they are at each scrape, and nothing before they sync', async () => {
    const registry = new Registry();
    let synced = false;
    let nodes = [node('a', 'True'), node('b', 'True')];
    registerNodeMetrics(registry, { synced: () => synced, nodes: () => nodes, leases: () => [lease('a', T0 - 2_000)], now: () => T0 });
    expect(await registry.getSingleMetricAsString('persys_node_ready')).not.toMatch(/persys_node_ready\{/);
    synced = true;
    expect(await registry.getSingleMetricAsString('persys_node_ready')).toMatch(/persys_node_ready\{node="a"\} 1\npersys_node_ready\{node="b"\} 1/);
    nodes = [node('a', 'Unknown')];
    const text = await registry.metrics();
    expect(text).toMatch(/persys_node_ready\{node="a"\} 0/);
    expect(text).not.toMatch(/node="b"/);
    expect(text).toMatch(/persys_node_lease_age_seconds\{node="a"\} 2\n/);
  });
});
