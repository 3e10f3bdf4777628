// Compose configs and secrets → ComposeFileMount: the top-level definitions (external persys
// ConfigMaps and Secrets, inline content, or a file from spec.files) and each service's references.
import { posix } from 'node:path';
import { FILE_MOUNT_KEYS, FILE_OBJECT_KEYS, FILE_OBJECT_UNSUPPORTED } from './keys.js';
import type { ComposeFileMount, ComposeFileSource } from './model.js';
import { checkKeys, child, isMap, item, readMap, readString, wrongType, type Problems, type RawMap } from './raw.js';
import { missingStackFile, readStackFile } from './stack-files.js';
import { external } from './top-level.js';

export type FileSection = 'configs' | 'secrets';

/** Docker Compose's default mode of a config or secret file: read-only for everyone. */
export const DEFAULT_FILE_MODE = 0o444;
const SECRETS_DIR = '/run/secrets';

/** One top-level config or secret → where its content comes from; undefined when it cannot be used. */
function definition(section: FileSection, key: string, v: unknown, files: Record<string, string> | undefined, p: Problems): ComposeFileSource | undefined {
  const path = `${section}.${key}`;
  const m = readMap(v, path, p) ?? {};
  checkKeys(m, path, FILE_OBJECT_KEYS, p, FILE_OBJECT_UNSUPPORTED);
  const ext = external(m['external'], child(path, 'external'), p);
  const name = readString(m['name'], child(path, 'name'), p) || ext.name;
  const content = m['content'] === undefined ? undefined : readString(m['content'], child(path, 'content'), p);
  const file = readString(m['file'], child(path, 'file'), p);
  const persysKey = m['x-persys-key'] === undefined ? undefined : readString(m['x-persys-key'], child(path, 'x-persys-key'), p);
  const given = [ext.external && 'external', content !== undefined && 'content', file !== undefined && 'file'].filter((x): x is string => !!x);
  if (given.length > 1) {
    p.at(path, `conflicting parameters ${given.map((g) => JSON.stringify(g)).join(' and ')} specified`);
    return undefined;
  }
  if (persysKey !== undefined && !ext.external) p.at(child(path, 'x-persys-key'), 'applies only to external: true');
  if (persysKey === '' || (persysKey && persysKey.includes('/'))) p.at(child(path, 'x-persys-key'), `invalid key ${JSON.stringify(persysKey)}`);
  if (ext.external) {
    return { kind: section === 'configs' ? 'ConfigMap' : 'Secret', name: name ?? key, ...(persysKey && { key: persysKey }) };
  }
  if (content !== undefined) return { kind: 'inline', content };
  if (file !== undefined) {
    const text = readStackFile(files, file);
    if (text === undefined) p.at(child(path, 'file'), missingStackFile(file));
    return text === undefined ? undefined : { kind: 'inline', content: text };
  }
  // environment: was refused by checkKeys; say what is needed only when nothing else was wrong.
  if (m['environment'] === undefined) p.at(path, 'one of external: true, content or file is required');
  return undefined;
}

/** Top-level configs or secrets by key, each with its source (undefined where it was refused). */
export function parseFileDefinitions(section: FileSection, v: unknown, files: Record<string, string> | undefined, p: Problems): Map<string, ComposeFileSource | undefined> {
  const out = new Map<string, ComposeFileSource | undefined>();
  for (const [key, spec] of Object.entries(readMap(v, section, p) ?? {})) {
    if (key.startsWith('x-')) continue;
    out.set(key, definition(section, key, spec, files, p));
  }
  return out;
}

/** A non-negative integer, from YAML's number or a string of digits (octal when `octal`). */
function readId(v: unknown, path: string, p: Problems, octal = false): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && (octal ? /^0?[0-7]+$/ : /^\d+$/).test(v)) return parseInt(v, octal ? 8 : 10);
  p.add(`${path} must be ${octal ? 'a file mode (an octal number such as 0440)' : 'a non-negative integer'}, got ${JSON.stringify(v)}`);
  return undefined;
}

/** A service's reference to a config or secret, before it is resolved against the definitions. */
export interface FileMountRef {
  section: FileSection;
  /** The top-level key it names. */
  source: string;
  /** Where the reference is written, for messages. */
  at: string;
  mount: Omit<ComposeFileMount, 'source' | 'origin'>;
}

function targetOf(section: FileSection, source: string, target: string | undefined, at: string, p: Problems): string {
  const base = section === 'secrets' ? SECRETS_DIR : '/';
  // Compose: a relative target goes under /run/secrets (secrets) or / (configs).
  const t = posix.normalize(posix.join(base, target ?? source));
  if (target !== undefined && target.split('/').includes('..')) p.at(child(at, 'target'), `${JSON.stringify(target)} must not contain ".."`);
  return t;
}

/** `configs:` or `secrets:` of one service: `- name` or {source, target, uid, gid, mode}. */
export function parseFileMountRefs(section: FileSection, v: unknown, path: string, p: Problems): FileMountRef[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    wrongType(p, path, 'a list', v);
    return [];
  }
  return v.flatMap((entry, i): FileMountRef[] => {
    const at = item(path, i);
    let m: RawMap;
    if (typeof entry === 'string') m = { source: entry };
    else if (isMap(entry)) {
      m = entry;
      checkKeys(m, at, FILE_MOUNT_KEYS, p);
    } else {
      wrongType(p, at, 'a string or a mapping', entry);
      return [];
    }
    const source = readString(m['source'], child(at, 'source'), p);
    if (!source) {
      if (source === undefined && m['source'] === undefined) p.at(at, 'source is required');
      else if (source === '') p.at(child(at, 'source'), 'must not be empty');
      return [];
    }
    const target = readString(m['target'], child(at, 'target'), p) || undefined;
    const uid = readId(m['uid'], child(at, 'uid'), p) ?? 0;
    const gid = readId(m['gid'], child(at, 'gid'), p) ?? 0;
    const mode = readId(m['mode'], child(at, 'mode'), p, true) ?? DEFAULT_FILE_MODE;
    if (mode > 0o7777) p.at(child(at, 'mode'), `invalid file mode 0${mode.toString(8)}`);
    return [{ section, source, at, mount: { target: targetOf(section, source, target, at, p), mode, uid, gid } }];
  });
}

/** Resolves references against the definitions; an undeclared one is reported as Compose does. */
export function resolveFileMounts(
  service: string,
  refs: FileMountRef[],
  definitions: Record<FileSection, Map<string, ComposeFileSource | undefined>>,
  p: Problems,
): ComposeFileMount[] {
  return refs.flatMap((r): ComposeFileMount[] => {
    const defs = definitions[r.section];
    if (!defs.has(r.source)) {
      p.add(`${r.section}: ${JSON.stringify(r.source)} used by services.${service} is not declared`);
      return [];
    }
    const source = defs.get(r.source);
    return source ? [{ origin: `${r.section}.${r.source}`, ...r.mount, source }] : [];
  });
}
