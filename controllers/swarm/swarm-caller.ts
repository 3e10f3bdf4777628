// What the swarm controllers call a node's engine through (the API server relays to its agent), and the
// message of a failed call with any join token scrubbed out, fit for logs, Events and status.
import type { SwarmClient } from '../../lib/client/swarm.js';
import { redactTokens } from '../../lib/swarm/redact.js';

/** The part of SwarmClient the swarm controllers need. */
export type SwarmCaller = Pick<SwarmClient, 'call'>;

export const messageOf = (err: unknown) => redactTokens(err instanceof Error ? err.message : String(err));
