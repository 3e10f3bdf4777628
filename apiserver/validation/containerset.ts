// Semantic validation of a ContainerSet: replicas, selector against template labels, the
// rolling-update budget (maxSurge/maxUnavailable) and autoscaling bounds.
import type { Resource } from '../../lib/api/resource.js';
import type { ControllerRevisionObject } from '../../lib/api/typed.js';
import type { ContainerSetSpec } from '../../lib/gen/persys/v1/workloads.js';
import { validateContainerSpec } from './container-spec.js';
import type { FieldErrors } from './errors.js';
import { isEmptySelector, selectorMatches, validateLabelSelector } from './label-selector.js';
import { validateTemplateMeta } from './metadata.js';
import { checkNonNegative, checkOneOf, checkRange } from './rules.js';
import type { Conformed } from './schema.js';

const INT_OR_PERCENT = /^(\d+)(%?)$/;

/** Validates an IntOrString budget and tells whether it is zero; undefined when absent or invalid. */
function budgetIsZero(errs: FieldErrors, path: string, v: string | undefined, maxPercent?: number): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  const m = INT_OR_PERCENT.exec(v);
  if (!m) {
    errs.add(path, `must be a non-negative integer or a percentage such as "25%", got ${JSON.stringify(v)}`);
    return undefined;
  }
  if (m[2] && maxPercent !== undefined && Number(m[1]) > maxPercent) {
    errs.add(path, `must not be greater than ${maxPercent}%, got ${JSON.stringify(v)}`);
  }
  return Number(m[1]) === 0;
}

export function validateContainerSet(obj: Resource, errs: FieldErrors): void {
  const spec: Conformed<ContainerSetSpec> = obj.spec ?? {};
  checkNonNegative(errs, 'spec.replicas', spec.replicas);
  checkNonNegative(errs, 'spec.minReadySeconds', spec.minReadySeconds);
  checkNonNegative(errs, 'spec.progressDeadlineSeconds', spec.progressDeadlineSeconds);
  checkNonNegative(errs, 'spec.revisionHistoryLimit', spec.revisionHistoryLimit);

  const labels = spec.template?.metadata?.labels ?? {};
  if (Object.keys(labels).length === 0) errs.add('spec.template.metadata.labels', 'required');
  validateTemplateMeta(spec.template?.metadata, 'spec.template.metadata', errs);
  if (isEmptySelector(spec.selector)) {
    // Only reachable when the template has no labels to default from; that is reported above.
    if (Object.keys(labels).length > 0) errs.add('spec.selector', 'must not be empty');
  } else {
    validateLabelSelector(spec.selector, 'spec.selector', errs);
    if (Object.keys(labels).length > 0 && !selectorMatches(spec.selector!, labels)) {
      errs.add('spec.selector', 'does not match spec.template.metadata.labels');
    }
  }

  validateContainerSpec(spec.template?.spec, 'spec.template.spec', errs);
  const restart = spec.template?.spec?.restartPolicy;
  if (restart && restart !== 'Always') {
    errs.add('spec.template.spec.restartPolicy', `must be Always for a ContainerSet, got ${JSON.stringify(restart)}`);
  }

  const strategy = spec.strategy ?? {};
  checkOneOf(errs, 'spec.strategy.type', strategy.type, ['RollingUpdate', 'Recreate']);
  if (strategy.type === 'Recreate' && strategy.rollingUpdate) {
    errs.add('spec.strategy.rollingUpdate', 'may not be specified when strategy type is Recreate');
  }
  const ru = strategy.rollingUpdate;
  const surgeZero = budgetIsZero(errs, 'spec.strategy.rollingUpdate.maxSurge', ru?.maxSurge);
  const unavailableZero = budgetIsZero(errs, 'spec.strategy.rollingUpdate.maxUnavailable', ru?.maxUnavailable, 100);
  if (surgeZero && unavailableZero) {
    errs.add('spec.strategy.rollingUpdate.maxUnavailable', 'may not be 0 when maxSurge is 0');
  }

  const a = spec.autoscale;
  if (!a) return;
  if ((a.minReplicas ?? 0) < 1) errs.add('spec.autoscale.minReplicas', 'must be at least 1');
  if (!a.maxReplicas) errs.add('spec.autoscale.maxReplicas', 'required');
  else if (a.maxReplicas < (a.minReplicas ?? 0)) {
    errs.add('spec.autoscale.maxReplicas', `must be greater than or equal to minReplicas (${a.minReplicas})`);
  }
  if (a.targetCpuUtilizationPercent) checkRange(errs, 'spec.autoscale.targetCpuUtilizationPercent', a.targetCpuUtilizationPercent, 1, 100);
  if (a.targetMemoryUtilizationPercent) {
    checkRange(errs, 'spec.autoscale.targetMemoryUtilizationPercent', a.targetMemoryUtilizationPercent, 1, 100);
  }
  checkNonNegative(errs, 'spec.autoscale.targetNetworkBytesPerSecond', a.targetNetworkBytesPerSecond);
  checkNonNegative(errs, 'spec.autoscale.targetResponseTimeMs', a.targetResponseTimeMs);
  checkNonNegative(errs, 'spec.autoscale.scaleUpStabilizationSeconds', a.scaleUpStabilizationSeconds);
  checkNonNegative(errs, 'spec.autoscale.scaleDownStabilizationSeconds', a.scaleDownStabilizationSeconds);
  const hasTarget =
    a.targetCpuUtilizationPercent || a.targetMemoryUtilizationPercent || Number(a.targetNetworkBytesPerSecond ?? 0) || a.targetResponseTimeMs;
  if (!hasTarget) errs.add('spec.autoscale', 'at least one target (cpu, memory, network or response time) is required');
}

/** A ControllerRevision holds a template a ContainerSet could run again: the same checks apply. */
export function validateControllerRevision(obj: ControllerRevisionObject, errs: FieldErrors): void {
  const revision = Number(obj.revision ?? 0);
  if (!Number.isInteger(revision) || revision < 1) errs.add('revision', 'must be at least 1');
  const template = obj.template ?? {};
  validateTemplateMeta(template.metadata, 'template.metadata', errs);
  validateContainerSpec(template.spec, 'template.spec', errs);
}
