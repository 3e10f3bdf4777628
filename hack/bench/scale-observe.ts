// What bench:scale watches while it loads the cluster: when each Container is first seen Running, Nodes'
// Ready going False (none is truly lost), and an API probe timing mutating calls, gets and paged lists.
import type { Resource } from '../../lib/api/resource.js';
import type { ApiClient } from '../../lib/client/client.js';
import { Informer } from '../../controllers/runtime/informer.js';

export interface StartupSample {
  /** Phase label current when the watch first saw the Container. */
  phase: string;
  /** creationTimestamp (whole seconds: the API server truncates it). */
  createdMs: number;
  /** When the watch delivered the Container first. */
  seenMs: number;
  /** When the watch first saw it Running. */
  runningMs?: number;
}

/** Follows every Container through one informer and notes the moment each is first seen Running. */
export class StartupTracker {
  readonly informer: Informer;
  readonly samples = new Map<string, StartupSample>();
  phase = 'idle';

  constructor(client: ApiClient) {
    this.informer = new Informer({ client, kind: 'Container' });
    const see = (obj: Resource) => {
      const now = Date.now();
      const uid = obj.metadata.uid!;
      let s = this.samples.get(uid);
      if (!s) this.samples.set(uid, (s = { phase: this.phase, createdMs: Date.parse(obj.metadata.creationTimestamp ?? '') || now, seenMs: now }));
      if (s.runningMs === undefined && phaseOf(obj) === 'Running') s.runningMs = now;
    };
    this.informer.addEventHandler({ onAdd: see, onUpdate: (_old, obj) => see(obj) });
  }

  /** Containers in the cache now, and how many of them are Running. */
  counts(): { total: number; running: number } {
    let running = 0;
    const all = this.informer.list();
    for (const c of all) if (phaseOf(c) === 'Running') running++;
    return { total: all.length, running };
  }

  /** Startup latencies (ms) of Containers first seen in `phase`: from creationTimestamp and from first sight. */
  latencies(phase?: string): { fromCreation: number[]; fromSeen: number[]; notRunning: number } {
    const fromCreation: number[] = [];
    const fromSeen: number[] = [];
    let notRunning = 0;
    for (const s of this.samples.values()) {
      if (phase !== undefined && s.phase !== phase) continue;
      if (s.runningMs === undefined) notRunning++;
      else {
        fromCreation.push(s.runningMs - s.createdMs);
        fromSeen.push(s.runningMs - s.seenMs);
      }
    }
    return { fromCreation, fromSeen, notRunning };
  }
}

export function phaseOf(obj: Resource): string | undefined {
  return (obj['status'] as { phase?: string } | undefined)?.phase;
}

function readyOf(node: Resource): string | undefined {
  const conditions = (node['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conditions.find((c) => c.type === 'Ready')?.status;
}

/** Counts Nodes whose Ready condition leaves True: in this benchmark no node is ever truly lost. */
export class NodeReadyTracker {
  readonly informer: Informer;
  readonly notReady: { node: string; atMs: number; status: string }[] = [];

  constructor(client: ApiClient) {
    this.informer = new Informer({ client, kind: 'Node' });
    this.informer.onUpdate((old, obj) => {
      const [was, is] = [readyOf(old), readyOf(obj)];
      if (was === 'True' && is !== 'True') this.notReady.push({ node: obj.metadata.name ?? '', atMs: Date.now(), status: is ?? 'absent' });
    });
  }

  ready(): number {
    return this.informer.list().filter((n) => readyOf(n) === 'True').length;
  }
}

export type ProbeKind = 'mutating' | 'get' | 'namespaceList' | 'clusterList';

export interface ProbeSample {
  kind: ProbeKind;
  atMs: number;
  ms: number;
  ok: boolean;
  /** Objects a list returned over all its pages. */
  items?: number;
}

/** Lists every page of `kind` (pages of `limit`); the number of objects. */
export async function listAllPages(client: ApiClient, kind: string, namespace: string, limit = 500, maxPages = 1_000): Promise<Resource[]> {
  const out: Resource[] = [];
  let cont = '';
  for (let page = 0; page < maxPages; page++) {
    const res = await client.list(kind, { namespace, limit, continue: cont });
    out.push(...res.items);
    cont = res.continue;
    if (!cont) return out;
  }
  throw new Error(`list of ${kind} in ${namespace || 'all namespaces'} still continues after ${maxPages} pages`);
}

export interface ProbeOptions {
  client: ApiClient;
  /** Namespace the probe's ConfigMaps live in (must exist). */
  probeNamespace: string;
  /** Namespaces and ContainerSets that exist, to get and list. */
  targets: () => { namespaces: string[]; sets: { namespace: string; name: string }[] };
  intervalMs: number;
  clusterListEveryMs: number;
  signal: AbortSignal;
}

/**
 * Times API calls as a user would make them until `signal` aborts: each interval a ConfigMap create,
 * update and delete (mutating), a get of a ContainerSet and a paged list of one namespace's Containers;
 * on its own loop, a paged list of every Container.
 */
export function runProbe(opts: ProbeOptions): { samples: ProbeSample[]; done: Promise<void> } {
  const samples: ProbeSample[] = [];
  const { client, signal } = opts;
  const time = async (kind: ProbeKind, fn: () => Promise<number | void>) => {
    const atMs = Date.now();
    try {
      const items = await fn();
      samples.push({ kind, atMs, ms: Date.now() - atMs, ok: true, items: items ?? undefined });
    } catch {
      samples.push({ kind, atMs, ms: Date.now() - atMs, ok: false });
    }
  };
  const pause = (ms: number) =>
    new Promise<void>((r) => {
      const onAbort = () => {
        clearTimeout(t);
        r();
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        r();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];

  const small = async () => {
    for (let i = 0; !signal.aborted && i < 1_000_000; i++) {
      const name = `probe-${i}`;
      const cm = (data: Record<string, string>): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name, namespace: opts.probeNamespace }, data });
      let created: Resource | undefined;
      await time('mutating', async () => void (created = await client.create(cm({ i: String(i) }))));
      if (created) await time('mutating', async () => void (await client.update({ ...created!, data: { i: String(i), updated: 'yes' } })));
      await time('mutating', async () => void (await client.delete('ConfigMap', name, opts.probeNamespace)));
      const { namespaces, sets } = opts.targets();
      const set = pick(sets);
      if (set) await time('get', async () => void (await client.get('ContainerSet', set.name, set.namespace)));
      const ns = pick(namespaces);
      if (ns) await time('namespaceList', async () => (await listAllPages(client, 'Container', ns)).length);
      await pause(opts.intervalMs);
    }
  };
  const big = async () => {
    for (let i = 0; !signal.aborted && i < 100_000; i++) {
      await time('clusterList', async () => (await listAllPages(client, 'Container', '')).length);
      await pause(opts.clusterListEveryMs);
    }
  };
  return { samples, done: Promise.all([small(), big()]).then(() => undefined) };
}
