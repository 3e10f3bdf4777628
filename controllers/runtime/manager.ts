// Runs a process's controllers (controller-runtime's manager): starts the informers, waits for their
// caches, runs the controllers only while this process leads, and serves /metrics /healthz /readyz.
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { serveObservability, type ObservabilityServer } from '../../lib/observability/http.js';
import type { Controller } from './controller.js';
import type { Informer } from './informer.js';
import type { InformerFactory } from './informer-factory.js';
import { LeaderElector, type LeaderElectorOptions } from './leader.js';

export interface RunControllersOptions {
  controllers: Controller[];
  /** Every informer the controllers read from; readiness is all of them synced. */
  informers: Informer[];
  /** The process's shared informers: those of `informers` that came from it are released to it on stop, not stopped. */
  informerFactory?: Pick<InformerFactory, 'owns' | 'release'>;
  /** Without it the controllers run as soon as the caches sync: for a single replica only. */
  leaderElection?: Omit<LeaderElectorOptions, 'logger' | 'registry'>;
  registry: Registry;
  logger: Logger;
  /** Where /metrics, /healthz and /readyz listen; port 0 picks one. @default { host: '127.0.0.1', port: 0 } */
  observability?: { host?: string; port: number };
}

export interface RunningControllers {
  metricsPort: number;
  /** True while the controllers run (always after sync when there is no leader election). */
  isActive(): boolean;
  /** Stops the controllers (waiting for in-flight reconciles), releases the lease, stops informers and the port. */
  stop(): Promise<void>;
}

export async function runControllers(opts: RunControllersOptions): Promise<RunningControllers> {
  const log = opts.logger.child({ component: 'controller-manager' });
  const abort = new AbortController();
  const observability: ObservabilityServer = await serveObservability({
    host: opts.observability?.host,
    port: opts.observability?.port ?? 0,
    registry: opts.registry,
    readiness: [
      {
        name: 'informers',
        check: async () => {
          const unsynced = opts.informers.filter((i) => !i.hasSynced()).map((i) => i.kind);
          if (unsynced.length) throw new Error(`caches not synced: ${unsynced.join(', ')}`);
        },
      },
    ],
  });
  let active = false;
  const runAll = async (signal: AbortSignal) => {
    // Each controller listens on the signal once: past Node's default of 10 that is no leak to warn of.
    setMaxListeners(opts.controllers.length + 10, signal);
    active = true;
    log.info({ controllers: opts.controllers.map((c) => c.name) }, 'starting controllers');
    try {
      await Promise.all(opts.controllers.map((c) => c.run(signal)));
    } finally {
      active = false;
    }
  };

  for (const i of opts.informers) i.start();
  const main = (async () => {
    // informers holds one entry per use of a shared informer: wait on each informer once.
    await Promise.all([...new Set(opts.informers)].map((i) => i.waitForSync(abort.signal)));
    log.info('caches synced');
    if (!opts.leaderElection) return runAll(abort.signal);
    const elector = new LeaderElector({ ...opts.leaderElection, logger: opts.logger, registry: opts.registry });
    // Losing the lease stops the workers; the caches stay warm, so campaigning again is cheap and a
    // regained leadership starts from a full replay of the caches.
    let leading: Promise<void> | undefined;
    while (!abort.signal.aborted) {
      await elector.run({ onStartedLeading: (signal) => (leading = runAll(signal)) }, abort.signal);
      // Workers finish their current reconcile before this process may campaign again.
      await leading?.catch((err) => log.error({ err }, 'controllers failed'));
      leading = undefined;
      if (!abort.signal.aborted) log.warn('leadership lost; controllers stopped; campaigning again');
    }
  })().catch((err) => {
    if (!abort.signal.aborted) log.error({ err }, 'controller manager failed');
  });

  return {
    metricsPort: observability.port,
    isActive: () => active,
    async stop() {
      abort.abort();
      await main;
      // A shared informer may still feed another controller set of this process.
      const shared = opts.informers.filter((i) => opts.informerFactory?.owns(i));
      await Promise.all([...opts.informers.filter((i) => !shared.includes(i)).map((i) => i.stop()), opts.informerFactory?.release(shared)]);
      await observability.close();
    },
  };
}
