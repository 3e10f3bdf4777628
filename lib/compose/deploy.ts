// Replicas, resources and restart policy: each may be set at the service's top level (scale, cpus,
// mem_limit, mem_reservation, restart) or under deploy:, and Compose refuses two different values.
import { parseComposeBytes } from './bytes.js';
import { DEPLOY_KEYS, LIMITS_KEYS, RESERVATIONS_KEYS, RESOURCE_UNSUPPORTED, RESOURCES_KEYS, RESTART_POLICY_KEYS } from './keys.js';
import type { ComposeService } from './model.js';
import { checkKeys, child, readCount, readMap, readString, type Problems, type RawMap } from './raw.js';

const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/;

function nanoCpus(v: unknown, path: string, p: Problems): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n === 'number' && Number.isFinite(n) && n > 0) return Math.round(n * 1e9);
  p.at(path, `invalid cpus ${JSON.stringify(v)}: must be a number of CPUs greater than 0, such as 0.5`);
  return undefined;
}

function bytes(v: unknown, path: string, p: Problems): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = parseComposeBytes(v);
  if (n === undefined) p.at(path, `invalid size ${JSON.stringify(v)}: use bytes or a number with a unit such as "512M" or "1g"`);
  return n;
}

/** The one value of a setting written in two places, or an error naming both when they differ. */
function either<T>(a: T | undefined, aKey: string, b: T | undefined, bKey: string, path: string, p: Problems): T | undefined {
  if (a !== undefined && b !== undefined && a !== b) p.at(path, `can't set distinct values on '${aKey}' and '${bKey}'`);
  return a ?? b;
}

function restartFromPolicy(policy: RawMap | undefined, path: string, p: Problems): string | undefined {
  if (!policy) return undefined;
  checkKeys(policy, path, RESTART_POLICY_KEYS, p);
  const condition = readString(policy['condition'], child(path, 'condition'), p) ?? 'any';
  const attempts = readCount(policy['max_attempts'], child(path, 'max_attempts'), p);
  switch (condition) {
    case 'none':
      return 'no';
    case 'any':
      return 'always';
    case 'on-failure':
      return attempts ? `on-failure:${attempts}` : 'on-failure';
    default:
      p.at(child(path, 'condition'), `invalid condition ${JSON.stringify(condition)}: must be none, on-failure or any`);
      return undefined;
  }
}

export interface DeploySettings {
  replicas: number;
  restart: string;
  resources: ComposeService['resources'];
}

export function parseDeploy(svc: RawMap, path: string, p: Problems): DeploySettings {
  const dpath = child(path, 'deploy');
  const deploy = readMap(svc['deploy'], dpath, p) ?? {};
  checkKeys(deploy, dpath, DEPLOY_KEYS, p);
  const mode = readString(deploy['mode'], child(dpath, 'mode'), p);
  if (mode !== undefined && mode !== 'replicated') p.at(child(dpath, 'mode'), `persys does not support mode ${JSON.stringify(mode)}: a stack runs replicated on one node`);

  const rpath = child(dpath, 'resources');
  const resources = readMap(deploy['resources'], rpath, p) ?? {};
  checkKeys(resources, rpath, RESOURCES_KEYS, p);
  const limits = readMap(resources['limits'], child(rpath, 'limits'), p) ?? {};
  const reservations = readMap(resources['reservations'], child(rpath, 'reservations'), p) ?? {};
  checkKeys(limits, child(rpath, 'limits'), LIMITS_KEYS, p, RESOURCE_UNSUPPORTED);
  checkKeys(reservations, child(rpath, 'reservations'), RESERVATIONS_KEYS, p, RESOURCE_UNSUPPORTED);
  if (reservations['cpus'] !== undefined) nanoCpus(reservations['cpus'], child(rpath, 'reservations.cpus'), p);

  const cpus = either(
    nanoCpus(svc['cpus'], child(path, 'cpus'), p), 'cpus',
    nanoCpus(limits['cpus'], child(rpath, 'limits.cpus'), p), 'deploy.resources.limits.cpus', path, p);
  const memory = either(
    bytes(svc['mem_limit'], child(path, 'mem_limit'), p), 'mem_limit',
    bytes(limits['memory'], child(rpath, 'limits.memory'), p), 'deploy.resources.limits.memory', path, p);
  const reservation = either(
    bytes(svc['mem_reservation'], child(path, 'mem_reservation'), p), 'mem_reservation',
    bytes(reservations['memory'], child(rpath, 'reservations.memory'), p), 'deploy.resources.reservations.memory', path, p);
  if (memory !== undefined && reservation !== undefined && reservation > memory) {
    p.at(child(rpath, 'reservations.memory'), `the memory reservation (${reservation} bytes) must not exceed the limit (${memory} bytes)`);
  }

  const replicas = either(
    readCount(svc['scale'], child(path, 'scale'), p), 'scale',
    readCount(deploy['replicas'], child(dpath, 'replicas'), p), 'deploy.replicas', path, p);

  let restart = readString(svc['restart'], child(path, 'restart'), p);
  if (restart !== undefined && !RESTART.test(restart)) {
    p.at(child(path, 'restart'), `invalid restart policy ${JSON.stringify(restart)}: must be no, always, on-failure[:max-retries] or unless-stopped`);
    restart = undefined;
  }
  const fromPolicy = restartFromPolicy(readMap(deploy['restart_policy'], child(dpath, 'restart_policy'), p), child(dpath, 'restart_policy'), p);

  return {
    replicas: replicas ?? 1,
    // As Compose: restart wins over deploy.restart_policy.
    restart: restart ?? fromPolicy ?? 'no',
    resources: {
      ...(cpus !== undefined && { nanoCpus: cpus }),
      ...(memory !== undefined && { memoryBytes: memory }),
      ...(reservation !== undefined && { memoryReservationBytes: reservation }),
    },
  };
}
