// The file `persys edit` hands to the editor, as kubectl writes it: a comment header (with the errors
// of the last attempt, when the file is reopened) above the object; '#' lines are dropped on reading.

const HEADER = [
  "# Please edit the object below. Lines beginning with a '#' will be ignored,",
  '# and an empty file will abort the edit. If an error occurs while saving this file will be',
  '# reopened with the relevant failures.',
  '#',
];

/** The file text: the header, then (when reopened) the error of the last save, then the object. */
export function editFileText(body: string, error?: { what: string; message: string }): string {
  const errorLines = error ? [`# ${error.what} was not valid:`, ...error.message.split('\n').map((l, i) => (i ? `#   ${l}` : `# * ${l}`)), '#'] : [];
  return [...HEADER, ...errorLines, body.trimEnd(), ''].join('\n');
}

/** The edited object's text without comment lines (a '#' in the first column, as kubectl strips them). */
export function stripComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .trim();
}
