// Helpers for tests of watch consumers: read a fixed number of events, and summarize them.
import type { WatchEvent } from './event.js';
import type { Watcher } from './watcher.js';

export async function take(w: Watcher, n: number): Promise<WatchEvent[]> {
  const it = w.events[Symbol.asyncIterator]();
  const out: WatchEvent[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) throw new Error(`watch ended after ${out.length} events`);
    out.push(r.value);
  }
  return out;
}

export const brief = (evs: WatchEvent[]) => evs.map((e) => `${e.type} ${e.object?.metadata.name ?? ''}@${e.revision}`);
