// The data of `persys create secret|configmap` from kubectl's sources: --from-literal=KEY=VALUE and
// --from-file=[KEY=]PATH (a directory adds each regular file in it). Reads files; never prints values.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TextDecoder } from 'node:util';
import { UsageError } from './usage-error.js';

/** Keys as the API server accepts them: file names of letters, digits, '-', '_' and '.'. */
const KEY = /^[-._a-zA-Z0-9]+$/;

/** One key's value as bytes, and whether it is UTF-8 text (a ConfigMap keeps text in data, the rest in binaryData). */
export interface ConfigEntry {
  key: string;
  value: Buffer;
  text: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(b: Buffer): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

function checkKey(key: string, source: string, command: string): void {
  if (!KEY.test(key) || key === '.' || key === '..' || key.length > 253) {
    throw new UsageError(`${source}: ${JSON.stringify(key)} is not a valid key: use letters, digits, '-', '_' or '.' (not "." or "..")`, command);
  }
}

function literal(arg: string, command: string): ConfigEntry {
  const eq = arg.indexOf('=');
  // The argument is not repeated: it may be a secret value typed without its key.
  if (eq <= 0) throw new UsageError('--from-literal must be KEY=VALUE', command);
  const key = arg.slice(0, eq);
  checkKey(key, '--from-literal', command);
  const value = Buffer.from(arg.slice(eq + 1), 'utf8');
  return { key, value, text: true };
}

function files(arg: string, command: string): ConfigEntry[] {
  const eq = arg.indexOf('=');
  const [key, path] = eq >= 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [undefined, arg];
  if (!path) throw new UsageError(`--from-file must be [KEY=]PATH, got ${JSON.stringify(arg)}`, command);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new Error(`--from-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const read = (k: string, p: string): ConfigEntry => {
    checkKey(k, `--from-file=${p}`, command);
    const value = readFileSync(p);
    return { key: k, value, text: isUtf8(value) };
  };
  if (!isDir) return [read(key ?? basename(path), path)];
  if (key !== undefined) throw new UsageError(`--from-file: a key cannot be given for the directory ${path}`, command);
  // As kubectl: each regular file of the directory whose name is a valid key; subdirectories are skipped.
  return readdirSync(path, { withFileTypes: true })
    .filter((d) => d.isFile() && KEY.test(d.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((d) => read(d.name, join(path, d.name)));
}

/** Every entry of the literals and files in order; a key given twice is a usage error, as in kubectl. */
export function readConfigSources(literals: string[], fromFiles: string[], command: string): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  const seen = new Set<string>();
  for (const e of [...literals.map((l) => literal(l, command)), ...fromFiles.flatMap((f) => files(f, command))]) {
    if (seen.has(e.key)) throw new UsageError(`cannot add key ${JSON.stringify(e.key)}: it is already given`, command);
    seen.add(e.key);
    out.push(e);
  }
  return out;
}
