// One compose service → ComposeService (everything but configHash and cross-service checks, which
// need the whole file: declared networks/volumes, depends_on targets and cycles).
import { imageReferenceError } from '../registry/reference.js';
import { parseDeploy } from './deploy.js';
import { parseEnvFiles } from './env-file.js';
import { parseFileMountRefs, resolveFileMounts, type FileSection } from './file-mounts.js';
import { parseHealthcheck } from './healthcheck.js';
import { DEPENDS_ON_KEYS, SERVICE_KEYS, SERVICE_NETWORK_KEYS, SERVICE_NETWORK_UNSUPPORTED, SERVICE_UNSUPPORTED } from './keys.js';
import type { ComposeFileSource, ComposePullPolicy, ComposeService, ComposeServiceNetwork, DependsOnCondition } from './model.js';
import { parseMounts } from './mounts.js';
import { parsePorts } from './ports.js';
import { checkKeys, child, isMap, item, readKeyValues, readList, readMap, readScalarString, readString, wrongType, type Problems, type RawMap } from './raw.js';
import { ShellWordsError, splitShellWords } from './shell-words.js';

export type NormalizedService = Omit<ComposeService, 'configHash'>;

/** What a service is read against: the stack's variables and files, and the file's configs and secrets. */
export interface ServiceContext {
  env: Record<string, string>;
  files: Record<string, string> | undefined;
  definitions: Record<FileSection, Map<string, ComposeFileSource | undefined>>;
}

const CONDITIONS: readonly DependsOnCondition[] = ['service_started', 'service_healthy', 'service_completed_successfully'];

/** A string is split like a shell would (no expansion); a list is taken as is; null leaves the image's. */
function argv(v: unknown, path: string, p: Problems): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    try {
      return splitShellWords(v);
    } catch (e) {
      if (!(e instanceof ShellWordsError)) throw e;
      p.at(path, e.message);
      return undefined;
    }
  }
  if (Array.isArray(v)) return v.map((x, i) => readScalarString(x, item(path, i), p) ?? '');
  wrongType(p, path, 'a string or a list', v);
  return undefined;
}

function dependsOn(v: unknown, path: string, p: Problems): NormalizedService['dependsOn'] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) {
    return v.flatMap((x, i) => {
      const service = readString(x, item(path, i), p);
      return service === undefined ? [] : [{ service, condition: 'service_started' as const }];
    });
  }
  if (!isMap(v)) {
    wrongType(p, path, 'a list or a mapping', v);
    return [];
  }
  return Object.entries(v).flatMap(([service, spec]) => {
    const at = child(path, service);
    const m = readMap(spec, at, p) ?? {};
    checkKeys(m, at, DEPENDS_ON_KEYS, p);
    const condition = readString(m['condition'], child(at, 'condition'), p) ?? 'service_started';
    if (!(CONDITIONS as readonly string[]).includes(condition)) {
      p.at(child(at, 'condition'), `invalid condition ${JSON.stringify(condition)}: must be one of ${CONDITIONS.join(', ')}`);
      return [];
    }
    return [{ service, condition: condition as DependsOnCondition }];
  });
}

function networks(v: unknown, path: string, p: Problems): ComposeServiceNetwork[] {
  // No networks (or an empty list) means the project's default network, as in Compose.
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isMap(v) && Object.keys(v).length === 0)) {
    return [{ key: 'default', aliases: [] }];
  }
  if (Array.isArray(v)) return v.flatMap((x, i) => {
    const key = readString(x, item(path, i), p);
    return key === undefined ? [] : [{ key, aliases: [] }];
  });
  if (!isMap(v)) {
    wrongType(p, path, 'a list or a mapping', v);
    return [];
  }
  return Object.entries(v).map(([key, spec]) => {
    const at = child(path, key);
    const m = readMap(spec, at, p) ?? {};
    checkKeys(m, at, SERVICE_NETWORK_KEYS, p, SERVICE_NETWORK_UNSUPPORTED);
    const aliases = (readList(m['aliases'], child(at, 'aliases'), p) ?? []).flatMap((a, i) => readString(a, item(child(at, 'aliases'), i), p) ?? []);
    return { key, aliases };
  });
}

/** A bare label key has the empty value, as in Compose; Compose's own labels are persys's to write. */
function labels(v: unknown, path: string, p: Problems): Record<string, string> {
  const out = readKeyValues(v, path, p, () => '');
  for (const key of Object.keys(out)) {
    if (key.startsWith('com.docker.compose.')) p.at(path, `label ${JSON.stringify(key)} is reserved for Compose`);
  }
  return out;
}

