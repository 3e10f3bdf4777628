// The record of the persys swarm (cluster id and join tokens) in the Secret
// persys-system/swarm-join-tokens, and the scrubbing of tokens out of anything logged or shown.
import type { Resource } from '../../../lib/api/resource.js';
import type { ApiClient } from '../../../lib/client/client.js';
import type { SwarmRecord } from './membership.js';
import { isAlreadyExists, isNotFound } from '../../../lib/client/errors.js';
import { API_VERSION } from '../../../lib/api/kinds.js';

export const JOIN_TOKENS_NAMESPACE = 'persys-system';
export const JOIN_TOKENS_SECRET = 'swarm-join-tokens';
export const JOIN_TOKENS_TYPE = 'persys.dev/swarm-join-tokens';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

export function secretData(r: SwarmRecord): Record<string, string> {
  return { clusterId: b64(r.clusterId), worker: b64(r.workerToken), manager: b64(r.managerToken) };
}

/** The record a Secret holds, or undefined when it names no cluster. */
export function recordOfSecret(secret: Record<string, unknown> | undefined): SwarmRecord | undefined {
  const data = (secret?.['data'] ?? {}) as Record<string, string>;
  const clusterId = unb64(data.clusterId);
  if (!clusterId) return undefined;
  return { clusterId, workerToken: unb64(data.worker), managerToken: unb64(data.manager) };
}

export { redactTokens } from '../../../lib/swarm/redact.js';

export type JoinTokenClient = Pick<ApiClient, 'get' | 'create' | 'update' | 'delete'>;

/** Reads and writes the record; remembers the Secret it last saw so an update is a compare-and-swap on it. */
export class JoinTokenStore {
  private secret?: Resource;

  constructor(private readonly client: JoinTokenClient) {}

  async read(): Promise<SwarmRecord | undefined> {
    try {
      this.secret = await this.client.get('Secret', JOIN_TOKENS_SECRET, JOIN_TOKENS_NAMESPACE);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.secret = undefined;
    }
    return recordOfSecret(this.secret);
  }

  async write(record: SwarmRecord): Promise<void> {
    const data = secretData(record);
    if (this.secret) {
      this.secret = await this.client.update({ ...this.secret, type: JOIN_TOKENS_TYPE, data, stringData: {} });
      return;
    }
    await this.ensureNamespace();
    this.secret = await this.client.create({
      apiVersion: API_VERSION,
      kind: 'Secret',
      metadata: { name: JOIN_TOKENS_SECRET, namespace: JOIN_TOKENS_NAMESPACE },
      type: JOIN_TOKENS_TYPE,
      data,
    });
  }

  async forget(): Promise<void> {
    if (!this.secret) return;
    try {
      await this.client.delete('Secret', JOIN_TOKENS_SECRET, JOIN_TOKENS_NAMESPACE, { uid: this.secret.metadata.uid });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.secret = undefined;
  }

  private async ensureNamespace(): Promise<void> {
    try {
      await this.client.create({ apiVersion: API_VERSION, kind: 'Namespace', metadata: { name: JOIN_TOKENS_NAMESPACE } });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}
