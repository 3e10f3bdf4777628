// ImagePuller's own logic on a fake engine: one pull per reference and credentials however many
// wait, kubelet's credential order, deadlines, shared throttled progress, and waiters that leave.
import { describe, expect, it, vi } from 'vitest';
import type { RegistryAuth } from '../../lib/registry/credentials.js';
import { ImageNeverPullError, ImagePullError } from '../docker/errors.js';
import type { ImageInfo, PullImageOptions } from '../docker/runtime.js';
import type { PullMessage } from './progress.js';
import { ImagePuller, type ImageRuntime } from './puller.js';

interface FakePull {
  ref: string;
  opts: PullImageOptions;
  resolve(): void;
  reject(e: unknown): void;
  progress(msg: PullMessage): void;
}

/** An engine whose pulls the test finishes by hand; images appear once a pull succeeds. */
function fakeEngine(present: string[] = []) {
  const images = new Set(present);
  const pulls: FakePull[] = [];
  const runtime: ImageRuntime = {
    pullImage: (ref, opts = {}) =>
      new Promise<void>((resolve, reject) => {
        opts.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true });
        pulls.push({
          ref,
          opts,
          resolve: () => {
            images.add(ref);
            resolve();
          },
          reject,
          progress: (msg) => opts.onProgress?.(msg),
        });
      }),
    imageInfo: async (ref): Promise<ImageInfo | undefined> => (images.has(ref) ? { id: `sha256:${ref.length}`, repoDigests: [] } : undefined),
  };
  return { runtime, pulls, images };
}

const alice: RegistryAuth = { serveraddress: 'reg', username: 'alice', password: 'right' };
const wrong: RegistryAuth = { serveraddress: 'reg', username: 'alice', password: 'wrong' };
const settle = () => new Promise((r) => setImmediate(r));

