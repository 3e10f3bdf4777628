// Storage revisions are decimal int64 strings (etcd returns them as strings); these compare them
// without BigInt and stamp them onto objects as metadata.resourceVersion.
import type { Resource } from '../../lib/api/resource.js';

/** '' / undefined → '0'; other input must be a non-negative decimal integer. */
export function normalizeRevision(rev: string | undefined): string {
  if (rev === undefined || rev === '') return '0';
  if (!/^\d+$/.test(rev)) throw new RangeError(`invalid resource version ${JSON.stringify(rev)}`);
  return rev.replace(/^0+(?=\d)/, '');
}

/** Negative when a < b. Both must be normalized (no leading zeros), so length orders them first. */
export function compareRevisions(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A shallow copy carrying `revision` as its resourceVersion; the input is never mutated. */
export function withResourceVersion(obj: Resource, revision: string): Resource {
  if (obj.metadata?.resourceVersion === revision) return obj;
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: revision } };
}
