// `persys top`: CPU, memory and network use of nodes or containers (and containers' healthcheck response
// time), from the heartbeats the agents connected to this API server sent last (in memory, never in etcd).
import { bool, type Command } from '../command.js';
import { UsageError } from '../usage-error.js';
import { formatBytes } from '../printers/columns.js';
import { columnWidths, formatRow } from '../printers/table.js';

const pct = (v: number) => `${(Math.round(v * 10) / 10).toString()}%`;
const bytes = (v: string | undefined) => formatBytes(Number(v ?? 0));
const rate = (v: string | undefined) => `${formatBytes(Number(v ?? 0))}/s`;

export const topCommand: Command = {
  name: 'top',
  usage: 'persys top nodes|containers [-n NS | -A]',
  flags: { 'all-namespaces': { type: 'boolean', short: 'A', description: 'containers of every namespace' } },
  async run(ctx) {
    const what = ctx.args[0];
    const which = what === 'nodes' || what === 'node' || what === 'no' ? 'nodes' : what === 'containers' || what === 'container' || what === 'ct' ? 'containers' : undefined;
    if (!which) throw new UsageError('specify nodes or containers', 'top');
    const all = bool(ctx.flags, 'all-namespaces');
    // Loaded on use: commands that never reach an agent do not pay for the Operations service's code.
    const { OperationsClient } = await import('../../client/operations.js');
    const client = new OperationsClient(ctx.config());
    try {
      const res = await client.top(which, which === 'containers' && !all ? ctx.namespace() : '');
      let rows: string[][];
      if (which === 'nodes') {
        rows = [
          ['NAME', 'CPU%', 'MEMORY', 'ALLOCATABLE CPU', 'ALLOCATABLE MEMORY', 'NET RX', 'NET TX', 'LAST HEARTBEAT'],
          ...res.nodes.map((n) => [
            n.name,
            n.usage ? pct(n.usage.cpuPercent) : '<unknown>',
            n.usage ? bytes(n.usage.memoryBytes) : '<unknown>',
            n.allocatable?.cpu || '<none>',
            n.allocatable?.memory || '<none>',
            n.usage ? rate(n.usage.networkRxBytesPerSecond) : '<unknown>',
            n.usage ? rate(n.usage.networkTxBytesPerSecond) : '<unknown>',
            n.lastHeartbeatTime || '<none>',
          ]),
        ];
      } else {
        rows = [
          [...(all ? ['NAMESPACE'] : []), 'NAME', 'CPU%', 'MEMORY', 'LIMIT', 'NET RX', 'NET TX', 'HEALTH RT'],
          ...res.containers.map((c) => [
            ...(all ? [c.namespace] : []),
            c.name,
            pct(c.cpuPercent),
            bytes(c.memoryBytes),
            Number(c.memoryLimitBytes) ? bytes(c.memoryLimitBytes) : '<none>',
            rate(c.networkRxBytesPerSecond),
            rate(c.networkTxBytesPerSecond),
            // 0: no healthcheck, or no probe finished yet.
            c.healthResponseTimeMs ? `${c.healthResponseTimeMs}ms` : '-',
          ]),
        ];
      }
      if (rows.length === 1) {
        ctx.io.err(which === 'nodes' ? 'No nodes are connected to this API server.' : 'No container usage reported yet.');
        return 0;
      }
      const widths = columnWidths(rows);
      for (const r of rows) ctx.io.out(formatRow(r, widths));
      return 0;
    } finally {
      client.close();
    }
  },
};
