// Semantic validation of a Container: its spec is a ContainerSpec.
import type { Resource } from '../../lib/api/resource.js';
import { validateContainerSpec } from './container-spec.js';
import type { FieldErrors } from './errors.js';

export function validateContainer(obj: Resource, errs: FieldErrors): void {
  validateContainerSpec(obj.spec, 'spec', errs);
}
