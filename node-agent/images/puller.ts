// One node's image puller: however many workloads wait for an image, one pull per reference and
// credentials, with kubelet's progress deadline and a hard cap, progress shared with every waiter.
// It knows images, policies and credentials, nothing of the objects that wait (Containers, stacks, services).
import type { Logger } from 'pino';
import { credentialsKey, type RegistryAuth } from '../../lib/registry/credentials.js';
import { withDefaultTag, type PullPolicy } from '../../lib/registry/reference.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { ImageNeverPullError, ImagePullError } from '../docker/errors.js';
import type { ContainerRuntime, ImageInfo } from '../runtime.js';
import type { AgentMetrics } from '../metrics.js';
import { foldLayerProgress, pullBytes, type LayerBytes, type PullBytes } from './progress.js';

/** The engine calls the puller makes (a ContainerRuntime's; a fake in unit tests). */
export type ImageRuntime = Pick<ContainerRuntime, 'pullImage' | 'imageInfo'>;

export type ImagePullMetrics = Pick<AgentMetrics, 'imagePulls' | 'imagePullDuration' | 'imagePullBytes'>;

export interface ImagePullerOptions {
  runtime: ImageRuntime;
  /**
   * Abort a pull when the engine reported no progress for this long (kubelet's
   * --image-pull-progress-deadline). @default 60_000
   */
  progressDeadlineMs?: number;
  /** Abort a pull that has not finished after this long, progress or not. @default 600_000 */
  timeoutMs?: number;
  /** Least time between two progress deliveries to one waiter. @default 1_000 */
  progressIntervalMs?: number;
  metrics?: ImagePullMetrics;
  logger?: Logger;
}

/** Progress of the pull a waiter shares. */
export interface ImagePullProgress extends PullBytes {
  /** The reference pulled (with the default tag made explicit). */
  image: string;
}

export interface PullOptions {
  /**
   * Credentials to try in order (credentialsFor(image, dockerconfigjson values of the pull secrets));
   * anonymous only when empty, as kubelet does. The error of the last attempt is thrown.
   */
  credentials?: readonly RegistryAuth[];
  /** Called at most once per progressIntervalMs while the pull moves bytes. */
  onProgress?: (progress: ImagePullProgress) => void;
  /** Stops waiting; the shared pull itself stops only when no waiter is left. */
  signal?: AbortSignal;
}

export interface EnsureOptions extends PullOptions {
  policy: PullPolicy;
}

interface Flight {
  image: string;
  promise: Promise<ImageInfo>;
  controller: AbortController;
  waiters: number;
  listeners: Set<(p: ImagePullProgress) => void>;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name === 'AbortError' ? reason : new DOMException('image pull wait aborted', 'AbortError');
}

export class ImagePuller {
  private readonly runtime: ImageRuntime;
  private readonly progressDeadlineMs: number;
  private readonly timeoutMs: number;
  private readonly progressIntervalMs: number;
  private readonly metrics?: ImagePullMetrics;
  private readonly log: Logger;
  private readonly flights = new Map<string, Flight>();

  constructor(opts: ImagePullerOptions) {
    this.runtime = opts.runtime;
    this.progressDeadlineMs = opts.progressDeadlineMs ?? 60_000;
    this.timeoutMs = opts.timeoutMs ?? 600_000;
    this.progressIntervalMs = opts.progressIntervalMs ?? 1_000;
    this.metrics = opts.metrics;
    this.log = opts.logger ?? silentLogger();
  }

  /** Pulls in progress (shared ones count once). */
  inFlight(): number {
    return this.flights.size;
  }

  /**
   * The local image to use without pulling, or undefined when `policy` wants a pull: Always always does,
   * IfNotPresent when the image is missing. Never with a missing image throws ImageNeverPullError.
   */
  async presentImage(image: string, policy: PullPolicy): Promise<ImageInfo | undefined> {
    if (policy === 'Always') return undefined;
    const info = await this.runtime.imageInfo(withDefaultTag(image));
    if (!info && policy === 'Never') throw new ImageNeverPullError(image);
    return info;
  }

  /** presentImage, then a pull if one is needed: the image to create containers from. */
  async ensure(image: string, opts: EnsureOptions): Promise<ImageInfo> {
    return (await this.presentImage(image, opts.policy)) ?? this.pull(image, opts);
  }

  /**
   * Pulls `image`, joining a pull of the same reference with the same credentials already in flight.
   * Throws ImagePullError with the registry's message, an AbortError when `signal` aborts, or an engine
   * error (DockerUnavailableError, DockerTimeoutError, a broken connection).
   */
  async pull(image: string, opts: PullOptions = {}): Promise<ImageInfo> {
    const ref = withDefaultTag(image);
    const candidates: (RegistryAuth | undefined)[] = opts.credentials?.length ? [...opts.credentials] : [undefined];
    let last: unknown;
    for (const auth of candidates) {
      try {
        return await this.join(ref, auth, opts);
      } catch (e) {
        // Only the registry's refusals justify trying other credentials.
        if (!(e instanceof ImagePullError)) throw e;
        last = e;
      }
    }
    throw last;
  }

