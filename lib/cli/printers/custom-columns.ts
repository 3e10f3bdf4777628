// `-o custom-columns=NAME:.metadata.name,IMAGE:.spec.image` and `-o custom-columns-file=FILE`,
// kubectl's user-defined tables: each column a header and a JSONPath, `<none>` where it finds nothing.
import type { Resource } from '../../api/resource.js';
import { splitTopLevel } from './jsonpath-parse.js';
import { formatValue, JsonPathError, parseRelaxedPath, templateValues, type Template } from './jsonpath.js';

export interface CustomColumn {
  header: string;
  path: Template;
}

/** `HEADER:PATH,…` as given to -o custom-columns=. */
export function parseCustomColumns(spec: string): CustomColumn[] {
  if (!spec.trim()) throw new JsonPathError('custom-columns format specified but no custom columns given');
  // Commas inside brackets and quotes stay in their column: `[?(@.a=="x,y")]`.
  return splitTopLevel(spec).map((part) => {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new JsonPathError(`unexpected custom-columns spec: ${part}, expected <header>:<json-path-expr>`);
    return { header: part.slice(0, colon), path: parseRelaxedPath(part.slice(colon + 1)) };
  });
}

/** A custom-columns file: headers on the first line, their paths on the second, separated by spaces. */
export function parseCustomColumnsFile(text: string): CustomColumn[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length !== 2) throw new JsonPathError(`unexpected custom-columns file: want 2 lines (headers, paths), got ${lines.length}`);
  const headers = lines[0]!.split(/\s+/);
  const paths = lines[1]!.split(/\s+/);
  if (headers.length !== paths.length) {
    throw new JsonPathError(`unexpected custom-columns file: ${headers.length} headers and ${paths.length} paths`);
  }
  return headers.map((header, i) => ({ header, path: parseRelaxedPath(paths[i]!) }));
}

export const customColumnsHeader = (cols: CustomColumn[]): string[] => cols.map((c) => c.header);

/** One row; several values in a cell are joined by commas, as kubectl does. */
export function customColumnsRow(cols: CustomColumn[], obj: Resource): string[] {
  return cols.map((c) => {
    const values = templateValues(c.path, obj).filter((v) => v !== undefined && v !== null);
    return values.length ? values.map(formatValue).join(',') : '<none>';
  });
}
