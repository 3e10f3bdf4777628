// The watch cache's ring of recent events: the revisions a watcher can resume from without a
// re-list, and the events to replay when it does.
import { compareRevisions } from './revision.js';

interface Gap {
  after: string;
  upTo: string;
}

export class EventHistory<E extends { revision: string }> {
  private readonly slots: (E | undefined)[];
  private first = 0;
  private count = 0;
  private start: string;
  // A re-list jumps from `after` to `upTo` without the individual events in between, so a client
  // positioned strictly inside that range cannot be brought up to date by replay.
  private gaps: Gap[] = [];

  /** Every event after `startRevision` (exclusive) will be pushed here. */
  constructor(readonly capacity: number, startRevision: string) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`history size must be ≥ 1, got ${capacity}`);
    this.slots = new Array(capacity);
    this.start = startRevision;
  }

  /** The oldest revision a watch can resume from. */
  get startRevision(): string {
    return this.start;
  }

  get size(): number {
    return this.count;
  }

  /** Events must arrive in non-decreasing revision order. */
  push(event: E): void {
    if (this.count === this.capacity) {
      const evicted = this.slots[this.first]!;
      this.slots[this.first] = undefined;
      this.first = (this.first + 1) % this.capacity;
      this.count--;
      // Others with the evicted revision may remain, but a client at that revision has them all.
      if (compareRevisions(evicted.revision, this.start) > 0) this.start = evicted.revision;
      this.gaps = this.gaps.filter((g) => compareRevisions(g.upTo, this.start) > 0);
    }
    this.slots[(this.first + this.count) % this.capacity] = event;
    this.count++;
  }

  markGap(after: string, upTo: string): void {
    if (compareRevisions(upTo, after) > 0) this.gaps.push({ after, upTo });
  }

  isResumable(revision: string): boolean {
    if (compareRevisions(revision, this.start) < 0) return false;
    return !this.gaps.some((g) => compareRevisions(revision, g.after) > 0 && compareRevisions(revision, g.upTo) < 0);
  }

  /** Events after `revision` (exclusive), oldest first; undefined when it is not resumable. */
  since(revision: string): E[] | undefined {
    if (!this.isResumable(revision)) return undefined;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareRevisions(this.at(mid).revision, revision) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const out: E[] = [];
    for (let i = lo; i < this.count; i++) out.push(this.at(i));
    return out;
  }

  private at(i: number): E {
    return this.slots[(this.first + i) % this.capacity]!;
  }
}
