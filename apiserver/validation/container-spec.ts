// Validation of a ContainerSpec wherever it appears: a Container's spec, a ContainerSet's
// template and a CronJob's jobTemplate. Env and resource rules are shared with SwarmService.
import { isIP } from 'node:net';
import type { ResourceRequirements } from '../../lib/gen/persys/v1/meta.js';
import { imageReferenceError } from '../../lib/registry/reference.js';
import type { ContainerSpec, EnvVar, KeyToPath, LocalObjectReference } from '../../lib/gen/persys/v1/workloads.js';
import type { FieldErrors } from './errors.js';
import { fieldPath, itemPath } from './field-path.js';
import { validateLabels } from './metadata.js';
import {
  dns1123SubdomainError,
  dockerVolumeNameError,
  envVarNameError,
  portNameError,
  configKeyError,
} from './names.js';
import { InvalidQuantityError, parseCpuMillis, parseMemoryBytes } from '../../lib/api/quantity.js';
import { checkAbsolutePath, checkName, checkNonNegative, checkOneOf, checkRange } from './rules.js';
import type { Conformed } from './schema.js';

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
/** File mode bits of a projected file: 0 to 0777. */
const MAX_FILE_MODE = 0o777;

/** An image reference as Docker reads it: [registry[:port]/]name[:tag][@digest], the name at most 255 characters. */
export function validateImage(errs: FieldErrors, path: string, image: string | undefined): void {
  if (!image) return errs.add(path, 'required');
  const why = imageReferenceError(image);
  if (why) errs.add(path, why);
}

export function validateEnv(env: Conformed<EnvVar>[] | undefined, path: string, errs: FieldErrors): void {
  (env ?? []).forEach((e, i) => {
    const p = itemPath(path, i);
    if (!e.name) errs.add(fieldPath(p, 'name'), 'required');
    else checkName(errs, fieldPath(p, 'name'), e.name, envVarNameError);
    if (!e.valueFrom) return;
    const from = fieldPath(p, 'valueFrom');
    if (e.value) errs.add(from, 'may not be set when value is set (value and valueFrom are mutually exclusive)');
    const { secretKeyRef, configMapKeyRef } = e.valueFrom;
    if (!secretKeyRef === !configMapKeyRef) {
      errs.add(from, 'exactly one of secretKeyRef or configMapKeyRef is required');
      return;
    }
    const [field, ref] = secretKeyRef ? ['secretKeyRef', secretKeyRef] : ['configMapKeyRef', configMapKeyRef!];
    const refPath = fieldPath(from, field);
    checkObjectName(errs, fieldPath(refPath, 'name'), ref.name);
    if (!ref.key) errs.add(fieldPath(refPath, 'key'), 'required');
    else checkName(errs, fieldPath(refPath, 'key'), ref.key, configKeyError);
  });
}

/** A required reference to an object in the same namespace (a Secret or ConfigMap name). */
function checkObjectName(errs: FieldErrors, path: string, name: string | undefined): void {
  if (!name) errs.add(path, 'required');
  else checkName(errs, path, name, dns1123SubdomainError);
}

/** imagePullSecrets of a Container, ComposeStack or SwarmService: each names a Secret. */
export function validateImagePullSecrets(refs: Conformed<LocalObjectReference>[] | undefined, path: string, errs: FieldErrors): void {
  (refs ?? []).forEach((r, i) => checkObjectName(errs, fieldPath(itemPath(path, i), 'name'), r.name));
}

function validateEnvFrom(s: Conformed<ContainerSpec>, path: string, errs: FieldErrors): void {
  (s.envFrom ?? []).forEach((e, i) => {
    const p = itemPath(fieldPath(path, 'envFrom'), i);
    if (!e.configMapRef === !e.secretRef) errs.add(p, 'exactly one of configMapRef or secretRef is required');
    if (e.configMapRef) checkObjectName(errs, fieldPath(p, 'configMapRef.name'), e.configMapRef.name);
    if (e.secretRef) checkObjectName(errs, fieldPath(p, 'secretRef.name'), e.secretRef.name);
    // The prefix starts every variable name, so it must be a valid start of one.
    checkName(errs, fieldPath(p, 'prefix'), e.prefix, envVarNameError);
  });
}

/** Parses a quantity for validation, reporting the parser's reason; undefined when absent or invalid. */
function quantity(errs: FieldErrors, path: string, q: string | undefined, parse: (q: string) => number): number | undefined {
  if (!q) return undefined;
  try {
    return parse(q);
  } catch (e) {
    if (!(e instanceof InvalidQuantityError)) throw e;
    errs.add(path, e.message);
    return undefined;
  }
}

