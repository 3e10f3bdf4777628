// Turns a compose file (YAML text) into the ComposeProject persys runs, or every reason it cannot,
// each naming its place as Docker Compose does. Pure: no file, network or process environment is read.
import { parseDocument, type ScalarTag } from 'yaml';
import { configHash } from './config-hash.js';
import { checkDependencies } from './dependencies.js';
import { parseFileDefinitions } from './file-mounts.js';
import { interpolateValues } from './interpolate.js';
import { TOP_LEVEL_KEYS, TOP_LEVEL_UNSUPPORTED } from './keys.js';
import type { ComposeNetwork, ComposeProject, ComposeVolume, ParseComposeOptions, ParseComposeResult } from './model.js';
import { checkKeys, isMap, Problems } from './raw.js';
import { normalizeService, type NormalizedService } from './service.js';
import { parseTopLevel } from './top-level.js';

/** yaml's guard against "billion laughs": an alias may be expanded at most this many times. */
const MAX_ALIAS_COUNT = 100;
const SERVICE_NAME = /^[a-zA-Z0-9._-]+$/;

/**
 * YAML 1.1's octal integers (`mode: 0440`), which Compose's YAML reader (go-yaml v3) still reads as
 * octal; YAML 1.2 alone would read 0440 as four hundred and forty.
 */
const LEGACY_OCTAL: ScalarTag = {
  identify: (v) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^0[0-7]+$/,
  resolve: (s) => parseInt(s, 8),
};

/** Compose's normalization: lowercase, only [a-z0-9_-], starting with a letter or digit. */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

function readYaml(text: string, p: Problems): unknown {
  // merge: compose files commonly share settings through `<<: *anchor`. logLevel: odd keys yaml
  // would warn about on stderr are reported below as unknown keys instead.
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, logLevel: 'error', customTags: (tags) => [LEGACY_OCTAL, ...tags] });
  if (doc.errors.length > 0) {
    // yaml's first message line carries the reason and "at line N, column M".
    for (const e of doc.errors) p.add(`invalid YAML: ${e.message.split('\n')[0]!.replace(/:$/, '')}`);
    return undefined;
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    p.add(`invalid YAML: ${(e as Error).message}`);
    return undefined;
  }
}

/** Networks and volumes the services use, each declared (or the implicit default network). */
function usedResources(
  services: NormalizedService[],
  project: string,
  declaredNetworks: Map<string, ComposeNetwork>,
  declaredVolumes: Map<string, ComposeVolume>,
  p: Problems,
): { networks: ComposeNetwork[]; volumes: ComposeVolume[] } {
  const usedNetworks = new Set<string>();
  const usedVolumes = new Set<string>();
  for (const s of services) {
    for (const n of s.networks) {
      if (n.key !== 'default' && !declaredNetworks.has(n.key)) p.add(`networks: ${JSON.stringify(n.key)} used by services.${s.name} is not declared`);
      usedNetworks.add(n.key);
    }
    for (const m of s.volumes) {
      if (m.type !== 'volume' || m.source === undefined) continue;
      if (!declaredVolumes.has(m.source)) p.add(`volumes: ${JSON.stringify(m.source)} used by services.${s.name} is not declared`);
      usedVolumes.add(m.source);
    }
  }
  const networks = [...declaredNetworks.values()].filter((n) => usedNetworks.has(n.key));
  if (usedNetworks.has('default') && !declaredNetworks.has('default')) {
    networks.unshift({ key: 'default', name: `${project}_default`, external: false, labels: {} });
  }
  return { networks, volumes: [...declaredVolumes.values()].filter((v) => usedVolumes.has(v.key)) };
}

/** Two services cannot publish the same host port: Docker would start only the first. */
function checkPublishedPorts(services: NormalizedService[], p: Problems): void {
  const owner = new Map<string, string>();
  for (const s of services) {
    for (const port of s.ports) {
      if (port.published === undefined) continue;
      const key = `${port.hostIp ?? ''}:${port.published}/${port.protocol}`;
      const first = owner.get(key);
      if (first) p.at(`services.${s.name}.ports`, `published port ${port.published}/${port.protocol} is already published by services.${first}`);
      else owner.set(key, s.name);
    }
  }
}

export function parseComposeProject(text: string, opts: ParseComposeOptions): ParseComposeResult {
  const p = new Problems();
  const project = normalizeProjectName(opts.projectName);
  if (!project) p.add(`project name ${JSON.stringify(opts.projectName)} must contain a letter or digit`);
  const parsed = readYaml(text, p);
  if (p.list.length > 0) return { errors: p.list };
  if (!isMap(parsed)) return { errors: ['must be a YAML mapping (a compose file)'] };

  // `name` gives way to the stack's project name and `version` is obsolete: both are read by nobody.
  checkKeys(parsed, '', TOP_LEVEL_KEYS, p, TOP_LEVEL_UNSUPPORTED);
  const raw = interpolateValues(parsed, opts.env, '', (m) => p.add(m)) as Record<string, unknown>;

  const servicesRaw = raw['services'];
  if (!isMap(servicesRaw) || Object.keys(servicesRaw).length === 0) {
    p.add('services: must be a non-empty mapping of service names to services');
    return { errors: p.list };
  }
  const definitions = {
    configs: parseFileDefinitions('configs', raw['configs'], opts.files, p),
    secrets: parseFileDefinitions('secrets', raw['secrets'], opts.files, p),
  };
  const services: NormalizedService[] = [];
  for (const [name, svc] of Object.entries(servicesRaw)) {
    if (name.startsWith('x-')) continue;
    if (!SERVICE_NAME.test(name)) p.add(`services: invalid service name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-'`);
    if (!isMap(svc)) {
      p.add(`services.${name} must be a mapping`);
      continue;
    }
    const s = normalizeService(name, svc, { env: opts.env, files: opts.files, definitions }, p);
    if (Object.hasOwn(opts.scale, name)) {
      const override = opts.scale[name]!;
      // A bad override is the API's to report (spec.scale[...]); the file's value stands meanwhile.
      if (Number.isInteger(override) && override >= 0) s.replicas = override;
    }
    services.push(s);
  }
  checkDependencies(services, p);
  checkPublishedPorts(services, p);
  const declaredNetworks = parseTopLevel('networks', raw['networks'], project, p);
  const declaredVolumes = parseTopLevel('volumes', raw['volumes'], project, p);
  const { networks, volumes } = usedResources(services, project, declaredNetworks, declaredVolumes, p);

  if (p.list.length > 0) return { errors: p.list };
  const result: ComposeProject = {
    name: project,
    services: services.map((s) => ({ ...s, configHash: configHash(s) })),
    networks,
    volumes,
  };
  return { project: result, errors: [] };
}
