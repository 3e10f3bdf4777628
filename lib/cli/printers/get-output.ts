// The -o value of `get`: a built-in format, or a JSONPath template or custom columns (inline or from
// a file), parsed up front so a bad template fails before anything is read from the server.
import { parseCustomColumns, parseCustomColumnsFile, type CustomColumn } from './custom-columns.js';
import { JsonPathError, parseTemplate, type Template } from './jsonpath.js';
import { parseOutputFormat, type OutputFormat } from './output.js';

export type GetOutput =
  | { format: OutputFormat }
  | { format: 'jsonpath'; template: Template }
  | { format: 'custom-columns'; columns: CustomColumn[] };

export const GET_FORMATS = 'yaml, json, wide, name, jsonpath=TEMPLATE, jsonpath-file=FILE, custom-columns=SPEC, custom-columns-file=FILE';

/** undefined for an unknown format; throws JsonPathError for a bad template or column spec. */
export function parseGetOutput(value: string | undefined, readFile: (path: string) => string): GetOutput | undefined {
  const builtin = parseOutputFormat(value);
  if (builtin) return { format: builtin };
  const eq = value!.indexOf('=');
  const [name, arg] = eq < 0 ? [value!, ''] : [value!.slice(0, eq), value!.slice(eq + 1)];
  switch (name) {
    case 'jsonpath':
    case 'jsonpath-file': {
      if (!arg) throw new JsonPathError('template format specified but no template given');
      return { format: 'jsonpath', template: parseTemplate(name === 'jsonpath' ? arg : readFile(arg)) };
    }
    case 'custom-columns':
      return { format: 'custom-columns', columns: parseCustomColumns(arg) };
    case 'custom-columns-file':
      if (!arg) throw new JsonPathError('custom-columns-file format specified but no file given');
      return { format: 'custom-columns', columns: parseCustomColumnsFile(readFile(arg)) };
    default:
      return undefined;
  }
}
