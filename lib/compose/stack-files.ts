// The files a ComposeStack carries in spec.files (path → content), looked up by the relative path the
// compose file names: "./conf/app.env", "conf/app.env" and "conf//app.env" are one file.
import { posix } from 'node:path';

/** The key both sides are compared by: a normalized POSIX path without a leading "./". */
export function stackFileKey(path: string): string {
  return posix.normalize(path).replace(/^(\.\/)+/, '');
}

/** The content of `path` among `files`, or undefined when the stack does not carry it. */
export function readStackFile(files: Record<string, string> | undefined, path: string): string | undefined {
  if (!files) return undefined;
  const want = stackFileKey(path);
  for (const [name, content] of Object.entries(files)) {
    if (stackFileKey(name) === want) return content;
  }
  return undefined;
}

/** The error for a path the stack does not carry, naming where the file belongs. */
export const missingStackFile = (path: string): string =>
  `file ${JSON.stringify(path)} is not in spec.files: a ComposeStack carries the files its compose file names in spec.files (path → content)`;