export function validateResources(r: Conformed<ResourceRequirements> | undefined, path: string, errs: FieldErrors): void {
  if (!r) return;
  for (const [name, parse] of [['cpu', parseCpuMillis], ['memory', parseMemoryBytes]] as const) {
    const reqPath = fieldPath(fieldPath(path, 'requests'), name);
    const request = quantity(errs, reqPath, r.requests?.[name], parse);
    const limit = quantity(errs, fieldPath(fieldPath(path, 'limits'), name), r.limits?.[name], parse);
    if (request !== undefined && limit !== undefined && request > limit) {
      errs.add(reqPath, `must be less than or equal to limits.${name} (${r.limits![name]})`);
    }
  }
}

export function validateContainerSpec(spec: Conformed<ContainerSpec> | undefined, path: string, errs: FieldErrors): void {
  const s = spec ?? {};
  validateImage(errs, fieldPath(path, 'image'), s.image);
  validatePorts(s, path, errs);
  validateEnv(s.env, fieldPath(path, 'env'), errs);
  validateEnvFrom(s, path, errs);
  validateVolumes(s, path, errs);
  // Left empty when unset: the agent applies Kubernetes' default from the image's tag.
  checkOneOf(errs, fieldPath(path, 'imagePullPolicy'), s.imagePullPolicy, PULL_POLICIES);
  validateImagePullSecrets(s.imagePullSecrets, fieldPath(path, 'imagePullSecrets'), errs);
  validateResources(s.resources, fieldPath(path, 'resources'), errs);
  checkOneOf(errs, fieldPath(path, 'restartPolicy'), s.restartPolicy, RESTART_POLICIES);
  validateHealthcheck(s, path, errs);
  validateLabels(s.nodeSelector, fieldPath(path, 'nodeSelector'), errs);
  checkName(errs, fieldPath(path, 'nodeName'), s.nodeName, dns1123SubdomainError);
  checkAbsolutePath(errs, fieldPath(path, 'workingDir'), s.workingDir);
}

function validatePorts(s: Conformed<ContainerSpec>, path: string, errs: FieldErrors): void {
  const published = new Set<string>();
  const names = new Set<string>();
  (s.ports ?? []).forEach((port, i) => {
    const p = itemPath(fieldPath(path, 'ports'), i);
    checkRange(errs, fieldPath(p, 'containerPort'), port.containerPort ?? 0, 1, 65535);
    checkRange(errs, fieldPath(p, 'hostPort'), port.hostPort, 0, 65535);
    checkOneOf(errs, fieldPath(p, 'protocol'), port.protocol, ['TCP', 'UDP']);
    if (port.name) {
      checkName(errs, fieldPath(p, 'name'), port.name, portNameError);
      if (names.has(port.name)) errs.add(fieldPath(p, 'name'), `duplicate port name ${JSON.stringify(port.name)}`);
      names.add(port.name);
    }
    if (port.hostIp && !isIP(port.hostIp)) errs.add(fieldPath(p, 'hostIp'), `must be an IP address, got ${JSON.stringify(port.hostIp)}`);
    if (port.hostPort) {
      const key = `${port.hostPort}/${port.protocol || 'TCP'}`;
      if (published.has(key)) errs.add(fieldPath(p, 'hostPort'), `duplicate hostPort ${port.hostPort}/${port.protocol || 'TCP'}`);
      published.add(key);
    }
  });
}

/**
 * Volumes: exactly one source each. ConfigMap and Secret volumes are always mounted read-only (as in
 * Kubernetes), whatever readOnly says, so readOnly: false is not an error there.
 */
