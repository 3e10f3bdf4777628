// Validation of a ContainerSpec wherever it appears: a Container's spec, a ContainerSet's
// template and a CronJob's jobTemplate. Env and resource rules are shared with SwarmService.
import { isIP } from 'node:net';
import type { ResourceRequirements } from '../../lib/gen/persys/v1/meta.js';
import type { ContainerSpec, EnvVar } from '../../lib/gen/persys/v1/workloads.js';
import type { FieldErrors } from './errors.js';
import { fieldPath, itemPath } from './field-path.js';
import { validateLabels } from './metadata.js';
import {
  dns1123SubdomainError,
  dockerVolumeNameError,
  envVarNameError,
  portNameError,
  secretKeyError,
} from './names.js';
import { InvalidQuantityError, parseCpuMillis, parseMemoryBytes } from './quantity.js';
import { checkAbsolutePath, checkName, checkNonNegative, checkOneOf, checkRange } from './rules.js';
import type { Conformed } from './schema.js';

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;

export function validateImage(errs: FieldErrors, path: string, image: string | undefined): void {
  if (!image) errs.add(path, 'required');
  else if (/\s/.test(image)) errs.add(path, `must not contain whitespace, got ${JSON.stringify(image)}`);
}

export function validateEnv(env: Conformed<EnvVar>[] | undefined, path: string, errs: FieldErrors): void {
  (env ?? []).forEach((e, i) => {
    const p = itemPath(path, i);
    if (!e.name) errs.add(fieldPath(p, 'name'), 'required');
    else checkName(errs, fieldPath(p, 'name'), e.name, envVarNameError);
    if (!e.valueFrom) return;
    const from = fieldPath(p, 'valueFrom');
    if (e.value) errs.add(from, 'may not be set when value is set (value and valueFrom are mutually exclusive)');
    const ref = e.valueFrom.secretKeyRef;
    if (!ref) {
      errs.add(fieldPath(from, 'secretKeyRef'), 'required');
      return;
    }
    const refPath = fieldPath(from, 'secretKeyRef');
    if (!ref.name) errs.add(fieldPath(refPath, 'name'), 'required');
    else checkName(errs, fieldPath(refPath, 'name'), ref.name, dns1123SubdomainError);
    if (!ref.key) errs.add(fieldPath(refPath, 'key'), 'required');
    else checkName(errs, fieldPath(refPath, 'key'), ref.key, secretKeyError);
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
  validateVolumes(s, path, errs);
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
    if (!v.volumeName === !v.hostPath) errs.add(p, 'exactly one of volumeName or hostPath is required');
    checkAbsolutePath(errs, fieldPath(p, 'hostPath'), v.hostPath);
    checkName(errs, fieldPath(p, 'volumeName'), v.volumeName, dockerVolumeNameError);
  });
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