  private join(ref: string, auth: RegistryAuth | undefined, opts: PullOptions): Promise<ImageInfo> {
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const key = `${ref}\u0000${credentialsKey(auth)}`;
    let flight = this.flights.get(key);
    if (!flight) {
      flight = this.start(key, ref, auth);
      this.flights.set(key, flight);
    }
    const f = flight;
    f.waiters++;
    const listener = opts.onProgress;
    if (listener) f.listeners.add(listener);
    return new Promise<ImageInfo>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        signal?.removeEventListener('abort', onAbort);
        if (listener) f.listeners.delete(listener);
        // The last waiter gone: nobody needs the image any more.
        if (--f.waiters === 0 && this.flights.get(key) === f) f.controller.abort(new DOMException('no waiter left', 'AbortError'));
      };
      const onAbort = () => {
        leave();
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      f.promise.then(
        (info) => {
          if (left) return;
          leave();
          resolve(info);
        },
        (e: unknown) => {
          if (left) return;
          leave();
          reject(e);
        },
      );
    });
  }

  private start(key: string, ref: string, auth: RegistryAuth | undefined): Flight {
    const controller = new AbortController();
    const listeners = new Set<(p: ImagePullProgress) => void>();
    const flight: Flight = { image: ref, controller, waiters: 0, listeners, promise: Promise.resolve(undefined as never) };
    let layers: ReadonlyMap<string, LayerBytes> = new Map();
    let delivered = -Infinity;
    let trailing: NodeJS.Timeout | undefined;
    const deliver = () => {
      trailing = undefined;
      delivered = performance.now();
      const progress: ImagePullProgress = { image: ref, ...pullBytes(layers) };
      for (const l of [...listeners]) {
        try {
          l(progress);
        } catch (e) {
          this.log.warn({ err: e, image: ref }, 'image pull progress listener threw');
        }
      }
    };
    const deadline = (ms: number, why: string) =>
      setTimeout(() => controller.abort(new ImagePullError(ref, why)), ms);
    let idle = deadline(this.progressDeadlineMs, `no progress for ${this.progressDeadlineMs / 1000} s (image pull progress deadline)`);
    const cap = deadline(this.timeoutMs, `the pull did not finish within ${this.timeoutMs / 1000} s`);
    const started = performance.now();
    this.log.info({ image: ref, withCredentials: !!auth }, 'pulling image');

    flight.promise = (async () => {
      let result = 'error';
      try {
        await this.runtime.pullImage(ref, {
          auth,
          signal: controller.signal,
          // A backstop only: the puller's own deadlines fire first, with their own message.
          timeoutMs: this.timeoutMs + 5_000,
          onProgress: (msg) => {
            clearTimeout(idle);
            idle = deadline(this.progressDeadlineMs, `no progress for ${this.progressDeadlineMs / 1000} s (image pull progress deadline)`);
            const next = foldLayerProgress(layers, msg);
            if (next === layers) return;
            layers = next;
            const wait = delivered + this.progressIntervalMs - performance.now();
            if (wait <= 0) deliver();
            else trailing ??= setTimeout(deliver, wait);
          },
        });
        const info = await this.runtime.imageInfo(ref);
        if (!info) throw new ImagePullError(ref, 'the engine ended the pull without the image');
        result = 'success';
        this.log.info({ image: ref, ...pullBytes(layers), seconds: (performance.now() - started) / 1000 }, 'pulled image');
        return info;
      } catch (e) {
        const reason: unknown = controller.signal.reason;
        const failure = controller.signal.aborted && reason instanceof ImagePullError ? reason : e;
        result = failure instanceof ImagePullError ? (controller.signal.aborted ? 'timeout' : 'error') : (failure as Error)?.name === 'AbortError' ? 'cancelled' : 'error';
        // The message only: an error object could carry a cause with more than the registry said.
        this.log.warn({ image: ref, withCredentials: !!auth, error: (failure as Error)?.message ?? String(failure) }, 'image pull failed');
        throw failure;
      } finally {
        clearTimeout(idle);
        clearTimeout(cap);
        clearTimeout(trailing);
        if (this.flights.get(key) === flight) this.flights.delete(key);
        this.metrics?.imagePulls.inc({ result });
        this.metrics?.imagePullDuration.observe((performance.now() - started) / 1000);
        const bytes = pullBytes(layers).downloadedBytes;
        if (bytes > 0) this.metrics?.imagePullBytes.inc(bytes);
      }
    })();
    // Waiters attach their own handlers; this one keeps a pull nobody waits for from being unhandled.
    flight.promise.catch(() => undefined);
    return flight;
  }
}
