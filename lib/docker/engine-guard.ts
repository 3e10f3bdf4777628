// Every call a node makes to its Docker engine passes here: each with its own deadline, all behind one
// circuit breaker per engine. Containers, compose stacks and swarm operations share the guard of their
// engine, so a failing engine opens one breaker and shows in the node's health whichever path failed.
import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';

export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** A Docker call did not finish within its deadline; it was aborted. */
export class DockerTimeoutError extends Error {
  override readonly name = 'DockerTimeoutError';
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`docker ${operation} did not finish within ${timeoutMs} ms`);
  }
}

/** The circuit breaker is open: the engine failed repeatedly, so calls fail fast for a while. */
export class DockerUnavailableError extends Error {
  override readonly name = 'DockerUnavailableError';
  constructor(
    readonly node: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(`docker engine on node ${node} is unavailable (circuit open after repeated failures); ${operation} not attempted`, options);
  }
}

/**
 * Errors that say nothing about the engine's health carry this mark (a missing image, a registry's
 * refusal, a container persys does not own): the breaker does not count them.
 */
export interface NotAnEngineFailure {
  readonly notAnEngineFailure: true;
}

/** The HTTP status of an error from the engine (dockerode sets statusCode), if it has one. */
export function engineStatus(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The caller's own mistakes or races (missing object, conflict, already started/stopped, bad request),
 * the caller cancelling, and errors marked NotAnEngineFailure.
 */
export function isCallerSide(err: unknown): boolean {
  const status = engineStatus(err);
  if (status !== undefined && (status === 304 || (status >= 400 && status < 500))) return true;
  return (err as Partial<NotAnEngineFailure> | null)?.notAnEngineFailure === true || (err as Error | null)?.name === 'AbortError';
}

export interface EngineGuardOptions {
  /** This node's name, for error messages. */
  node: string;
  /** Deadline of one engine call unless the call sets its own. @default 10_000 */
  callTimeoutMs?: number;
  breaker?: {
    /** Calls in the rolling window before the breaker may open. @default 5 */
    volumeThreshold?: number;
    /** @default 50 */
    errorThresholdPercentage?: number;
    /** How long it stays open before one trial call. @default 10_000 */
    resetTimeoutMs?: number;
    /** @default 10_000 */
    rollingCountTimeoutMs?: number;
  };
}

export interface CallOptions {
  /** This call's deadline. @default the guard's callTimeoutMs */
  timeoutMs?: number;
  /** The caller's cancellation; the call is aborted with it. */
  signal?: AbortSignal;
  /** The call returns a live stream that outlives it: the caller's signal stays attached for its life. */
  stream?: boolean;
}

type Attempt = (signal: AbortSignal) => Promise<unknown>;

/** Emits 'open', 'halfOpen' and 'close' as the breaker turns. */
export class EngineGuard extends EventEmitter {
  readonly node: string;
  readonly callTimeoutMs: number;
  private readonly breaker: CircuitBreaker<[Attempt, AbortSignal], unknown>;

  constructor(opts: EngineGuardOptions) {
    super();
    this.node = opts.node;
    this.callTimeoutMs = opts.callTimeoutMs ?? 10_000;
    const b = opts.breaker ?? {};
    this.breaker = new CircuitBreaker((attempt: Attempt, signal: AbortSignal) => attempt(signal), {
      name: `docker-${opts.node}`,
      // Deadlines differ per call (a stop waits for the container), so each call enforces its own
      // with its own AbortController; opossum's single shared controller would, on one timeout,
      // abort every call in flight and stay aborted while the circuit is closed.
      timeout: false,
      volumeThreshold: b.volumeThreshold ?? 5,
      errorThresholdPercentage: b.errorThresholdPercentage ?? 50,
      resetTimeout: b.resetTimeoutMs ?? 10_000,
      rollingCountTimeout: b.rollingCountTimeoutMs ?? 10_000,
      errorFilter: isCallerSide,
    });
    this.breaker.on('open', () => this.emit('open'));
    this.breaker.on('halfOpen', () => this.emit('halfOpen'));
    this.breaker.on('close', () => this.emit('close'));
  }

  state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  /** Stops the breaker's statistics timers. */
  close(): void {
    this.breaker.shutdown();
  }

  /**
   * Runs one engine call through the breaker with its own deadline. The race rejects at the deadline
   * even if a dockerode method ignores the signal. An open breaker fails fast with DockerUnavailableError.
   */
  async call<T>(operation: string, attempt: (signal: AbortSignal) => Promise<T>, opts: CallOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.callTimeoutMs;
    const caller = opts.signal;
    caller?.throwIfAborted();
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(caller?.reason);
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new DockerTimeoutError(operation, timeoutMs)), timeoutMs);
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => undefined); // settles after the race for calls that finished in time
    let ok = false;
    try {
      const result = (await this.breaker.fire(async (signal) => {
        try {
          return await Promise.race([attempt(signal), aborted]);
        } catch (e) {
          if (!signal.aborted) throw e;
          const reason: unknown = signal.reason;
          if (reason instanceof DockerTimeoutError) throw reason;
          throw reason instanceof Error && reason.name === 'AbortError'
            ? reason
            : new DOMException(`docker ${operation} aborted by caller`, 'AbortError');
        }
      }, controller.signal)) as T;
      ok = true;
      return result;
    } catch (e) {
      if ((e as { code?: string }).code === 'EOPENBREAKER') throw new DockerUnavailableError(this.node, operation, { cause: e });
      throw e;
    } finally {
      clearTimeout(timer);
      if (!(opts.stream && ok)) caller?.removeEventListener('abort', onCallerAbort);
    }
  }
}
