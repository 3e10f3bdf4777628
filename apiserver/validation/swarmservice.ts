// Semantic validation of a SwarmService: image, mode and replicas, published ports, update and
// rollback configs, env, resources and placement constraints, in Docker Swarm's own vocabulary.
import type { Resource } from '../../lib/api/resource.js';
import type { ServiceUpdateConfig, SwarmServiceSpec } from '../../lib/gen/persys/v1/workloads.js';
import { validateEnv, validateImage, validateImagePullSecrets, validateResources } from './container-spec.js';
import type { FieldErrors } from './errors.js';
import { fieldPath, itemPath } from './field-path.js';
import { checkNonNegative, checkOneOf, checkRange } from './rules.js';
import type { Conformed } from './schema.js';

const CONSTRAINT = /^\s*[\w.\-]+\s*(==|!=)\s*\S.*$/;

function validateUpdateConfig(
  c: Conformed<ServiceUpdateConfig> | undefined,
  path: string,
  failureActions: readonly string[],
  errs: FieldErrors,
): void {
  if (!c) return;
  checkNonNegative(errs, fieldPath(path, 'parallelism'), c.parallelism);
  checkNonNegative(errs, fieldPath(path, 'delaySeconds'), c.delaySeconds);
  checkNonNegative(errs, fieldPath(path, 'monitorSeconds'), c.monitorSeconds);
  checkRange(errs, fieldPath(path, 'maxFailureRatio'), c.maxFailureRatio, 0, 1);
  checkOneOf(errs, fieldPath(path, 'failureAction'), c.failureAction, failureActions);
  checkOneOf(errs, fieldPath(path, 'order'), c.order, ['stop-first', 'start-first']);
}

export function validateSwarmService(obj: Resource, errs: FieldErrors): void {
  const spec: Conformed<SwarmServiceSpec> = obj.spec ?? {};
  validateImage(errs, 'spec.image', spec.image);
  checkOneOf(errs, 'spec.mode', spec.mode, ['replicated', 'global']);
  if (spec.replicas !== undefined && spec.mode === 'global') errs.add('spec.replicas', 'may only be set when mode is replicated');
  checkNonNegative(errs, 'spec.replicas', spec.replicas);

  const published = new Set<string>();
  (spec.ports ?? []).forEach((port, i) => {
    const p = itemPath('spec.ports', i);
    checkRange(errs, fieldPath(p, 'targetPort'), port.targetPort ?? 0, 1, 65535);
    checkRange(errs, fieldPath(p, 'publishedPort'), port.publishedPort, 0, 65535);
    checkOneOf(errs, fieldPath(p, 'protocol'), port.protocol, ['tcp', 'udp']);
    checkOneOf(errs, fieldPath(p, 'publishMode'), port.publishMode, ['ingress', 'host']);
    if (port.publishedPort) {
      const key = `${port.publishedPort}/${port.protocol || 'tcp'}`;
      if (published.has(key)) errs.add(fieldPath(p, 'publishedPort'), `duplicate publishedPort ${key}`);
      published.add(key);
    }
  });

  validateEnv(spec.env, 'spec.env', errs);
  (spec.env ?? []).forEach((e, i) => {
    if (e.valueFrom) {
      errs.add(fieldPath(itemPath('spec.env', i), 'valueFrom'), 'is not supported for a SwarmService (Docker would keep the value in the service spec); use value');
    }
  });
  validateResources(spec.resources, 'spec.resources', errs);
  validateImagePullSecrets(spec.imagePullSecrets, 'spec.imagePullSecrets', errs);
  validateUpdateConfig(spec.updateConfig, 'spec.updateConfig', ['pause', 'continue', 'rollback'], errs);
  validateUpdateConfig(spec.rollbackConfig, 'spec.rollbackConfig', ['pause', 'continue'], errs);
  (spec.networks ?? []).forEach((n, i) => {
    if (!n) errs.add(itemPath('spec.networks', i), 'must not be empty');
  });
  (spec.constraints ?? []).forEach((c, i) => {
    if (!CONSTRAINT.test(c)) errs.add(itemPath('spec.constraints', i), `${JSON.stringify(c)} must be "<attribute>==<value>" or "<attribute>!=<value>"`);
  });
  for (const key of Object.keys(spec.labels ?? {})) {
    if (!key) errs.add(itemPath('spec.labels', key), 'key must not be empty');
  }
}
