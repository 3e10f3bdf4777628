// Objects every cluster has from its first start, like kube-apiserver's system namespaces: "default"
// for objects without a namespace, "persys-system" (join tokens, controller leases) and
// "persys-node-lease" (one heartbeat Lease per node).
import type { ResourceStore } from './store.js';
import { ApiStatusError } from '../api/status.js';
import { status as Code } from '@grpc/grpc-js';
import { API_VERSION } from '../../lib/api/kinds.js';

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

/** @deprecated the name from before the system namespaces; creates them all. */
export const ensureDefaultNamespace = ensureBootstrapNamespaces;
