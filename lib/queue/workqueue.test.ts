// The work queue's contract: de-duplication, one key never handed out twice at once, delayed and
// rate-limited adds, shutdown and metrics, all on a fake clock.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import { WorkQueue } from './workqueue.js';

const tick = () => new Promise((r) => setImmediate(r));

function setup(registry?: Registry) {
  const clock = new FakeClock();
  return { clock, q: new WorkQueue({ name: 'test', clock, registry }) };
}

async function metricValue(registry: Registry, name: string, suffix = ''): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.find((v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === name + suffix)?.value;
}

describe('WorkQueue', () => {
  it('keeps one entry for a key added several times before it is processed', async () => {
    const { q } = setup();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('holds back a key re-added while it is processed and queues it exactly once after done', async () => {
    const { q } = setup();
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    q.done('a');
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('never hands one key to two waiting workers at the same time', async () => {
    const { q } = setup();
    const got: string[] = [];
    const w1 = q.get().then((k) => got.push(`w1:${k}`));
    const w2 = q.get().then((k) => got.push(`w2:${k}`));
    q.add('a');
    await w1;
    q.add('a');
    await tick();
    expect(got).toEqual(['w1:a']);
    q.done('a');
    await w2;
    expect(got).toEqual(['w1:a', 'w2:a']);
  });

  it('hands out different keys to different workers concurrently', async () => {
    const { q } = setup();
    q.add('a');
    q.add('b');
    const [k1, k2] = await Promise.all([q.get(), q.get()]);
    expect([k1, k2].sort()).toEqual(['a', 'b']);
  });

  it('adds a key only once its addAfter delay has passed', () => {
    const { q, clock } = setup();
    q.addAfter('a', 100);
    clock.advance(99);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
  });

  it('keeps the earliest of several delayed adds of one key', () => {
    const { q, clock } = setup();
    q.addAfter('late-then-early', 500);
    q.addAfter('late-then-early', 100);
    q.addAfter('early-then-late', 100);
    q.addAfter('early-then-late', 500);
    clock.advance(100);
    expect(q.len()).toBe(2);
    expect(q.pendingDelayed()).toBe(0);
  });

  it('backs off a failing key exponentially from 5 ms and starts over after forget', () => {
    const { q, clock } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = clock.now();
      q.addRateLimited('a');
      while (q.len() === 0) clock.advance(1);
      delays.push(clock.now() - start);
      void q.get();
      q.done('a');
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(q.numRequeues('a')).toBe(4);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    q.addRateLimited('a');
    clock.advance(5);
    expect(q.len()).toBe(1);
  });

  it('limits retries of many keys to the overall bucket once the burst of 100 is spent', () => {
    const { q, clock } = setup();
    for (let i = 0; i < 102; i++) q.addRateLimited(`k${i}`);
    clock.advance(5);
    expect(q.len()).toBe(100);
    clock.advance(95);
    expect(q.len()).toBe(101);
    clock.advance(100);
    expect(q.len()).toBe(102);
  });

  it('wakes waiting workers with undefined on shutDown and ignores later adds', async () => {
    const { q, clock } = setup();
    const waiting = q.get();
    q.addAfter('later', 1_000);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('a');
    q.addRateLimited('b');
    expect(q.len()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('reports depth, adds, retries and time spent queued under the queue name', async () => {
    const registry = new Registry();
    const { q, clock } = setup(registry);
    q.add('a');
    q.add('a');
    q.add('b');
    expect(await metricValue(registry, 'workqueue_depth')).toBe(2);
    expect(await metricValue(registry, 'workqueue_adds_total')).toBe(2);
    clock.advance(250);
    await q.get();
    expect(await metricValue(registry, 'workqueue_depth')).toBe(1);
    expect(await metricValue(registry, 'workqueue_queue_duration_seconds', '_sum')).toBeCloseTo(0.25);
    clock.advance(500);
    q.done('a');
    expect(await metricValue(registry, 'workqueue_work_duration_seconds', '_sum')).toBeCloseTo(0.5);
    q.addRateLimited('a');
    expect(await metricValue(registry, 'workqueue_retries_total')).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain('workqueue_depth{name="test"} 1');
  });

  it('lets two queues share one registry', () => {
    const registry = new Registry();
    new WorkQueue({ name: 'one', registry });
    expect(() => new WorkQueue({ name: 'two', registry })).not.toThrow();
  });
});