function image(svc: RawMap, path: string, p: Problems): string {
  const img = readString(svc['image'], child(path, 'image'), p);
  if (img === undefined || img === '') {
    if (svc['build'] !== undefined) p.at(child(path, 'build'), 'persys cannot build images: set image');
    else if (img === undefined && svc['image'] === undefined) p.at(path, 'image is required');
    else if (img === '') p.at(child(path, 'image'), 'must not be empty');
    return '';
  }
  const why = imageReferenceError(img);
  if (why) p.at(child(path, 'image'), why);
  return img;
}

const PULL_POLICIES: Readonly<Record<string, ComposePullPolicy>> = { always: 'always', missing: 'missing', if_not_present: 'missing', never: 'never' };

function pullPolicy(v: unknown, path: string, p: Problems): ComposePullPolicy {
  const policy = readString(v, path, p);
  if (policy === undefined || policy === '') return 'missing';
  if (Object.hasOwn(PULL_POLICIES, policy)) return PULL_POLICIES[policy]!;
  if (policy === 'build') p.at(path, 'build: persys does not build images; push the image to a registry and refer to it with image');
  else p.at(path, `persys does not support pull_policy ${JSON.stringify(policy)}: use always, missing or never`);
  return 'missing';
}

function optionalString(svc: RawMap, key: string, path: string, p: Problems): string | undefined {
  const v = svc[key];
  if (v === undefined || v === null) return undefined;
  // user: 1000 is common; Compose passes it on as "1000".
  return readScalarString(v, child(path, key), p) || undefined;
}

/** A config or secret file may not land where a volume or another file is mounted. */
function checkFileTargets(s: NormalizedService, path: string, p: Problems): void {
  const taken = new Set(s.volumes.map((v) => v.target));
  for (const f of s.fileMounts) {
    if (taken.has(f.target)) p.at(path, `duplicate mount target ${JSON.stringify(f.target)} (${f.origin})`);
    taken.add(f.target);
  }
}

export function normalizeService(name: string, svc: RawMap, ctx: ServiceContext, p: Problems): NormalizedService {
  const { env } = ctx;
  const path = `services.${name}`;
  checkKeys(svc, path, SERVICE_KEYS, p, SERVICE_UNSUPPORTED);
  const bareFromEnv = (key: string) => (Object.hasOwn(env, key) ? env[key] : undefined);
  const deploy = parseDeploy(svc, path, p);
  const healthcheck = parseHealthcheck(svc['healthcheck'], child(path, 'healthcheck'), p);
  const entrypoint = argv(svc['entrypoint'], child(path, 'entrypoint'), p);
  const command = argv(svc['command'], child(path, 'command'), p);
  const workingDir = optionalString(svc, 'working_dir', path, p);
  if (workingDir !== undefined && !workingDir.startsWith('/')) p.at(child(path, 'working_dir'), `${JSON.stringify(workingDir)} must be an absolute path`);
  const user = optionalString(svc, 'user', path, p);
  const hostname = optionalString(svc, 'hostname', path, p);
  const envFiles = parseEnvFiles(svc['env_file'], child(path, 'env_file'), ctx.files, env, p);
  const environment = readKeyValues(svc['environment'], child(path, 'environment'), p, bareFromEnv);
  const fileRefs = [
    ...parseFileMountRefs('configs', svc['configs'], child(path, 'configs'), p),
    ...parseFileMountRefs('secrets', svc['secrets'], child(path, 'secrets'), p),
  ];
  const service: NormalizedService = {
    name,
    image: image(svc, path, p),
    pullPolicy: pullPolicy(svc['pull_policy'], child(path, 'pull_policy'), p),
    ...(entrypoint && { entrypoint }),
    ...(command && { command }),
    environment: { ...envFiles, ...environment },
    ports: parsePorts(svc['ports'], child(path, 'ports'), p),
    volumes: parseMounts(svc['volumes'], svc['tmpfs'], path, p),
    fileMounts: resolveFileMounts(name, fileRefs, ctx.definitions, p),
    ...(healthcheck && { healthcheck }),
    restart: deploy.restart,
    labels: labels(svc['labels'], child(path, 'labels'), p),
    replicas: deploy.replicas,
    resources: deploy.resources,
    dependsOn: dependsOn(svc['depends_on'], child(path, 'depends_on'), p),
    networks: networks(svc['networks'], child(path, 'networks'), p),
    ...(workingDir && { workingDir }),
    ...(user && { user }),
    ...(hostname && { hostname }),
  };
  checkFileTargets(service, path, p);
  return service;
}