function validateVolumes(s: Conformed<ContainerSpec>, path: string, errs: FieldErrors): void {
  const mountPaths = new Set<string>();
  (s.volumes ?? []).forEach((v, i) => {
    const p = itemPath(fieldPath(path, 'volumes'), i);
    if (!v.mountPath) errs.add(fieldPath(p, 'mountPath'), 'required');
    checkAbsolutePath(errs, fieldPath(p, 'mountPath'), v.mountPath);
    if (v.mountPath && mountPaths.has(v.mountPath)) {
      errs.add(fieldPath(p, 'mountPath'), `duplicate mountPath ${JSON.stringify(v.mountPath)}`);
    }
    if (v.mountPath) mountPaths.add(v.mountPath);
    const sources = [v.volumeName, v.hostPath, v.configMap, v.secret].filter((x) => x !== undefined && x !== '').length;
    if (sources !== 1) errs.add(p, `exactly one of volumeName, hostPath, configMap or secret is required, got ${sources}`);
    checkAbsolutePath(errs, fieldPath(p, 'hostPath'), v.hostPath);
    checkName(errs, fieldPath(p, 'volumeName'), v.volumeName, dockerVolumeNameError);
    let projected: Set<string> | undefined;
    if (v.configMap) {
      const cm = fieldPath(p, 'configMap');
      checkObjectName(errs, fieldPath(cm, 'name'), v.configMap.name);
      projected = validateProjection(v.configMap, cm, errs);
    }
    if (v.secret) {
      const sec = fieldPath(p, 'secret');
      checkObjectName(errs, fieldPath(sec, 'secretName'), v.secret.secretName);
      projected = validateProjection(v.secret, sec, errs);
    }
    if (v.subPath) validateSubPath(v.subPath, fieldPath(p, 'subPath'), !!(v.configMap || v.secret), projected, errs);
  });
}

/** items and modes of a ConfigMap or Secret volume; returns the projected paths when items are listed. */
function validateProjection(
  src: { items?: Conformed<KeyToPath>[]; defaultMode?: number },
  path: string,
  errs: FieldErrors,
): Set<string> | undefined {
  checkRange(errs, fieldPath(path, 'defaultMode'), src.defaultMode, 0, MAX_FILE_MODE);
  if (!src.items?.length) return undefined;
  const paths = new Set<string>();
  src.items.forEach((item, j) => {
    const p = itemPath(fieldPath(path, 'items'), j);
    if (!item.key) errs.add(fieldPath(p, 'key'), 'required');
    else checkName(errs, fieldPath(p, 'key'), item.key, configKeyError);
    const reason = item.path ? relativePathError(item.path) : 'required';
    if (reason) errs.add(fieldPath(p, 'path'), reason);
    else if (paths.has(item.path!)) errs.add(fieldPath(p, 'path'), `duplicate path ${JSON.stringify(item.path)} in this volume`);
    if (item.path) paths.add(item.path);
    checkRange(errs, fieldPath(p, 'mode'), item.mode, 0, MAX_FILE_MODE);
  });
  return paths;
}

function validateSubPath(subPath: string, path: string, projects: boolean, projected: Set<string> | undefined, errs: FieldErrors): void {
  if (!projects) {
    errs.add(path, 'may only be set for a configMap or secret volume');
    return;
  }
  const reason = relativePathError(subPath);
  if (reason) errs.add(path, reason);
  else if (projected && !projected.has(subPath)) {
    errs.add(path, `${JSON.stringify(subPath)} is not one of the paths in items (${[...projected].map((x) => JSON.stringify(x)).join(', ')})`);
  } else if (!projected) checkName(errs, path, subPath, (v) => (configKeyError(v) ? 'must be a key of the volume when items are not listed' : undefined));
}

/** Why `p` is not a path that stays inside a mount: absolute, empty segments or a ".." segment. */
export function relativePathError(p: string): string | undefined {
  if (p.startsWith('/')) return `must be a relative path, got ${JSON.stringify(p)}`;
  if (p.split('/').includes('..')) return `must not contain a '..' segment, got ${JSON.stringify(p)}`;
  return undefined;
}

function validateHealthcheck(s: Conformed<ContainerSpec>, path: string, errs: FieldErrors): void {
  const h = s.healthcheck;
  if (!h) return;
  const p = fieldPath(path, 'healthcheck');
  const probes = [h.exec, h.httpGet, h.tcpSocket].filter((x) => x !== undefined).length;
  if (probes !== 1) errs.add(p, `exactly one of exec, httpGet or tcpSocket is required, got ${probes}`);
  if (h.exec && !h.exec.command?.length) errs.add(fieldPath(p, 'exec.command'), 'required');
  if (h.httpGet) {
    checkRange(errs, fieldPath(p, 'httpGet.port'), h.httpGet.port ?? 0, 1, 65535);
    if (h.httpGet.path && !h.httpGet.path.startsWith('/')) errs.add(fieldPath(p, 'httpGet.path'), "must start with '/'");
  }
  if (h.tcpSocket) checkRange(errs, fieldPath(p, 'tcpSocket.port'), h.tcpSocket.port ?? 0, 1, 65535);
  for (const f of ['intervalSeconds', 'timeoutSeconds', 'retries', 'startPeriodSeconds'] as const) {
    checkNonNegative(errs, fieldPath(p, f), h[f]);
  }
}
