// The access check every Resources and Operations call makes: request → attributes (verb, resource,
// namespace, name) → the RBAC decision, refused with PERMISSION_DENIED naming what was asked.
import { status as Code } from '@grpc/grpc-js';
import { findKind } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import type { Identity } from '../../lib/pki/index.js';
import { describeAccess, type AccessAttributes } from '../../lib/rbac/rules.js';
import { effectiveNamespace } from '../registry/keys.js';
import type { WriteOptions } from '../registry/store.js';
import { describeIdentity, type RbacAuthorizer } from './rbac.js';
import { ApiStatusError } from './status.js';

/**
 * Attributes of a request on `kind` (any spelling). List and watch with no namespace mean every
 * namespace; other verbs default to "default", as the store does. Undefined for an unknown kind (the
 * store refuses it on its own).
 */
export function accessAttributes(verb: string, kind: string, namespace: string | undefined, name?: string, subresource?: string): AccessAttributes | undefined {
  const info = findKind(kind);
  if (!info) return undefined;
  const everywhere = verb === 'list' || verb === 'watch';
  const ns = info.namespaced ? (everywhere ? namespace ?? '' : effectiveNamespace(info, namespace)) : '';
  return { verb, resource: info.plural, subresource, namespace: ns, name: name || undefined };
}

export class AccessControl {
  constructor(readonly rbac: RbacAuthorizer) {}

  /** Throws PERMISSION_DENIED unless `id` may do `a`. */
  check(id: Identity, a: AccessAttributes | undefined): void {
    if (!a) return;
    const decision = this.rbac.authorize(id, a);
    if (!decision.allowed) throw new ApiStatusError(Code.PERMISSION_DENIED, decision.reason);
  }

  /** The store's write hook for `id`: the verb on the admitted object, then escalation prevention. */
  writeHook(id: Identity): NonNullable<WriteOptions['authorize']> {
    return (verb, obj: Resource) => {
      this.check(id, accessAttributes(verb, obj.kind, obj.metadata.namespace, obj.metadata.name));
      const problem = this.rbac.escalationProblem(id, obj);
      if (problem) throw new ApiStatusError(Code.PERMISSION_DENIED, problem);
    };
  }
}

export { describeAccess, describeIdentity };
