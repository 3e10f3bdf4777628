// CacheWatcher's cut-off rule on a fake clock: a client that keeps reading survives bursts far
// beyond the old 1,000-event limit; a stuck one is cut off, and its backlog never exceeds the cap.
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SlowWatcherError } from './errors.js';
import type { CacheEvent, WatchEvent } from './event.js';
import { take } from './testing.js';
import { CacheWatcher } from './watcher.js';

const event = (rev: number): CacheEvent => ({
  type: 'ADDED',
  key: `containers/default/c${rev}`,
  object: { apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: `c${rev}`, namespace: 'default', resourceVersion: String(rev) } },
  revision: String(rev),
});

function newWatcher(opts: { bufferSize?: number; stallTimeoutMs?: number } = {}) {
  const clock = { ms: 0 };
  const ended: (Error | undefined)[] = [];
  const watcher = new CacheWatcher({
    bufferSize: opts.bufferSize ?? 100_000,
    stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
    now: () => clock.ms,
    currentRevision: () => '0',
    onEnd: (_w, err) => ended.push(err),
  });
  return { watcher, clock, ended };
}

/** Reads until `count` events arrived or the watch ended; resolves with what it got and how it ended. */
async function readAll(w: CacheWatcher, count: number): Promise<{ events: WatchEvent[]; error?: unknown }> {
  const events: WatchEvent[] = [];
  try {
    for await (const ev of w.events) if (events.push(ev) === count) break;
  } catch (error) {
    return { events, error };
  }
  return { events };
}

describe('CacheWatcher under load', () => {
  it('keeps a client that reads while a burst 20 times the old 1,000-event buffer arrives at once', async () => {
    const { watcher, ended } = newWatcher();
    const reading = readAll(watcher, 20_000);
    // One storage response can carry thousands of events, delivered synchronously: nothing is read meanwhile.
    for (let rev = 1; rev <= 20_000; rev++) watcher.deliver(event(rev));
    const { events, error } = await reading;
    expect(error).toBeUndefined();
    expect(events.map((e) => Number(e.revision))).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
    expect(ended).toEqual([undefined]); // closed by the reader's break, not by the cache
  });

  it('keeps a client that lags by thousands of events for longer than the stall timeout but keeps reading', async () => {
    const { watcher, clock, ended } = newWatcher({ stallTimeoutMs: 30_000 });
    const reading = readAll(watcher, 50_000);
    // 100 responses of 500 events, one simulated second apart: 100 s in all, more than three stall timeouts.
    for (let chunk = 0; chunk < 100; chunk++) {
      for (let i = 1; i <= 500; i++) watcher.deliver(event(chunk * 500 + i));
      clock.ms += 1_000;
      await tick();
    }
    const { events, error } = await reading;
    expect(error).toBeUndefined();
    expect(events).toHaveLength(50_000);
    expect(ended).toEqual([undefined]);
  });

  it('does not count idle time before a burst as a stall', async () => {
    const { watcher, clock } = newWatcher({ stallTimeoutMs: 30_000 });
    watcher.deliver(event(1));
    expect((await take(watcher, 1))[0]!.revision).toBe('1');
    clock.ms += 120_000; // quiet for two minutes, nothing waiting
    for (let rev = 2; rev <= 5_000; rev++) watcher.deliver(event(rev));
    expect(watcher.isEnded).toBe(false);
    expect((await take(watcher, 4_999)).at(-1)!.revision).toBe('5000');
  });

  it('cuts off a client that takes nothing for the stall timeout, after delivering what it had', async () => {
    const { watcher, clock, ended } = newWatcher({ stallTimeoutMs: 30_000 });
    for (let rev = 1; rev <= 10; rev++) watcher.deliver(event(rev));
    clock.ms += 29_999;
    watcher.deliver(event(11));
    expect(watcher.isEnded).toBe(false);
    clock.ms += 1;
    watcher.deliver(event(12));
    expect(watcher.isEnded).toBe(true);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toBeInstanceOf(SlowWatcherError);
    const { events, error } = await readAll(watcher, 100);
    expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 11 }, (_, i) => String(i + 1)));
    expect(error).toBeInstanceOf(SlowWatcherError);
    expect((error as SlowWatcherError).stalledMs).toBe(30_000);
  });

  it('bounds a stuck client\'s backlog at the cap even when no time passes', async () => {
    const { watcher, ended } = newWatcher({ bufferSize: 2_000 });
    for (let rev = 1; rev <= 10_000; rev++) watcher.deliver(event(rev));
    expect(ended[0]).toBeInstanceOf(SlowWatcherError);
    const { events, error } = await readAll(watcher, 10_000);
    expect(events).toHaveLength(2_000);
    expect(error).toBeInstanceOf(SlowWatcherError);
    expect((error as SlowWatcherError).behind).toBe(2_000);
  });

  it('never delivers part of a revision when it cuts a client off', async () => {
    const { watcher } = newWatcher({ bufferSize: 3 });
    // A transaction's events share a revision: the client resumes after the last revision it saw whole.
    for (const rev of [1, 2, 2]) watcher.deliver(event(rev));
    watcher.deliver({ ...event(2), key: 'containers/default/other' });
    const { events, error } = await readAll(watcher, 10);
    expect(events.map((e) => e.revision)).toEqual(['1']);
    expect(error).toBeInstanceOf(SlowWatcherError);
  });
});

describe('CacheWatcher.takeBuffered', () => {
  it('hands over what is buffered in order, counts as progress, and leaves the rest for next()', async () => {
    const { watcher, clock, ended } = newWatcher({ stallTimeoutMs: 30_000 });
    for (let rev = 1; rev <= 10; rev++) watcher.deliver(event(rev));
    expect((await take(watcher, 1))[0]!.revision).toBe('1');
    expect(watcher.takeBuffered(4).map((e) => e.revision)).toEqual(['2', '3', '4', '5']);
    clock.ms += 20_000;
    expect(watcher.takeBuffered(2).map((e) => e.revision)).toEqual(['6', '7']);
    clock.ms += 20_000; // 40 s since the first read, 20 s since the last take: not stuck
    watcher.deliver(event(11));
    expect(ended).toEqual([]);
    expect((await take(watcher, 4)).map((e) => e.revision)).toEqual(['8', '9', '10', '11']);
    expect(watcher.takeBuffered(100)).toEqual([]);
  });
});
