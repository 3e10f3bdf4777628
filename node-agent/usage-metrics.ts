// The usage each heartbeat carries, also on the agent's /metrics: the node's CPU, memory, disk and network,
// and each running Container's CPU and memory. Figures are those of the last heartbeat (rates over its interval).
import { Gauge, type Registry } from 'prom-client';
import type { Heartbeat } from '../lib/gen/persys/v1/agent.js';

export function usageMetrics(registry: Registry, node: string) {
  const registers = [registry];
  const nodeGauge = (o: { name: string; help: string }) => new Gauge({ ...o, labelNames: ['node'] as const, registers });
  const containerGauge = (o: { name: string; help: string }) => new Gauge({ ...o, labelNames: ['node', 'namespace', 'container'] as const, registers });
  const gauges = {
    nodeCpu: nodeGauge({ name: 'persys_node_cpu_usage_percent', help: 'CPU in use on the node, % of all its CPUs.' }),
    nodeMemory: nodeGauge({ name: 'persys_node_memory_usage_bytes', help: 'Memory in use on the node (total less available).' }),
    nodeDiskRead: nodeGauge({ name: 'persys_node_disk_read_bytes_per_second', help: 'Bytes read from whole disks per second.' }),
    nodeDiskWrite: nodeGauge({ name: 'persys_node_disk_write_bytes_per_second', help: 'Bytes written to whole disks per second.' }),
    nodeNetRx: nodeGauge({ name: 'persys_node_network_receive_bytes_per_second', help: 'Bytes received per second, loopback excluded.' }),
    nodeNetTx: nodeGauge({ name: 'persys_node_network_transmit_bytes_per_second', help: 'Bytes sent per second, loopback excluded.' }),
    containerCpu: containerGauge({ name: 'persys_container_cpu_usage_percent', help: "A Container's CPU in % of one CPU (as docker stats: 200 is two CPUs busy)." }),
    containerMemory: containerGauge({ name: 'persys_container_memory_usage_bytes', help: "A Container's memory without page cache (as docker stats)." }),
  };
  return {
    /** Sets every gauge from one heartbeat; Containers it does not list lose their series. */
    record(hb: Heartbeat): void {
      const u = hb.usage;
      if (u) {
        gauges.nodeCpu.set({ node }, u.cpuPercent);
        gauges.nodeMemory.set({ node }, Number(u.memoryBytes));
        gauges.nodeDiskRead.set({ node }, Number(u.diskReadBytesPerSecond));
        gauges.nodeDiskWrite.set({ node }, Number(u.diskWriteBytesPerSecond));
        gauges.nodeNetRx.set({ node }, Number(u.networkRxBytesPerSecond));
        gauges.nodeNetTx.set({ node }, Number(u.networkTxBytesPerSecond));
      }
      gauges.containerCpu.reset();
      gauges.containerMemory.reset();
      for (const c of hb.containers) {
        const labels = { node, namespace: c.namespace, container: c.name };
        gauges.containerCpu.set(labels, c.cpuPercent);
        gauges.containerMemory.set(labels, Number(c.memoryBytes));
      }
    },
  };
}
