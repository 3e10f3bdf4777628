// Semantic validation of the cluster kinds with small specs: Namespace, Node, Event and Lease.
import type { Resource } from '../../lib/api/resource.js';
import type { FieldErrors } from './errors.js';
import { itemPath } from './field-path.js';
import { qualifiedNameError } from './names.js';
import { checkName, checkNonNegative, checkOneOf } from './rules.js';

export function validateNamespace(obj: Resource, errs: FieldErrors): void {
  ((obj.spec?.finalizers ?? []) as string[]).forEach((f, i) => {
    const p = itemPath('spec.finalizers', i);
    if (!f) errs.add(p, 'must not be empty');
    checkName(errs, p, f, qualifiedNameError);
  });
}

export function validateNode(obj: Resource, errs: FieldErrors): void {
  checkOneOf(errs, 'spec.swarm.role', obj.spec?.swarm?.role, ['manager', 'worker', 'none']);
}

export function validateEvent(obj: Resource, errs: FieldErrors): void {
  const involved = (obj['involvedObject'] ?? {}) as { kind?: string; name?: string };
  if (!involved.kind) errs.add('involvedObject.kind', 'required');
  if (!involved.name) errs.add('involvedObject.name', 'required');
  checkOneOf(errs, 'type', obj['type'] as string | undefined, ['Normal', 'Warning']);
  checkNonNegative(errs, 'count', obj['count'] as number | undefined);
}

export function validateLease(obj: Resource, errs: FieldErrors): void {
  checkNonNegative(errs, 'spec.leaseDurationSeconds', obj.spec?.leaseDurationSeconds);
  checkNonNegative(errs, 'spec.leaseTransitions', obj.spec?.leaseTransitions);
}
