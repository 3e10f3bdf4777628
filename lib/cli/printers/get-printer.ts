// What `get` prints its objects through, whatever -o says: a table per kind (a blank line between
// kinds, as kubectl does), custom columns, one List of everything, names, or a JSONPath template.
import type { Resource } from '../../api/resource.js';
import type { Io } from '../io.js';
import { customColumnsHeader, customColumnsRow } from './custom-columns.js';
import type { GetOutput } from './get-output.js';
import { executeTemplate } from './jsonpath.js';
import { listWriter, rowsWriter, type ListWriter } from './list-writer.js';
import { asList, formatObjects } from './output.js';
import type { TableOptions } from './table.js';

export interface GetPrinter {
  /** Starts the objects of one kind: a new table for the table formats. */
  kind(kind: string): void;
  page(items: Resource[]): void;
  /** Ends the output; afterwards page() prints single objects as a watch shows them (tables only). */
  end(): void;
  /** Whether anything was printed as a row, a name or an object. */
  printed(): boolean;
}

export interface GetPrinterOptions {
  table: TableOptions;
  /** One object was asked for by name: yaml, json and jsonpath show it bare, not in a List. */
  single: boolean;
  /** --allow-missing-template-keys. */
  allowMissingKeys: boolean;
  /** get -w: a jsonpath template applies to each object, as it will to each event. */
  perObject?: boolean;
}

export function getPrinter(output: GetOutput, io: Io, opts: GetPrinterOptions): GetPrinter {
  let count = 0;
  const counted = (p: Omit<GetPrinter, 'printed'>): GetPrinter => ({
    ...p,
    page: (items) => {
      count += items.length;
      p.page(items);
    },
    printed: () => count > 0,
  });

  if (output.format === 'table' || output.format === 'wide') {
    let writer: ListWriter | undefined;
    let kind = '';
    let tablesPrinted = 0;
    return counted({
      kind(k) {
        kind = k;
        writer = undefined;
      },
      page(items) {
        if (!items.length) return;
        if (!writer) {
          if (tablesPrinted++) io.out('');
          writer = listWriter(output.format as 'table', io.out, { kind, opts: opts.table });
        }
        writer.page(items);
      },
      end: () => {},
    });
  }
  if (output.format === 'custom-columns') {
    const cols = output.columns;
    const writer = rowsWriter(io.out, { header: customColumnsHeader(cols), row: (o) => customColumnsRow(cols, o), noHeaders: opts.table.noHeaders });
    return counted({ kind: () => {}, page: (items) => writer.page(items), end: () => {} });
  }
  if (output.format === 'jsonpath' && opts.perObject) {
    const { template } = output;
    const page = (items: Resource[]) => {
      for (const o of items) io.write(executeTemplate(template, o, { allowMissingKeys: opts.allowMissingKeys }));
    };
    return counted({ kind: () => {}, page, end: () => {} });
  }
  if (output.format === 'jsonpath' || opts.single) {
    // The whole result is one value: a bare object or a List, so it is printed at the end.
    const items: Resource[] = [];
    return counted({
      kind: () => {},
      page: (more) => void items.push(...more),
      end() {
        if (output.format === 'jsonpath') {
          const data = opts.single ? items[0] : asList(items);
          if (data) io.write(executeTemplate(output.template, data, { allowMissingKeys: opts.allowMissingKeys }));
        } else if (items.length) {
          io.out(formatObjects(output.format as 'yaml' | 'json' | 'name', items, true));
        }
      },
    });
  }
  const writer = listWriter(output.format, io.out, { kind: '', opts: opts.table });
  return counted({ kind: () => {}, page: (items) => writer.page(items), end: () => writer.end() });
}
