// Creates and deletes a ContainerSet has issued but its informer has not yet seen (client-go's
// ControllerExpectations): until they show up, a reconcile must not act on the stale cache and double them.
import type { Clock } from '../../lib/queue/clock.js';

interface Pending {
  adds: number;
  deletes: Set<string>;
  since: number;
}

export class Expectations {
  private readonly pending = new Map<string, Pending>();
  constructor(
    private readonly clock: Clock,
    /**
     * After this long an unmet expectation is dropped, so a lost watch event cannot stall a set. client-go's
     * 5 minutes: the clock starts before the creates, and with 60 s a loaded scale test saw sets created
     * again while their informer lagged behind (4,488 Containers for 3,000 desired, deleted back later).
     */
    private readonly ttlMs = 300_000,
  ) {}

  expect(key: string, adds: number, deletes: string[]): void {
    this.pending.set(key, { adds, deletes: new Set(deletes), since: this.clock.now() });
  }

  /** Whether the cache has caught up with every write the last reconcile of `key` made. */
  satisfied(key: string): boolean {
    const p = this.pending.get(key);
    if (!p) return true;
    if ((p.adds <= 0 && p.deletes.size === 0) || this.clock.now() - p.since > this.ttlMs) {
      this.pending.delete(key);
      return true;
    }
    return false;
  }

  observedAdd(key: string): void {
    const p = this.pending.get(key);
    if (p) p.adds--;
  }

  /** A create that failed will never be observed. */
  lowerAdds(key: string, n: number): void {
    const p = this.pending.get(key);
    if (p) p.adds -= n;
  }

  observedDelete(key: string, name: string): void {
    this.pending.get(key)?.deletes.delete(name);
  }

  forget(key: string): void {
    this.pending.delete(key);
  }
}
