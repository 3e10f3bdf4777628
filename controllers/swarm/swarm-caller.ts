// What the swarm controllers call a node's engine through (the API server relays to its agent), the
// options both controllers take, and the message of a failed call with any join token scrubbed out.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ApiClient } from '../../lib/client/client.js';
import type { SwarmClient } from '../../lib/client/swarm.js';
import type { Clock } from '../../lib/queue/clock.js';
import type { EventRecorder } from '../runtime/events.js';
import type { InformerFactory } from '../runtime/informer-factory.js';
import { redactTokens } from '../../lib/swarm/redact.js';

/** The part of SwarmClient the swarm controllers need. */
export type SwarmCaller = Pick<SwarmClient, 'call'>;

export const messageOf = (err: unknown) => redactTokens(err instanceof Error ? err.message : String(err));

/** What the membership and the services controllers both take. */
export interface SwarmControllerOptions {
  client: Pick<ApiClient, 'list' | 'watch' | 'get' | 'create' | 'update' | 'updateStatus' | 'delete'>;
  logger: Logger;
  registry?: Registry;
  swarm: SwarmCaller;
  /** @default the controller's own EventRecorder */
  recorder?: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  informerDelay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The process's shared informers (`persys controllers`); without it the controller has its own. */
  informers?: InformerFactory;
}
