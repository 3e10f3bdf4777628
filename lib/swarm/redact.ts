// Docker Swarm join tokens are credentials: every message that may carry one (a Docker error, an
// operation's failure) passes through here before it is logged, recorded as an Event or written to status.

/** `text` with every swarm join token (SWMTKN-…) replaced by a placeholder. */
export function redactTokens(text: string): string {
  return text.replace(/SWMTKN-[\w-]+/g, 'SWMTKN-[redacted]');
}
