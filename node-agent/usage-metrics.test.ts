// The heartbeat's usage on the agent's /metrics: node figures, and one series per running Container.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ContainerUsage, Heartbeat } from '../lib/gen/persys/v1/agent.js';
import { usageMetrics } from './usage-metrics.js';

const usage = { cpuPercent: 37.5, memoryBytes: '1048576', diskReadBytesPerSecond: '10', diskWriteBytesPerSecond: '20', networkRxBytesPerSecond: '30', networkTxBytesPerSecond: '40' };
const container = (name: string, cpuPercent: number, memoryBytes: string): ContainerUsage => ({
  uid: `uid-${name}`,
  namespace: 'demo',
  name,
  cpuPercent,
  memoryBytes,
  memoryLimitBytes: '0',
  networkRxBytesPerSecond: '0',
  networkTxBytesPerSecond: '0',
  healthResponseTimeMs: 0,
});
const heartbeat = (containers: ContainerUsage[]): Heartbeat => ({ usage, containers, dockerHealthy: true, dockerMessage: '', conditions: [] });

describe('usageMetrics', () => {
  it("sets the node's and each Container's usage from a heartbeat, dropping Containers that are gone", async () => {
    const registry = new Registry();
    const m = usageMetrics(registry, 'host-a');
    m.record(heartbeat([container('web', 150, '2048'), container('db', 3.5, '4096')]));
    let text = await registry.metrics();
    expect(text).toMatch(/persys_node_cpu_usage_percent\{node="host-a"\} 37.5\n/);
    expect(text).toMatch(/persys_node_memory_usage_bytes\{node="host-a"\} 1048576\n/);
    expect(text).toMatch(/persys_node_network_transmit_bytes_per_second\{node="host-a"\} 40\n/);
    expect(text).toMatch(/persys_container_cpu_usage_percent\{node="host-a",namespace="demo",container="web"\} 150\n/);
    expect(text).toMatch(/persys_container_memory_usage_bytes\{node="host-a",namespace="demo",container="db"\} 4096\n/);
    m.record(heartbeat([container('web', 20, '2048')]));
    text = await registry.metrics();
    expect(text).not.toMatch(/container="db"/);
    expect(text).toMatch(/persys_container_cpu_usage_percent\{node="host-a",namespace="demo",container="web"\} 20\n/);
  });
});
