// Graceful removal of a Container that backs a Service: the agent does not kill it while the Service's
// VIPs (on any node) may still send it new connections. It waits until the endpoints controller has taken
// the Container out of its EndpointSlices, then a margin for every node to rewrite its rules, then removes.
import type { Resource } from '../../lib/api/resource.js';
import type { EndpointSliceObject } from '../../lib/api/typed.js';
import type { ServiceDirectory } from '../dns/directory.js';

export interface EndpointDrainOptions {
  directory: ServiceDirectory;
  node: string;
  /** After the Container left the slices: time for the other nodes to rewrite their rules. @default 1_000 */
  marginMs?: number;
  /** The longest a removal waits for the slices to drop the Container. @default 5_000 */
  maxWaitMs?: number;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

export class EndpointDrain {
  /** Per EndpointSlice (namespace/name): the Containers on this node it lists as ready. */
  private readonly readyHere = new Map<string, Set<string>>();
  /** Containers (namespace/name) of this node some slice lists as ready, with how many slices do. */
  private readonly routed = new Map<string, number>();
  /** When a Container stopped being listed anywhere (ms, monotonic clock). */
  private readonly unlistedAt = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly marginMs: number;
  private readonly maxWaitMs: number;

  constructor(private readonly opts: EndpointDrainOptions) {
    this.marginMs = opts.marginMs ?? 1_000;
    this.maxWaitMs = opts.maxWaitMs ?? 5_000;
    opts.directory.onChange((obj) => this.changed(obj));
  }

  /**
   * Resolves when the Container `namespace/name` of this node may be removed without a VIP sending it a new
   * connection: at once when no slice lists it (and none did within the margin), else once none does plus
   * the margin, or after maxWaitMs whatever the slices say.
   */
  async drained(namespace: string, name: string): Promise<void> {
    const k = key(namespace, name);
    const deadline = performance.now() + this.maxWaitMs;
    while (this.routed.has(k) && performance.now() < deadline) await this.nextChange(deadline - performance.now());
    const since = this.unlistedAt.get(k);
    const left = since === undefined ? 0 : since + this.marginMs - performance.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  }

  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(ms, 0));
      this.waiters.add(done);
    });
  }

  private changed(obj?: Resource): void {
    if (!obj) {
      const seen = new Set<string>();
      for (const slice of this.opts.directory.allEndpointSlices()) {
        this.update(slice);
        seen.add(key(slice.metadata.namespace ?? '', slice.metadata.name ?? ''));
      }
      for (const k of [...this.readyHere.keys()]) if (!seen.has(k)) this.set(k, '', new Set());
    } else if (obj.kind === 'EndpointSlice') {
      this.update(obj as EndpointSliceObject);
    } else {
      return;
    }
    for (const w of [...this.waiters]) w();
  }

  private update(slice: EndpointSliceObject): void {
    const ns = slice.metadata.namespace ?? '';
    const sliceKey = key(ns, slice.metadata.name ?? '');
    // A deleted slice reaches here as its last state; the directory no longer holds it.
    const current = this.opts.directory.endpoints(ns, slice.metadata.name ?? '');
    const names = new Set((current?.endpoints ?? []).filter((e) => e.ready && e.nodeName === this.opts.node).map((e) => e.containerName ?? ''));
    this.set(sliceKey, ns, names);
  }

  private set(sliceKey: string, ns: string, names: Set<string>): void {
    const before = this.readyHere.get(sliceKey) ?? new Set<string>();
    const namespace = ns || sliceKey.slice(0, sliceKey.indexOf('/'));
    for (const n of names) {
      if (before.has(n)) continue;
      const k = key(namespace, n);
      this.routed.set(k, (this.routed.get(k) ?? 0) + 1);
      this.unlistedAt.delete(k);
    }
    for (const n of before) {
      if (names.has(n)) continue;
      const k = key(namespace, n);
      const count = (this.routed.get(k) ?? 1) - 1;
      if (count > 0) {
        this.routed.set(k, count);
        continue;
      }
      this.routed.delete(k);
      this.unlistedAt.set(k, performance.now());
    }
    if (names.size) this.readyHere.set(sliceKey, names);
    else this.readyHere.delete(sliceKey);
    // Old entries go: a removal asks within seconds of the change or not at all.
    if (this.unlistedAt.size > 10_000) {
      const cutoff = performance.now() - this.marginMs;
      for (const [k, t] of this.unlistedAt) if (t < cutoff) this.unlistedAt.delete(k);
    }
  }
}
