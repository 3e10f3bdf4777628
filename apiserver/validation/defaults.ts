// Defaulting per kind, after the structural check and before semantic validation, following
// Kubernetes' (and Docker's, for healthchecks) conventions so stored objects are explicit.
import type { KindInfo } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import type { ContainerSpec } from '../../lib/gen/persys/v1/workloads.js';
import { isEmptySelector } from './label-selector.js';
import { configKeyError } from './names.js';
import { defaultService } from './service.js';
import type { Conformed } from './schema.js';

type Spec = Record<string, any>;

/** Docker's healthcheck defaults: every 30 s, 30 s timeout, unhealthy after 3 failures. */
const HEALTHCHECK_DEFAULTS = { intervalSeconds: 30, timeoutSeconds: 30, retries: 3 } as const;
const DEFAULT_SURGE = '25%';
const DEFAULT_UNAVAILABLE = '25%';

/** Defaults shared by every ContainerSpec; `restartPolicy` differs for run-to-completion jobs. */
export function defaultContainerSpec(spec: Conformed<ContainerSpec>, restartPolicy = 'Always'): void {
  spec.restartPolicy ||= restartPolicy;
  for (const port of spec.ports ?? []) port.protocol ||= 'TCP';
  const h = spec.healthcheck;
  if (h) {
    for (const [field, value] of Object.entries(HEALTHCHECK_DEFAULTS)) {
      const f = field as keyof typeof HEALTHCHECK_DEFAULTS;
      if (!h[f]) h[f] = value;
    }
  }
}

function defaultContainerSet(spec: Spec): void {
  spec.replicas ??= 1;
  spec.strategy ??= {};
  spec.strategy.type ||= 'RollingUpdate';
  if (spec.strategy.type === 'RollingUpdate') {
    spec.strategy.rollingUpdate ??= {};
    spec.strategy.rollingUpdate.maxSurge ||= DEFAULT_SURGE;
    spec.strategy.rollingUpdate.maxUnavailable ||= DEFAULT_UNAVAILABLE;
  }
  spec.progressDeadlineSeconds ||= 600;
  spec.revisionHistoryLimit ||= 10;
  const labels = spec.template?.metadata?.labels;
  if (isEmptySelector(spec.selector) && labels && Object.keys(labels).length > 0) {
    spec.selector = { matchLabels: { ...labels } };
  }
  spec.template ??= {};
  spec.template.spec ??= {};
  defaultContainerSpec(spec.template.spec);
}

function defaultCronJob(spec: Spec): void {
  spec.timeZone ||= 'UTC';
  spec.concurrencyPolicy ||= 'Allow';
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  spec.backoffLimit ??= 6;
  spec.jobTemplate ??= {};
  spec.jobTemplate.spec ??= {};
  defaultContainerSpec(spec.jobTemplate.spec, 'Never');
}

function defaultSwarmService(spec: Spec): void {
  spec.mode ||= 'replicated';
  if (spec.mode === 'replicated') spec.replicas ??= 1;
  for (const port of spec.ports ?? []) {
    port.protocol ||= 'tcp';
    port.publishMode ||= 'ingress';
  }
}

function defaultSecret(obj: Resource): void {
  obj['type'] ||= 'Opaque';
  const stringData = obj['stringData'] as Record<string, string> | undefined;
  if (!stringData) return;
  const data = ((obj['data'] as Record<string, string> | undefined) ?? {});
  for (const [key, value] of Object.entries(stringData)) {
    // Malformed keys stay in stringData for validation to report under their own path.
    if (configKeyError(key)) continue;
    Object.defineProperty(data, key, {
      value: Buffer.from(value, 'utf8').toString('base64'),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    delete stringData[key];
  }
  obj['data'] = data;
  if (Object.keys(stringData).length === 0) delete obj['stringData'];
}

function defaultEvent(obj: Resource): void {
  obj['type'] ||= 'Normal';
  obj['count'] ||= 1;
}

/** Fills in metadata defaults; for the status subresource that is all that is defaulted. */
export function defaultMetadata(obj: Resource, info: KindInfo): void {
  obj.metadata ??= {};
  if (info.namespaced) obj.metadata.namespace ||= 'default';
}

const withSpec = (obj: Resource): Spec => (obj.spec ??= {});

export function applyDefaults(obj: Resource, info: KindInfo): void {
  defaultMetadata(obj, info);
  switch (info.kind) {
    case 'Container':
      defaultContainerSpec(withSpec(obj));
      break;
    case 'ContainerSet':
      defaultContainerSet(withSpec(obj));
      break;
    case 'CronJob':
      defaultCronJob(withSpec(obj));
      break;
    case 'SwarmService':
      defaultSwarmService(withSpec(obj));
      break;
    case 'Secret':
      defaultSecret(obj);
      break;
    case 'Event':
      defaultEvent(obj);
      break;
    case 'Service':
      defaultService(obj);
      break;
  }
}
