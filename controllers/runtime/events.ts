// Events about objects (client-go's EventRecorder): a repeat of the same event bumps the count of one
// deterministically named Event instead of creating another, and a per-object token bucket stops floods.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Resource } from '../../lib/api/resource.js';
import type { EventObject } from '../../lib/api/typed.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../lib/client/errors.js';
import { API_VERSION } from '../../lib/api/kinds.js';

export type EventType = 'Normal' | 'Warning';

/** The part of ApiClient the recorder needs. */
export interface EventClient {
  get(kind: string, name: string, namespace?: string): Promise<Resource>;
  create(obj: Resource): Promise<Resource>;
  update(obj: Resource): Promise<Resource>;
}

export interface EventRecorderOptions {
  client: EventClient;
  /** Who reports, e.g. "docker-controller" (Event source.component). */
  component: string;
  /** @default os.hostname() */
  host?: string;
  /** Events one object may emit at once before the rate applies. @default 25 (client-go's spam filter) */
  burst?: number;
  /** Tokens regained per object per second once the burst is spent. @default 1/300 (one per 5 minutes) */
  refillPerSecond?: number;
  /** Objects whose counters and buckets are remembered; the least recently used are forgotten. @default 4096 */
  maxTracked?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Bucket {
  tokens: number;
  last: number;
}

// An event name must stay a valid object name (≤ 253) with room for ".<hash>".
const HASH_LENGTH = 16;
const MAX_PREFIX = 253 - HASH_LENGTH - 1;

export class EventRecorder {
  private readonly opts: EventRecorderOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly host: string;
  // Last written Event by "namespace/name", so a repeat is one update instead of a get and an update.
  private readonly written = new Map<string, EventObject>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(opts: EventRecorderOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger()).child({ component: 'event-recorder' });
    this.host = opts.host ?? hostname();
  }

  /**
   * Records an event about `involvedObject`. Never rejects: a lost event must not fail the caller's
   * work, so failures (and rate-limited drops) are logged. Returns whether the event was written.
   */
  async record(involvedObject: Resource, type: EventType, reason: string, message: string): Promise<boolean> {
    const objectKey = `${involvedObject.kind}/${involvedObject.metadata.namespace ?? ''}/${involvedObject.metadata.name ?? ''}`;
    if (!this.takeToken(objectKey)) {
      this.log.debug({ object: objectKey, reason }, 'event dropped by the per-object rate limit');
      return false;
    }
    const namespace = involvedObject.metadata.namespace || 'default';
    const name = eventName(involvedObject, type, reason, message);
    try {
      await this.write(involvedObject, namespace, name, type, reason, message);
      return true;
    } catch (err) {
      this.log.warn({ err, object: objectKey, reason, event: `${namespace}/${name}` }, 'could not record event');
      return false;
    }
  }

  private async write(obj: Resource, namespace: string, name: string, type: EventType, reason: string, message: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const now = new Date(this.clock.now()).toISOString();
    const known = this.written.get(key);
    if (known) {
      try {
        return this.remember(key, await this.opts.client.update(bumped(known, now)));
      } catch (err) {
        // Someone else (a previous leader) wrote it since, or it was deleted: start from the server's copy.
        if (!isConflict(err) && !isNotFound(err)) throw err;
        this.written.delete(key);
      }
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await this.opts.client.create({
          apiVersion: API_VERSION,
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion || API_VERSION,
            kind: obj.kind,
            namespace: obj.metadata.namespace ?? '',
            name: obj.metadata.name ?? '',
            uid: obj.metadata.uid ?? '',
          },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.opts.component, host: this.host },
        });
        return this.remember(key, created);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      try {
        const current = await this.opts.client.get('Event', name, namespace);
        return this.remember(key, await this.opts.client.update(bumped(current, now)));
      } catch (err) {
        // Deleted or rewritten between our reads: go round once more, then give up.
        const retryable = isConflict(err) || isNotFound(err);
        if (!retryable || attempt >= 2) throw err;
      }
    }
  }

  private remember(key: string, event: EventObject): void {
    this.written.delete(key);
    this.written.set(key, event);
    trim(this.written, this.maxTracked);
  }

  private takeToken(objectKey: string): boolean {
    const burst = this.opts.burst ?? 25;
    const refill = this.opts.refillPerSecond ?? 1 / 300;
    const now = this.clock.now();
    const b = this.buckets.get(objectKey) ?? { tokens: burst, last: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.last) / 1000) * refill);
    b.last = now;
    this.buckets.delete(objectKey);
    this.buckets.set(objectKey, b);
    trim(this.buckets, this.maxTracked);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private get maxTracked(): number {
    return this.opts.maxTracked ?? 4096;
  }
}

/**
 * `<object name>.<hash>`: the same event about the same object always gets the same name, so a
 * restarted recorder (or a new leader) aggregates into it too. The uid keeps a recreated object's
 * events apart from its predecessor's.
 */
export function eventName(obj: Resource, type: EventType, reason: string, message: string): string {
  const hash = createHash('sha256')
    .update([obj.kind, obj.metadata.uid ?? '', type, reason, message].join('\n'))
    .digest('hex')
    .slice(0, HASH_LENGTH);
  const prefix = (obj.metadata.name ?? '').slice(0, MAX_PREFIX).replace(/[.-]+$/, '');
  return `${prefix}.${hash}`;
}

function bumped(event: EventObject, now: string): EventObject {
  return { ...event, count: (event.count ?? 1) + 1, lastTimestamp: now };
}

// Maps iterate in insertion order and entries are re-inserted on use: the first is the least recent.
function trim<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value!);
}

