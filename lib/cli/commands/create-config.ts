// `persys create secret generic|docker-registry` and `persys create configmap`, as kubectl builds them:
// the object is made here from literals, files or registry credentials, then created (or only printed
// with --dry-run=client). Values are printed only by -o yaml|json, which shows the object itself.
import type { Resource } from '../../api/resource.js';
import { DOCKER_CONFIG_JSON_KEY, DOCKER_CONFIG_JSON_TYPE, dockerConfigJson } from '../../registry/credentials.js';
import { ConfigError } from '../../client/config.js';
import { list, str, type CommandContext } from '../command.js';
import { readConfigSources, type ConfigEntry } from '../config-sources.js';
import { UsageError } from '../usage-error.js';
import { formatObjects, resourceName } from '../printers/output.js';
import { API_VERSION } from '../../api/kinds.js';

/** kubectl's default --docker-server: Docker Hub. */
export const DEFAULT_DOCKER_SERVER = 'https://index.docker.io/v1/';

type DryRun = 'none' | 'client' | 'server';

function parseDryRun(v: string | undefined): DryRun {
  if (v === undefined || v === '' || v === 'none') return 'none';
  if (v === 'client' || v === 'server') return v;
  throw new UsageError(`invalid --dry-run value "${v}": use none, client or server`, 'create');
}

const meta = (name: string, namespace: string) => ({ name, namespace });

/** A Secret of `type` holding the entries base64-encoded in data. */
export function genericSecret(name: string, namespace: string, entries: ConfigEntry[], type = 'Opaque'): Resource {
  const data = Object.fromEntries(entries.map((e) => [e.key, e.value.toString('base64')]));
  return { apiVersion: API_VERSION, kind: 'Secret', metadata: meta(name, namespace), type, data };
}

/** A Secret of type persys.dev/dockerconfigjson for one registry, as `kubectl create secret docker-registry` makes. */
export function dockerRegistrySecret(
  name: string,
  namespace: string,
  creds: { server: string; username: string; password: string; email?: string },
): Resource {
  const json = dockerConfigJson(creds.server, creds.username, creds.password, creds.email);
  return {
    apiVersion: API_VERSION,
    kind: 'Secret',
    metadata: meta(name, namespace),
    type: DOCKER_CONFIG_JSON_TYPE,
    data: { [DOCKER_CONFIG_JSON_KEY]: Buffer.from(json, 'utf8').toString('base64') },
  };
}

/** A ConfigMap: UTF-8 text in data, anything else base64 in binaryData (as kubectl does). */
export function configMap(name: string, namespace: string, entries: ConfigEntry[]): Resource {
  const data = Object.fromEntries(entries.filter((e) => e.text).map((e) => [e.key, e.value.toString('utf8')]));
  const binary = Object.fromEntries(entries.filter((e) => !e.text).map((e) => [e.key, e.value.toString('base64')]));
  const obj: Resource = { apiVersion: API_VERSION, kind: 'ConfigMap', metadata: meta(name, namespace) };
  if (Object.keys(data).length) obj['data'] = data;
  if (Object.keys(binary).length) obj['binaryData'] = binary;
  return obj;
}

/** The namespace to write into the object; a client dry run needs no cluster, so no client config either. */
function namespaceFor(ctx: CommandContext, dryRun: DryRun): string {
  if (dryRun !== 'client' || ctx.globals.namespace) return ctx.namespace();
  try {
    return ctx.namespace();
  } catch (err) {
    if (err instanceof ConfigError) return 'default';
    throw err;
  }
}

function nameOf(args: string[], what: string): string {
  const [name, ...rest] = args;
  if (!name) throw new UsageError(`NAME is required: persys create ${what} NAME`, 'create');
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`, 'create');
  return name;
}

function required(ctx: CommandContext, flag: string, what: string): string {
  const v = str(ctx.flags, flag);
  if (!v) throw new UsageError(`--${flag} is required for create ${what}`, 'create');
  return v;
}

function rejectFlags(ctx: CommandContext, flags: string[], what: string): void {
  const given = flags.filter((f) => ctx.flags[f] !== undefined && !(Array.isArray(ctx.flags[f]) && !(ctx.flags[f] as string[]).length));
  if (given.length) throw new UsageError(`${given.map((f) => `--${f}`).join(', ')} cannot be used with create ${what}`, 'create');
}

/** `create secret generic|docker-registry NAME …` */
export async function createSecret(ctx: CommandContext, args: string[]): Promise<number> {
  const [variant, ...rest] = args;
  const dryRun = parseDryRun(str(ctx.flags, 'dry-run'));
  checkOutput(ctx);
  let obj: Resource;
  if (variant === 'generic') {
    const name = nameOf(rest, 'secret generic');
    rejectFlags(ctx, ['docker-server', 'docker-username', 'docker-password', 'docker-email'], 'secret generic');
    obj = genericSecret(name, namespaceFor(ctx, dryRun), readConfigSources(list(ctx.flags, 'from-literal'), list(ctx.flags, 'from-file'), 'create'), str(ctx.flags, 'type') || 'Opaque');
  } else if (variant === 'docker-registry') {
    const name = nameOf(rest, 'secret docker-registry');
    rejectFlags(ctx, ['from-literal', 'from-file', 'type'], 'secret docker-registry');
    obj = dockerRegistrySecret(name, namespaceFor(ctx, dryRun), {
      server: str(ctx.flags, 'docker-server') || DEFAULT_DOCKER_SERVER,
      username: required(ctx, 'docker-username', 'secret docker-registry'),
      password: required(ctx, 'docker-password', 'secret docker-registry'),
      email: str(ctx.flags, 'docker-email'),
    });
  } else {
    throw new UsageError(`create secret needs generic or docker-registry, got ${variant ? `"${variant}"` : 'nothing'}`, 'create');
  }
  return createObject(ctx, obj, dryRun);
}

/** `create configmap NAME --from-literal … --from-file …` */
export async function createConfigMap(ctx: CommandContext, args: string[]): Promise<number> {
  const dryRun = parseDryRun(str(ctx.flags, 'dry-run'));
  checkOutput(ctx);
  const name = nameOf(args, 'configmap');
  rejectFlags(ctx, ['docker-server', 'docker-username', 'docker-password', 'docker-email', 'type'], 'configmap');
  const entries = readConfigSources(list(ctx.flags, 'from-literal'), list(ctx.flags, 'from-file'), 'create');
  return createObject(ctx, configMap(name, namespaceFor(ctx, dryRun), entries), dryRun);
}

function checkOutput(ctx: CommandContext): void {
  const o = str(ctx.flags, 'output');
  if (o !== undefined && !['yaml', 'json', 'name'].includes(o)) throw new UsageError(`unknown output format "${o}": use yaml, json or name`, 'create');
}

async function createObject(ctx: CommandContext, obj: Resource, dryRun: DryRun): Promise<number> {
  const created = dryRun === 'client' ? obj : await ctx.client().create(obj, { dryRun: dryRun === 'server' });
  const output = str(ctx.flags, 'output') as 'yaml' | 'json' | 'name' | undefined;
  if (output) ctx.io.out(formatObjects(output, [created], true));
  else ctx.io.out(`${resourceName(created)} created${dryRun === 'none' ? '' : dryRun === 'client' ? ' (dry run)' : ' (server dry run)'}`);
  return 0;
}
