// Compose `volumes:` (short "SOURCE:TARGET[:MODE]" and long syntax) and `tmpfs:` → ComposeMount.
// Relative binds are refused: Compose resolves them against the project directory, which the server lacks.
import type { ComposeMount } from './model.js';
import { MOUNT_KEYS, MOUNT_UNSUPPORTED } from './keys.js';
import { checkKeys, child, isMap, item, readBoolean, readString, wrongType, type Problems } from './raw.js';

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// Docker Desktop's file-sharing hints, meaningless on a Linux node.
const IGNORED_MODES = new Set(['cached', 'delegated', 'consistent']);

/** The mount a source implies, or why it cannot be mounted here. */
function sourceKind(source: string): { type: 'bind' | 'volume' } | { error: string } {
  if (source.startsWith('/')) return { type: 'bind' };
  if (source.startsWith('.') || source.startsWith('~')) {
    return { error: `relative bind mount ${JSON.stringify(source)} is not supported: the server has no project directory; use an absolute host path or a named volume` };
  }
  if (!VOLUME_NAME.test(source)) return { error: `invalid volume name ${JSON.stringify(source)}` };
  return { type: 'volume' };
}

function checkTarget(target: string, path: string, p: Problems): boolean {
  if (target.startsWith('/')) return true;
  p.at(path, `mount target ${JSON.stringify(target)} must be an absolute path`);
  return false;
}

function shortMount(s: string, path: string, p: Problems): ComposeMount | undefined {
  const parts = s.split(':');
  if (parts.length > 3 || parts.some((x) => x === '')) {
    p.at(path, `invalid volume ${JSON.stringify(s)}: expected [SOURCE:]TARGET[:MODE]`);
    return undefined;
  }
  if (parts.length === 1) return checkTarget(s, path, p) ? { type: 'volume', target: s, readOnly: false } : undefined;
  const [source, target, mode] = parts as [string, string, string | undefined];
  let readOnly = false;
  let ok = true;
  for (const option of (mode ?? '').split(',').filter(Boolean)) {
    if (option === 'ro' || option === 'rw') readOnly = option === 'ro';
    else if (!IGNORED_MODES.has(option)) {
      p.at(path, `persys does not support the volume option ${JSON.stringify(option)}: the node agent cannot set it yet`);
      ok = false;
    }
  }
  const kind = sourceKind(source);
  if ('error' in kind) {
    p.at(path, kind.error);
    return undefined;
  }
  return checkTarget(target, path, p) && ok ? { type: kind.type, source, target, readOnly } : undefined;
}

function longMount(m: Record<string, unknown>, path: string, p: Problems): ComposeMount | undefined {
  checkKeys(m, path, MOUNT_KEYS, p, MOUNT_UNSUPPORTED);
  const type = readString(m['type'], child(path, 'type'), p);
  const source = readString(m['source'], child(path, 'source'), p) || undefined;
  const target = readString(m['target'], child(path, 'target'), p);
  const readOnly = readBoolean(m['read_only'], child(path, 'read_only'), p) ?? false;
  if (type === undefined) p.at(path, 'type is required');
  else if (type !== 'volume' && type !== 'bind' && type !== 'tmpfs') {
    p.at(child(path, 'type'), `persys does not support ${JSON.stringify(type)} mounts: use volume, bind or tmpfs`);
    return undefined;
  }
  if (target === undefined) p.at(path, 'target is required');
  if (!type || target === undefined || !checkTarget(target, child(path, 'target'), p)) return undefined;
  if (type === 'tmpfs') {
    if (source) p.at(child(path, 'source'), 'a tmpfs mount has no source');
    return source ? undefined : { type, target, readOnly };
  }
  if (source === undefined) {
    if (type === 'bind') p.at(path, 'source is required for a bind mount');
    return type === 'bind' ? undefined : { type, target, readOnly };
  }
  const kind = sourceKind(source);
  if ('error' in kind) p.at(child(path, 'source'), kind.error);
  else if (kind.type !== type) {
    p.at(child(path, 'source'), type === 'bind' ? `a bind mount needs an absolute host path, got ${JSON.stringify(source)}` : `a volume source must be a volume name, got ${JSON.stringify(source)}`);
  } else return { type, source, target, readOnly };
  return undefined;
}

function tmpfsMounts(v: unknown, path: string, p: Problems): ComposeMount[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : (wrongType(p, path, 'a string or a list', v), []);
  const mounts: ComposeMount[] = [];
  list.forEach((entry, i) => {
    const at = typeof v === 'string' ? path : item(path, i);
    const target = readString(entry, at, p);
    if (target === undefined) return;
    if (target.includes(':')) p.at(at, `persys does not support tmpfs options (${JSON.stringify(target)}): the node agent cannot set them yet`);
    else if (checkTarget(target, at, p)) mounts.push({ type: 'tmpfs', target, readOnly: false });
  });
  return mounts;
}

/** `volumes:` then `tmpfs:` of one service, in the file's order. */
export function parseMounts(volumes: unknown, tmpfs: unknown, path: string, p: Problems): ComposeMount[] {
  const mounts: ComposeMount[] = [];
  if (volumes !== undefined && volumes !== null) {
    const vpath = child(path, 'volumes');
    if (!Array.isArray(volumes)) wrongType(p, vpath, 'a list', volumes);
    else {
      volumes.forEach((entry, i) => {
        const at = item(vpath, i);
        const mount = typeof entry === 'string' ? shortMount(entry, at, p) : isMap(entry) ? longMount(entry, at, p) : (wrongType(p, at, 'a string or a mapping', entry), undefined);
        if (mount) mounts.push(mount);
      });
    }
  }
  mounts.push(...tmpfsMounts(tmpfs, child(path, 'tmpfs'), p));
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.target)) p.at(path, `duplicate mount target ${JSON.stringify(m.target)}`);
    seen.add(m.target);
  }
  return mounts;
}
