// `persys api-resources`: the kinds the server serves, with the names the CLI accepts for them.
import { API_VERSION } from '../../api/kinds.js';
import type { Command } from '../command.js';
import { columnWidths, formatRow } from '../printers/table.js';

export const apiResourcesCommand: Command = {
  name: 'api-resources',
  usage: 'persys api-resources',
  async run(ctx) {
    const kinds = await ctx.client().listKinds();
    const rows = [
      ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND'],
      ...kinds.map((k) => [k.plural, k.shortNames.join(','), API_VERSION, String(k.namespaced), k.kind]),
    ];
    const widths = columnWidths(rows);
    ctx.io.out(rows.map((r) => formatRow(r, widths)).join('\n'));
    return 0;
  },
};
