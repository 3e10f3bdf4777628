// Prints a list page by page as it arrives, so output never waits for (or holds) the whole list:
// the same bytes formatObjects/renderTable produce for the whole list at once.
import YAML from 'yaml';
import type { Resource } from '../../api/resource.js';
import { asList, resourceName, toJson, toYaml, type OutputFormat } from './output.js';
import { columnWidths, formatRow, tableHeader, tableRow, type TableOptions } from './table.js';

export interface ListWriter {
  /** Prints these items; `out` receives whole lines (it adds the final newline itself). */
  page(items: Resource[]): void;
  /** Closes the list (json/yaml print an empty List when there were no items). */
  end(): void;
  /** The table's column widths so far, for rows printed after the list (get -w). */
  widths(): number[];
}

export function listWriter(format: OutputFormat, out: (text: string) => void, table: { kind: string; opts: TableOptions }): ListWriter {
  switch (format) {
    case 'table':
    case 'wide':
      return tableWriter(out, table.kind, table.opts);
    case 'json':
      return jsonWriter(out);
    case 'yaml':
      return yamlWriter(out);
    case 'name':
      return {
        page: (items) => void (items.length && out(items.map(resourceName).join('\n'))),
        end: () => {},
        widths: () => [],
      };
  }
}

/** What a table prints: its header and a row per object (a kind's table, or custom columns). */
export interface Rows {
  header: string[];
  row(obj: Resource): string[];
  /** Rows only (get --no-headers). */
  noHeaders?: boolean;
}

function tableWriter(out: (text: string) => void, kind: string, opts: TableOptions): ListWriter {
  return rowsWriter(out, { header: tableHeader(kind, opts), row: (o) => tableRow(kind, o, opts), noHeaders: opts.noHeaders });
}

/** Column widths only grow, so later pages stay aligned with the header and the rows above them. */
export function rowsWriter(out: (text: string) => void, rows: Rows): ListWriter {
  let widths: number[] = [];
  let started = false;
  return {
    page(items) {
      if (!items.length) return;
      const lines = items.map((o) => rows.row(o));
      const header = started || rows.noHeaders ? [] : [rows.header];
      started = true;
      widths = columnWidths([widths.map((w) => ' '.repeat(w)), ...header, ...lines]);
      out([...header, ...lines].map((r) => formatRow(r, widths)).join('\n'));
    },
    end: () => {},
    widths: () => widths,
  };
}

const JSON_ITEM_INDENT = ' '.repeat(8);

/**
 * `{"apiVersion":"v1","kind":"List","items":[` … `]}` indented as toJson does. Each item is held
 * back until the next one (or the end) shows whether a comma follows it.
 */
function jsonWriter(out: (text: string) => void): ListWriter {
  let pending: string | undefined;
  let started = false;
  return {
    page(items) {
      const lines: string[] = [];
      for (const item of items) {
        if (!started) {
          lines.push('{', '    "apiVersion": "v1",', '    "kind": "List",', '    "items": [');
          started = true;
        }
        if (pending !== undefined) lines.push(pending + ',');
        pending = toJson(item).replace(/^/gm, JSON_ITEM_INDENT);
      }
      if (lines.length) out(lines.join('\n'));
    },
    end() {
      if (pending === undefined) out(toJson(asList([])));
      else out(`${pending}\n    ]\n}`);
    },
    widths: () => [],
  };
}

/** `items:` last, so each page's items render as the whole list would render them under it. */
function yamlWriter(out: (text: string) => void): ListWriter {
  let started = false;
  return {
    page(items) {
      if (!items.length) return;
      const block = YAML.stringify({ items }, { lineWidth: 0 });
      const body = block.slice(block.indexOf('\n') + 1).replace(/\n$/, '');
      out(started ? body : `apiVersion: v1\nkind: List\nitems:\n${body}`);
      started = true;
    },
    end() {
      if (!started) out(toYaml(asList([])));
    },
    widths: () => [],
  };
}