describe('ImagePuller', () => {
  it('shares one pull among 20 concurrent requests for one reference and credentials', async () => {
    const { runtime, pulls } = fakeEngine();
    const puller = new ImagePuller({ runtime });
    const waits = Array.from({ length: 20 }, () => puller.pull('reg/app', { credentials: [alice] }));
    await settle();
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.ref).toBe('reg/app:latest');
    expect(puller.inFlight()).toBe(1);
    pulls[0]!.resolve();
    const infos = await Promise.all(waits);
    expect(new Set(infos.map((i) => i.id)).size).toBe(1);
    expect(puller.inFlight()).toBe(0);
    // A later request pulls again (Always means a fresh look at the registry).
    void puller.pull('reg/app:latest', { credentials: [alice] });
    await settle();
    expect(pulls).toHaveLength(2);
  });

  it('does not share a pull between different credentials', async () => {
    const { runtime, pulls } = fakeEngine();
    const puller = new ImagePuller({ runtime });
    void puller.pull('reg/app:1', { credentials: [alice] });
    void puller.pull('reg/app:1');
    await settle();
    expect(pulls.map((p) => p.opts.auth)).toEqual([alice, undefined]);
  });

  it('tries each credential in order, never anonymously when there are some, and throws the last error', async () => {
    const { runtime, pulls } = fakeEngine();
    const puller = new ImagePuller({ runtime });
    const result = puller.pull('reg/app:1', { credentials: [wrong, alice] }).catch((e: unknown) => e);
    await settle();
    pulls[0]!.reject(new ImagePullError('reg/app:1', 'unauthorized: authentication required'));
    await settle();
    expect(pulls[1]!.opts.auth).toBe(alice);
    pulls[1]!.reject(new ImagePullError('reg/app:1', 'manifest unknown'));
    const err = await result;
    expect(err).toBeInstanceOf(ImagePullError);
    expect((err as ImagePullError).registryMessage).toBe('manifest unknown');
    expect(pulls).toHaveLength(2);
  });

  it('stops at the first credential that works', async () => {
    const { runtime, pulls } = fakeEngine();
    const puller = new ImagePuller({ runtime });
    const result = puller.pull('reg/app:1', { credentials: [alice, wrong] });
    await settle();
    pulls[0]!.resolve();
    await result;
    expect(pulls).toHaveLength(1);
  });

  it('aborts a pull without progress for progressDeadlineMs, with an ImagePullError saying so', async () => {
    vi.useFakeTimers();
    try {
      const { runtime, pulls } = fakeEngine();
      const puller = new ImagePuller({ runtime, progressDeadlineMs: 1_000, timeoutMs: 60_000 });
      const result = puller.pull('reg/app:1').catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(900);
      pulls[0]!.progress({ status: 'Downloading', id: 'l', progressDetail: { current: 1, total: 10 } });
      await vi.advanceTimersByTimeAsync(900);
      expect(pulls[0]!.opts.signal!.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(200);
      const err = await result;
      expect(err).toBeInstanceOf(ImagePullError);
      expect((err as Error).message).toMatch(/no progress for 1 s/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('aborts a pull that goes on past timeoutMs even while it progresses', async () => {
    vi.useFakeTimers();
    try {
      const { runtime, pulls } = fakeEngine();
      const puller = new ImagePuller({ runtime, progressDeadlineMs: 1_000, timeoutMs: 3_000 });
      const result = puller.pull('reg/app:1').catch((e: unknown) => e);
      for (let i = 1; i <= 4; i++) {
        await vi.advanceTimersByTimeAsync(800);
        pulls[0]!.progress({ status: 'Downloading', id: 'l', progressDetail: { current: i, total: 10 } });
      }
      const err = await result;
      expect(err).toBeInstanceOf(ImagePullError);
      expect((err as Error).message).toMatch(/did not finish within 3 s/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('delivers aggregated progress to every waiter, at most once per interval, the latest after a pause', async () => {
    vi.useFakeTimers();
    try {
      const { runtime, pulls } = fakeEngine();
      const puller = new ImagePuller({ runtime, progressIntervalMs: 1_000 });
      const a: number[] = [];
      const b: number[] = [];
      void puller.pull('reg/app:1', { onProgress: (p) => a.push(p.downloadedBytes) });
      void puller.pull('reg/app:1', { onProgress: (p) => b.push(p.downloadedBytes) });
      const step = (current: number) => pulls[0]!.progress({ status: 'Downloading', id: 'l', progressDetail: { current, total: 100 } });
      step(10); // delivered at once
      step(20);
      step(30); // throttled, then delivered when the interval ends
      expect(a).toEqual([10]);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(a).toEqual([10, 30]);
      expect(b).toEqual(a);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets one waiter leave while the pull goes on for the others, and stops it when the last leaves', async () => {
    const { runtime, pulls } = fakeEngine();
    const puller = new ImagePuller({ runtime });
    const first = new AbortController();
    const second = new AbortController();
    const r1 = puller.pull('reg/app:1', { signal: first.signal }).catch((e: unknown) => e);
    const r2 = puller.pull('reg/app:1', { signal: second.signal }).catch((e: unknown) => e);
    await settle();
    first.abort();
    expect(((await r1) as Error).name).toBe('AbortError');
    expect(pulls[0]!.opts.signal!.aborted).toBe(false);
    second.abort();
    expect(((await r2) as Error).name).toBe('AbortError');
    expect(pulls[0]!.opts.signal!.aborted).toBe(true);
  });

  it('ensure: IfNotPresent uses a present image without pulling, Always pulls, Never refuses a missing image', async () => {
    const { runtime, pulls } = fakeEngine(['reg/app:1']);
    const puller = new ImagePuller({ runtime });
    expect(await puller.ensure('reg/app:1', { policy: 'IfNotPresent' })).toMatchObject({ id: expect.any(String) });
    expect(pulls).toHaveLength(0);
    const always = puller.ensure('reg/app:1', { policy: 'Always' });
    await settle();
    expect(pulls).toHaveLength(1);
    pulls[0]!.resolve();
    await always;
    await expect(puller.ensure('reg/app:2', { policy: 'Never' })).rejects.toThrow(
      new ImageNeverPullError('reg/app:2').message,
    );
    expect(pulls).toHaveLength(1);
  });
});
