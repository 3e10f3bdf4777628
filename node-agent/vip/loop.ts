// Keeps this node's Service VIP rules equal to the directory: one rewrite after each change the stream
// brings (changes arriving meanwhile coalesce into the next), and a full check of the hooks every
// resync period, which also puts back rules someone else flushed.
import type { Logger } from 'pino';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { silentLogger } from '../../lib/observability/logger.js';
import { VIP_CONDITION, type AgentCondition } from '../conditions.js';
import type { ServiceLookup } from '../dns/directory.js';
import type { VipHost } from './iptables.js';
import { natRules } from './rules.js';


export interface VipLoopOptions {
  lookup: ServiceLookup;
  /** False until the directory holds its first snapshot: until then the rules of an earlier run stay. */
  ready: () => boolean;
  node: string;
  /** The range Service VIPs come from (the API server's --service-cluster-ip-range). */
  serviceCidr: string;
  host: VipHost;
  /** @default 30_000 */
  resyncMs?: number;
  metrics?: { syncs: Counter<'result'>; duration: Histogram; ports: Gauge };
  logger?: Logger;
}

export class VipLoop {
  private readonly log: Logger;
  private known = new Set<string>();
  private applied?: string;
  private hooksChecked = false;
  private rereadChains = false;
  private running?: Promise<void>;
  private pending = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private state: AgentCondition = { type: VIP_CONDITION, status: 'Unknown', reason: 'Starting', message: 'the Service VIP rules are not written yet' };

  constructor(private readonly opts: VipLoopOptions) {
    this.log = opts.logger ?? silentLogger();
  }

  /** What the heartbeat reports: whether this node's VIP rules are in place, and why not. */
  get condition(): AgentCondition {
    return this.state;
  }

  async start(): Promise<void> {
    try {
      this.known = await this.opts.host.ownChains();
    } catch (err) {
      this.fail(err);
    }
    this.timer = setInterval(() => {
      this.hooksChecked = false;
      this.rereadChains = true;
      this.applied = undefined;
      this.changed();
    }, this.opts.resyncMs ?? 30_000);
    this.timer.unref();
    this.changed();
  }

  /** The directory changed: rewrite the rules soon. */
  changed(): void {
    if (this.stopped) return;
    this.pending = true;
    this.running ??= this.syncLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async syncLoop(): Promise<void> {
    try {
      while (this.pending && !this.stopped) {
        this.pending = false;
        await this.sync();
      }
    } finally {
      // In the same turn as the last check of `pending`: a change from now on starts a new loop.
      this.running = undefined;
    }
  }

  private async sync(): Promise<void> {
    if (!this.opts.ready()) return;
    const end = this.opts.metrics?.duration.startTimer();
    try {
      if (this.rereadChains) {
        // Chains someone else left or removed since: the rewrite below deletes or recreates them.
        this.known = await this.opts.host.ownChains();
        this.rereadChains = false;
      }
      await this.write();
      this.opts.metrics?.syncs.inc({ result: 'success' });
    } catch (err) {
      this.opts.metrics?.syncs.inc({ result: 'error' });
      this.applied = undefined;
      this.rereadChains = true;
      this.fail(err);
      // Retried at the next change or resync, whichever comes first.
    } finally {
      end?.();
    }
  }

  private async write(): Promise<void> {
    const rules = natRules(this.opts.lookup, this.opts.node, this.known);
    if (rules.text === this.applied && this.hooksChecked) return;
    await this.opts.host.apply(rules.text);
    this.known = rules.chains;
    this.applied = rules.text;
    if (!this.hooksChecked) {
      await this.opts.host.ensureHooks(this.opts.serviceCidr);
      this.hooksChecked = true;
    }
    this.opts.metrics?.ports.set(rules.programmedPorts);
    if (this.state.status !== 'True') this.log.info({ servicePorts: rules.programmedPorts }, 'Service VIP rules written');
    this.state = { type: VIP_CONDITION, status: 'True', reason: 'RulesWritten', message: 'the Service VIP rules are in place' };
  }

  private fail(err: unknown): void {
    const message = `cannot program Service VIPs on this node: ${(err as Error).message}`;
    if (this.state.message !== message) this.log.error({ err }, 'cannot program Service VIPs on this node');
    this.state = { type: VIP_CONDITION, status: 'False', reason: 'HostNotProgrammable', message };
  }
}
