// The agent's cache of the Docker containers it manages (its informer): what it decides from.
import type { ManagedContainer } from './runtime.js';

/**
 * The agent's informer cache of its managed containers: filled by list, kept current by the
 * inspects its workers make after their own actions and after the containers' engine events.
 * An id marked stale is inspected by the worker of its uid before that uid's next decision, so
 * every write of one uid's containers happens in that uid's worker.
 */
export class ObservedContainers {
  private readonly byId = new Map<string, { c: ManagedContainer; seq: number }>();
  private readonly stale = new Map<string, Set<string>>();
  private seq = 0;

  /** A mark: entries written after it are newer than a list that started at it. */
  mark(): number {
    return this.seq;
  }

  get(id: string): ManagedContainer | undefined {
    return this.byId.get(id)?.c;
  }

  all(): ManagedContainer[] {
    return [...this.byId.values()].map((e) => e.c);
  }

  ofUid(uid: string): ManagedContainer[] {
    return this.all().filter((c) => c.uid === uid);
  }

  writtenBefore(id: string, mark: number): boolean {
    return (this.byId.get(id)?.seq ?? Infinity) <= mark;
  }

  set(c: ManagedContainer): void {
    this.byId.set(c.id, { c, seq: ++this.seq });
  }

  delete(id: string): void {
    this.byId.delete(id);
    this.seq++;
  }

  markStale(uid: string, id: string): void {
    let ids = this.stale.get(uid);
    if (!ids) this.stale.set(uid, (ids = new Set()));
    ids.add(id);
  }

  unmarkStale(uid: string, id: string): void {
    this.stale.get(uid)?.delete(id);
  }

  /** The uid's stale ids, unmarked: a mark made while they are inspected stays for the next turn. */
  takeStale(uid: string): string[] {
    const ids = this.stale.get(uid);
    this.stale.delete(uid);
    return ids ? [...ids] : [];
  }

  uids(): Set<string> {
    return new Set([...this.all().map((c) => c.uid), ...this.stale.keys()]);
  }
}
