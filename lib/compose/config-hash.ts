// The com.docker.compose.config-hash of a service: a container whose label differs is recreated, so
// the hash leaves out what must not recreate one (replicas: scaling; dependsOn: start order only).
import { createHash } from 'node:crypto';
import type { ComposeService } from './model.js';

/** JSON with object keys sorted at every depth and undefined members left out; list order is kept. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : stableJson(v))).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 hex over the normalized service without replicas, dependsOn and configHash. */
export function configHash(service: Omit<ComposeService, 'configHash'> | ComposeService): string {
  const { replicas: _replicas, dependsOn: _dependsOn, configHash: _hash, ...config } = service as ComposeService;
  return createHash('sha256').update(stableJson(config)).digest('hex');
}
