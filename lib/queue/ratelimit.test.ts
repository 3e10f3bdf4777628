// The retry delays controllers get: client-go's per-item exponential limiter, token bucket and their max.
import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import { BucketRateLimiter, defaultControllerRateLimiter, ItemExponentialRateLimiter } from './ratelimit.js';

describe('rate limiters', () => {
  it('doubles the per-item delay from 5 ms and caps it at 1000 s', () => {
    const l = new ItemExponentialRateLimiter();
    const delays = Array.from({ length: 30 }, () => l.when('a'));
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    expect(delays.at(-1)).toBe(1_000_000);
    expect(l.when('other')).toBe(5);
  });

  it('gives 100 retries at once, then one every 100 ms, refilling with time', () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter(10, 100, clock);
    const burst = Array.from({ length: 100 }, (_, i) => l.when(`k${i}`));
    expect(burst.every((d) => d === 0)).toBe(true);
    expect(l.when('x')).toBeCloseTo(100);
    expect(l.when('y')).toBeCloseTo(200);
    clock.advance(1_000);
    // 10 tokens came back; 2 were already promised.
    const after = Array.from({ length: 9 }, (_, i) => l.when(`z${i}`));
    expect(after.slice(0, 8).every((d) => d === 0)).toBe(true);
    expect(after[8]).toBeCloseTo(100);
  });

  it('uses the larger of the per-item and overall delays by default', () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter(clock);
    for (let i = 0; i < 100; i++) l.when(`burst${i}`);
    // The bucket asks 100 ms, the item 5 ms.
    expect(l.when('a')).toBeCloseTo(100);
    clock.advance(100_000);
    for (let i = 0; i < 12; i++) l.when('b');
    expect(l.numRequeues('b')).toBe(12);
    expect(l.when('b')).toBe(5 * 2 ** 12);
    l.forget('b');
    expect(l.numRequeues('b')).toBe(0);
  });
});
