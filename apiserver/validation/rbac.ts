// Semantic validation of the access-control kinds: rules that name known verbs and resources, and
// bindings whose subjects and role reference are complete.
import type { Resource } from '../../lib/api/resource.js';
import type { PolicyRule } from '../../lib/rbac/rules.js';
import { ruleProblems } from '../../lib/rbac/rules.js';
import type { FieldErrors } from './errors.js';
import { fieldPath, itemPath } from './field-path.js';
import { checkOneOf } from './rules.js';

export function validateRole(obj: Resource, errs: FieldErrors): void {
  ((obj['rules'] ?? []) as PolicyRule[]).forEach((rule, i) => {
    for (const [field, message] of ruleProblems(rule)) errs.add(fieldPath(itemPath('rules', i), field), message);
  });
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
  apiGroup?: string;
}

export function validateRoleBinding(obj: Resource, errs: FieldErrors, old?: Resource): void {
  const clusterScoped = obj.kind === 'ClusterRoleBinding';
  ((obj['subjects'] ?? []) as Subject[]).forEach((s, i) => {
    const p = itemPath('subjects', i);
    if (!s.kind) errs.add(fieldPath(p, 'kind'), 'required: User, Group or ServiceAccount');
    else checkOneOf(errs, fieldPath(p, 'kind'), s.kind, ['User', 'Group', 'ServiceAccount']);
    if (!s.name) errs.add(fieldPath(p, 'name'), 'required');
    if (s.kind === 'ServiceAccount' && clusterScoped && !s.namespace) errs.add(fieldPath(p, 'namespace'), 'required for a ServiceAccount in a ClusterRoleBinding');
    if (s.kind !== 'ServiceAccount' && s.namespace) errs.add(fieldPath(p, 'namespace'), `only a ServiceAccount subject has a namespace, not a ${s.kind}`);
  });
  const ref = (obj['roleRef'] ?? {}) as { kind?: string; name?: string; apiGroup?: string };
  if (!ref.kind) errs.add('roleRef.kind', clusterScoped ? 'required: ClusterRole' : 'required: Role or ClusterRole');
  else checkOneOf(errs, 'roleRef.kind', ref.kind, clusterScoped ? ['ClusterRole'] : ['Role', 'ClusterRole']);
  if (!ref.name) errs.add('roleRef.name', 'required');
  if (ref.apiGroup && !['rbac.authorization.k8s.io', 'persys.dev', ''].includes(ref.apiGroup)) errs.add('roleRef.apiGroup', `unsupported API group ${JSON.stringify(ref.apiGroup)}`);
  // As in Kubernetes: what a binding grants is fixed; to change it, delete and create the binding.
  const oldRef = old?.['roleRef'] as { kind?: string; name?: string } | undefined;
  if (oldRef && (oldRef.kind !== ref.kind || oldRef.name !== ref.name)) {
    errs.add('roleRef', `field is immutable: delete the ${obj.kind} and create it again to grant ${ref.kind} "${ref.name}"`);
  }
}

export function validateServiceAccount(): void {}
