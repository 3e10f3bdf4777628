// Objects every cluster has from its first start, like kube-apiserver's system namespaces: "default"
// for objects without a namespace, "persys-system" (join tokens, controller leases) and
// "persys-node-lease" (one heartbeat Lease per node).
import type { ResourceStore } from './store.js';
import { ApiStatusError } from '../api/status.js';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { API_VERSION } from '../../lib/api/kinds.js';
import { AUTOUPDATE_ANNOTATION, builtinRbacObjects } from '../../lib/rbac/builtin.js';
import { isDeepStrictEqual } from 'node:util';

export const SYSTEM_NAMESPACE = 'persys-system';
export const NODE_LEASE_NAMESPACE = 'persys-node-lease';
export const BOOTSTRAP_NAMESPACES = ['default', SYSTEM_NAMESPACE, NODE_LEASE_NAMESPACE] as const;

export async function ensureBootstrapNamespaces(store: ResourceStore): Promise<void> {
  for (const name of BOOTSTRAP_NAMESPACES) {
    try {
      await store.create({ apiVersion: API_VERSION, kind: 'Namespace', metadata: { name } }, { identity: 'system:apiserver' });
    } catch (err) {
      if (!(err instanceof ApiStatusError && err.code === Code.ALREADY_EXISTS)) throw err;
    }
  }
}

/**
 * The built-in ClusterRoles and ClusterRoleBindings (cluster-admin, admin, edit, view): created when
 * missing and brought back to their definition at every start, unless annotated
 * persys.dev/autoupdate: "false" (Kubernetes' rbac.authorization.kubernetes.io/autoupdate).
 */
export async function ensureBootstrapRbac(store: ResourceStore, log: Logger): Promise<void> {
  for (const want of builtinRbacObjects()) {
    const { kind, metadata } = want;
    try {
      await store.create(want, { identity: 'system:apiserver' });
      continue;
    } catch (err) {
      if (!(err instanceof ApiStatusError && err.code === Code.ALREADY_EXISTS)) throw err;
    }
    const cur = await store.get(kind, '', metadata.name!);
    if (cur.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === 'false') continue;
    const fields = kind === 'ClusterRole' ? ['rules'] : ['subjects', 'roleRef'];
    if (fields.every((f) => isDeepStrictEqual(cur[f], want[f]))) continue;
    try {
      await store.update({ ...cur, ...Object.fromEntries(fields.map((f) => [f, want[f]])) }, { identity: 'system:apiserver' });
      log.info({ kind, name: metadata.name }, 'built-in RBAC object brought back to its definition');
    } catch (err) {
      // Another API server starting at the same time did it.
      if (!(err instanceof ApiStatusError && err.code === Code.ABORTED)) throw err;
    }
  }
}

/** @deprecated the name from before the system namespaces; creates them all. */
export const ensureDefaultNamespace = ensureBootstrapNamespaces;
