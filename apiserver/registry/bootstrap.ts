// Objects every cluster has from its first start, like kube-apiserver's system namespaces.
import type { ResourceStore } from './store.js';
import { ApiStatusError } from '../api/status.js';
import { status as Code } from '@grpc/grpc-js';

export async function ensureDefaultNamespace(store: ResourceStore): Promise<void> {
  try {
    await store.create(
      { apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: 'default' } },
      { identity: 'system:apiserver' },
    );
  } catch (err) {
    if (!(err instanceof ApiStatusError && err.code === Code.ALREADY_EXISTS)) throw err;
  }
}
