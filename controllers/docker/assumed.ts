// Bindings this scheduler made that its informer has not shown yet (kube-scheduler's assume cache):
// counted as placed, so two quick decisions never hand out the same port or the same memory twice.
import type { ContainerObject } from '../../lib/api/typed.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { objectKey } from '../runtime/keys.js';

interface Assumption {
  container: ContainerObject;
  at: number;
}

export class AssumedBindings {
  private readonly entries = new Map<string, Assumption>();

  /**
   * @param ttlMs how long an assumption lasts without the informer confirming it: a safety net for a
   * missed event, far longer than any normal watch delay.
   */
  constructor(
    private readonly ttlMs = 60_000,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Counts `container` (whose spec.nodeName is set) as placed until the cache shows it so. */
  assume(container: ContainerObject): void {
    this.entries.set(objectKey(container), { container, at: this.clock.now() });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Whether key was bound by this scheduler and the binding is still awaited. */
  has(key: string): boolean {
    const a = this.entries.get(key);
    if (a && this.expired(a)) this.entries.delete(key);
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The still-awaited bindings by node. `cached` looks a key up in the informer: an assumption ends
   * once the cache shows the container bound (to whichever node), gone, or recreated under a new uid.
   */
  byNode(cached: (key: string) => ContainerObject | undefined): Map<string, ContainerObject[]> {
    const out = new Map<string, ContainerObject[]>();
    for (const [key, a] of this.entries) {
      const seen = cached(key);
      if (!seen || seen.spec?.nodeName || seen.metadata.uid !== a.container.metadata.uid || this.expired(a)) {
        this.entries.delete(key);
        continue;
      }
      const node = a.container.spec?.nodeName ?? '';
      if (!node) continue;
      let list = out.get(node);
      if (!list) out.set(node, (list = []));
      list.push(a.container);
    }
    return out;
  }

  private expired(a: Assumption): boolean {
    return this.clock.now() - a.at > this.ttlMs;
  }
}
