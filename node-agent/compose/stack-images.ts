// The images of a ComposeStack's services, made present on the node by their pull_policy through the node's
// shared puller (so a stack and Containers of one image share one pull), with kubelet's back-off after a
// failed pull: 10 s doubling to 5 min. `always` pulls once for every new generation of the stack, as each
// `docker compose up` would, not at every resync.
import type { ComposeStackObject } from '../../lib/api/typed.js';
import type { ComposePullPolicy, ComposeService } from '../../lib/compose/model.js';
import type { PullPolicy } from '../../lib/registry/reference.js';
import type { ConfigLookup } from '../desired.js';
import { ImageNeverPullError, ImagePullError } from '../docker/errors.js';
import type { ImagePuller } from '../images/puller.js';
import { pullCredentials } from '../images/pull-secrets.js';
import { RESTART_BACKOFF_INITIAL_MS, RESTART_BACKOFF_MAX_MS } from '../reconcile.js';

const POLICY: Record<ComposePullPolicy, PullPolicy> = { always: 'Always', missing: 'IfNotPresent', never: 'Never' };

interface BackOff {
  image: string;
  message: string;
  until: number;
  delayMs: number;
}

export interface ImageStep {
  /** Service → why it cannot be created now (ErrImagePull, ImagePullBackOff, ErrImageNeverPull). */
  blocked: Record<string, string>;
  /** Pull secrets the node lacks (namespace/name), to warn about by name. */
  missingSecrets: string[];
  /** When a back-off ends, to look again. */
  retryAfterMs?: number;
}

/** Called when a pull for some of a stack's services starts (0 bytes) and as it moves bytes. */
export type PullingListener = (image: string, bytes: { downloadedBytes: number; totalBytes: number }) => void;

export class StackImages {
  /** stack key → image → generation last pulled under `always`. */
  private readonly pulled = new Map<string, Map<string, number>>();
  /** stack key → image → its failed pull's back-off. */
  private readonly backoff = new Map<string, Map<string, BackOff>>();

  constructor(
    private readonly puller: ImagePuller,
    private readonly now: () => number,
  ) {}

  /** Makes every service's image usable per its policy; pulls of one stack run one image at a time. */
  async ensure(
    key: string,
    stack: ComposeStackObject,
    services: readonly ComposeService[],
    lookup: ConfigLookup,
    signal: AbortSignal,
    onPulling?: PullingListener,
  ): Promise<ImageStep> {
    const step: ImageStep = { blocked: {}, missingSecrets: [] };
    const generation = Number(stack.metadata.generation ?? 0);
    const namespace = stack.metadata.namespace || 'default';
    const pulled = this.pulled.get(key) ?? new Map<string, number>();
    const backoff = this.backoff.get(key) ?? new Map<string, BackOff>();
    const outcome = new Map<string, string | undefined>();
    for (const svc of services) {
      const policy = POLICY[svc.pullPolicy] ?? 'IfNotPresent';
      const id = `${svc.image}\u0000${policy}`;
      if (!outcome.has(id)) outcome.set(id, await this.one(svc.image, policy, { generation, namespace, stack, lookup, signal, pulled, backoff, step, onPulling }));
      const problem = outcome.get(id);
      if (problem) step.blocked[svc.name] = problem;
    }
    this.pulled.set(key, pulled);
    this.backoff.set(key, backoff);
    return step;
  }

  forget(key: string): void {
    this.pulled.delete(key);
    this.backoff.delete(key);
  }

  private async one(
    image: string,
    policy: PullPolicy,
    c: {
      generation: number;
      namespace: string;
      stack: ComposeStackObject;
      lookup: ConfigLookup;
      signal: AbortSignal;
      pulled: Map<string, number>;
      backoff: Map<string, BackOff>;
      step: ImageStep;
      onPulling?: PullingListener;
    },
  ): Promise<string | undefined> {
    const now = this.now();
    const failed = c.backoff.get(image);
    if (failed && now < failed.until) {
      c.step.retryAfterMs = Math.min(c.step.retryAfterMs ?? Infinity, failed.until - now);
      return `ImagePullBackOff: Back-off pulling image "${image}": ${failed.message}`;
    }
    // `always` pulls once per generation; after that the image it pulled is used as it is.
    const effective = policy === 'Always' && c.pulled.get(image) === c.generation ? 'IfNotPresent' : policy;
    try {
      if (await this.puller.presentImage(image, effective)) return undefined;
      const found = pullCredentials(image, c.namespace, c.stack.spec?.imagePullSecrets, c.lookup);
      c.step.missingSecrets.push(...found.missing);
      c.onPulling?.(image, { downloadedBytes: 0, totalBytes: 0 });
      await this.puller.pull(image, {
        credentials: found.credentials,
        signal: c.signal,
        onProgress: (p) => c.onPulling?.(image, { downloadedBytes: Number(p.downloadedBytes), totalBytes: Number(p.totalBytes) }),
      });
      c.backoff.delete(image);
      if (policy === 'Always') c.pulled.set(image, c.generation);
      return undefined;
    } catch (e) {
      if (e instanceof ImageNeverPullError) return `ErrImageNeverPull: ${e.message}`;
      if (!(e instanceof ImagePullError)) throw e;
      const delayMs = failed ? Math.min(failed.delayMs * 2, RESTART_BACKOFF_MAX_MS) : RESTART_BACKOFF_INITIAL_MS;
      c.backoff.set(image, { image, message: e.registryMessage, until: now + delayMs, delayMs });
      c.step.retryAfterMs = Math.min(c.step.retryAfterMs ?? Infinity, delayMs);
      return `ErrImagePull: ${e.message}`;
    }
  }
}
