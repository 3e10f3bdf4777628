// The com.docker.compose.config-hash of a service: a container whose label differs is recreated, so
// the hash leaves out what must not recreate one (replicas: scaling; dependsOn: start order only;
// pullPolicy: as Compose; file contents: the agent rewrites mounted files in place).
import { createHash } from 'node:crypto';
import type { ComposeFileMount, ComposeFileSource, ComposeService } from './model.js';

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

/** A file mount as it counts for the hash: where, how and from which object, never the content. */
function mountIdentity(m: ComposeFileMount): unknown {
  const { content: _content, ...source } = m.source as ComposeFileSource & { content?: string };
  return { ...m, source };
}

/** SHA-256 hex over the normalized service without replicas, dependsOn, pullPolicy, file contents and configHash. */
export function configHash(service: Omit<ComposeService, 'configHash'> | ComposeService): string {
  const { replicas: _replicas, dependsOn: _dependsOn, pullPolicy: _pull, configHash: _hash, fileMounts, ...config } = service as ComposeService;
  // Absent (older callers) and empty hash alike, so adding the field recreated nothing.
  const files = fileMounts?.length ? { fileMounts: fileMounts.map(mountIdentity) } : {};
  return createHash('sha256').update(stableJson({ ...config, ...files })).digest('hex');
}
