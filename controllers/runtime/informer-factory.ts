// One informer per kind for a whole process (client-go's SharedInformerFactory): controllers that read
// the same kind share one list+watch and one cache, each registering the indexes it needs.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { IndexFunc } from './indexers.js';
import { Informer, type ListWatcher } from './informer.js';
import { informerMetrics } from './metrics.js';

export interface InformerFactoryOptions {
  client: ListWatcher;
  logger?: Logger;
  /** Passed to every informer (tests shorten back-off with it). */
  delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Where informers count their re-lists (persys_informer_relists_total). */
  registry?: Registry;
}

/** Two controllers gave one index name different functions: their lookups would disagree. */
export class IndexConflictError extends Error {
  override name = 'IndexConflictError';
  constructor(kind: string, index: string) {
    super(`informer for ${kind}: index ${JSON.stringify(index)} is already registered with another function`);
  }
}

interface Shared {
  informer: Informer;
  indexers: Map<string, IndexFunc>;
  users: number;
}

export class InformerFactory {
  private readonly shared = new Map<string, Shared>();
  constructor(private readonly opts: InformerFactoryOptions) {}

  /**
   * The process's informer of `kind` (in `namespace`, or all), with `indexers` added. Each call is one
   * user: call it once per kind per controller set, and give the informer back with release().
   */
  informerFor(kind: string, opts: { namespace?: string; indexers?: Record<string, IndexFunc> } = {}): Informer {
    const key = `${kind}/${opts.namespace ?? ''}`;
    let s = this.shared.get(key);
    if (!s) {
      const metrics = this.opts.registry && informerMetrics(this.opts.registry);
      const informer = new Informer({ client: this.opts.client, kind, namespace: opts.namespace, logger: this.opts.logger, delay: this.opts.delay, metrics });
      s = { informer, indexers: new Map(), users: 0 };
      this.shared.set(key, s);
    }
    for (const [name, fn] of Object.entries(opts.indexers ?? {})) {
      const had = s.indexers.get(name);
      if (had === fn) continue;
      if (had) throw new IndexConflictError(kind, name);
      s.informer.addIndexer(name, fn);
      s.indexers.set(name, fn);
    }
    s.users++;
    return s.informer;
  }

  /** Whether `informer` came from this factory (and has not been stopped by it). */
  owns(informer: Informer): boolean {
    return [...this.shared.values()].some((s) => s.informer === informer);
  }

  /** Gives informers back; one that nobody uses any more is stopped and forgotten. */
  async release(informers: Informer[]): Promise<void> {
    const stopping: Promise<void>[] = [];
    for (const [key, s] of this.shared) {
      const n = informers.filter((i) => i === s.informer).length;
      if (n === 0) continue;
      s.users -= n;
      if (s.users <= 0) {
        this.shared.delete(key);
        stopping.push(s.informer.stop());
      }
    }
    await Promise.all(stopping);
  }

  /** Stops every informer it still holds, whoever uses it (a process that failed to start). */
  async stop(): Promise<void> {
    const all = [...this.shared.values()].map((s) => s.informer);
    this.shared.clear();
    await Promise.all(all.map((i) => i.stop()));
  }
}
