// Renders objects as kubectl-style aligned tables: [NAMESPACE] NAME, the kind's columns, [LABELS].
import type { Resource } from '../../api/resource.js';
import { tableFor } from './columns.js';

export interface TableOptions {
  now: Date;
  wide?: boolean;
  /** Prefix a NAMESPACE column (get -A). */
  withNamespace?: boolean;
  showLabels?: boolean;
  /** NAME as `kind/name`, as kubectl prints it when one `get` shows several kinds. */
  withKind?: boolean;
  /** Rows only (get --no-headers). */
  noHeaders?: boolean;
}

const GAP = '   ';

export function tableHeader(kind: string, opts: TableOptions): string[] {
  const t = tableFor(kind);
  return [
    ...(opts.withNamespace ? ['NAMESPACE'] : []),
    ...(t.showName ? ['NAME'] : []),
    ...t.columns.filter((c) => opts.wide || !c.wide).map((c) => c.header),
    ...(opts.showLabels ? ['LABELS'] : []),
  ];
}

export function tableRow(kind: string, obj: Resource, opts: TableOptions): string[] {
  const t = tableFor(kind);
  return [
    ...(opts.withNamespace ? [obj.metadata.namespace || ''] : []),
    ...(t.showName ? [opts.withKind ? `${kind.toLowerCase()}/${obj.metadata.name ?? ''}` : (obj.metadata.name ?? '')] : []),
    ...t.columns.filter((c) => opts.wide || !c.wide).map((c) => c.value(obj, opts.now)),
    ...(opts.showLabels ? [formatLabels(obj.metadata.labels)] : []),
  ];
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

/** Widest cell per column. */
export function columnWidths(rows: string[][]): number[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return widths;
}

/** One aligned line; the last cell is not padded. */
export function formatRow(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join(GAP);
}

/** The whole table (header unless noHeaders, and one row per object) as lines. */
export function renderTable(kind: string, objs: Resource[], opts: TableOptions): string[] {
  const rows = [...(opts.noHeaders ? [] : [tableHeader(kind, opts)]), ...objs.map((o) => tableRow(kind, o, opts))];
  const widths = columnWidths(rows);
  return rows.map((r) => formatRow(r, widths));
}
