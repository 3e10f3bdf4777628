// Top-level `networks:` and `volumes:` → ComposeNetwork / ComposeVolume with their Docker names:
// PROJECT_KEY as Compose names them, or `name:`, or the existing object's name when external.
import { NETWORK_KEYS, NETWORK_UNSUPPORTED, VOLUME_KEYS, VOLUME_UNSUPPORTED } from './keys.js';
import type { ComposeNetwork, ComposeVolume } from './model.js';
import { checkKeys, child, isMap, readKeyValues, readMap, readString, type Problems } from './raw.js';

type Resource = ComposeNetwork & ComposeVolume;

/** external: true, or the obsolete external: {name: …} form Compose still reads. */
export function external(v: unknown, path: string, p: Problems): { external: boolean; name?: string } {
  if (v === undefined || v === null) return { external: false };
  if (typeof v === 'boolean') return { external: v };
  if (isMap(v)) {
    const name = readString(v['name'], child(path, 'name'), p);
    return { external: true, ...(name && { name }) };
  }
  p.add(`${path} must be a boolean, got ${JSON.stringify(v)}`);
  return { external: false };
}

function resource(kind: 'networks' | 'volumes', key: string, v: unknown, project: string, p: Problems): Resource {
  const path = `${kind}.${key}`;
  const m = readMap(v, path, p) ?? {};
  if (kind === 'networks') checkKeys(m, path, NETWORK_KEYS, p, NETWORK_UNSUPPORTED);
  else checkKeys(m, path, VOLUME_KEYS, p, VOLUME_UNSUPPORTED);
  const ext = external(m['external'], child(path, 'external'), p);
  const name = readString(m['name'], child(path, 'name'), p) || ext.name;
  const driver = readString(m['driver'], child(path, 'driver'), p) || undefined;
  const labels = readKeyValues(m['labels'], child(path, 'labels'), p, () => '');
  if (ext.external) {
    // Compose's rule: an external object is used as it is, so nothing may describe how to create it.
    for (const k of ['driver', 'labels']) {
      if (m[k] !== undefined) p.at(path, `conflicting parameters "external" and "${k}" specified`);
    }
  }
  return { key, name: name ?? (ext.external ? key : `${project}_${key}`), external: ext.external, ...(driver && { driver }), labels };
}

/** Declared networks or volumes by key, in the file's order. */
export function parseTopLevel(kind: 'networks' | 'volumes', v: unknown, project: string, p: Problems): Map<string, Resource> {
  const out = new Map<string, Resource>();
  const m = readMap(v, kind, p);
  for (const [key, spec] of Object.entries(m ?? {})) {
    if (key.startsWith('x-')) continue;
    out.set(key, resource(kind, key, spec, project, p));
  }
  return out;
}
