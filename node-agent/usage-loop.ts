// Container usage sampled on its own timer, apart from the heartbeat: the heartbeat takes whatever
// the latest round left (possibly stale) and never waits on the engine, so a busy engine cannot
// delay the node's Lease renewal.
import type { Logger } from 'pino';
import type { ContainerUsage } from '../lib/gen/persys/v1/agent.js';
import { silentLogger } from '../lib/observability/logger.js';
import type { ManagedContainer } from './docker/runtime.js';
import type { ContainerUsageSampler } from './usage.js';

export interface ContainerUsageLoopOptions {
  sampler: Pick<ContainerUsageSampler, 'sample' | 'latest'>;
  /** The node's managed containers (the agent's cache once filled). */
  containers(): Promise<ManagedContainer[]>;
  /** No round starts while this is false (the engine is known to be down; the heartbeat says so). */
  engineHealthy(): boolean;
  /** Time between the starts of two rounds. @default 10_000 */
  intervalMs?: number;
  logger?: Logger;
}

export class ContainerUsageLoop {
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private skippedRounds = 0;
  private readonly log: Logger;

  constructor(private readonly opts: ContainerUsageLoopOptions) {
    this.log = opts.logger ?? silentLogger();
  }

  /** Rounds skipped because the one before was still running. */
  get skipped(): number {
    return this.skippedRounds;
  }

  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs ?? 10_000);
  }

  /** Stops the timer and waits for a round in progress (each is bounded by the sampler's deadlines). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** The latest usage figures, without calling the engine. */
  snapshot(): ContainerUsage[] {
    return this.opts.engineHealthy() ? this.opts.sampler.latest() : [];
  }

  private tick(): void {
    if (this.round) {
      this.skippedRounds++;
      this.log.debug({ skipped: this.skippedRounds }, 'usage round still running; skipping this one');
      return;
    }
    if (!this.opts.engineHealthy()) return;
    this.round = (async () => {
      await this.opts.sampler.sample(await this.opts.containers());
    })()
      .catch((err: unknown) => this.log.debug({ err }, 'usage round failed'))
      .finally(() => (this.round = undefined));
  }
}
