// bench:service, endpoints section: how long after a Container's Ready condition flips the Service's
// EndpointSlice follows, on real etcd (fsync on), an API server, the controllers and hollow nodes (as
// e2e/agents/endpoints-hollow.test.ts runs them, in this process). Hollow engines have no healthcheck
// to fail, so the bench writes the Container's status the way an agent reports a failing healthcheck
// (Ready False, reason Unhealthy) and back (Ready True); the agent only writes when its own view
// changes, so it leaves these writes alone. Timed: from the Container watch event showing the flip to
// the EndpointSlice watch event showing that endpoint's `ready` flipped. Baseline in the same rounds:
// a ConfigMap write to its watch event, through the same API server.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { main } from '../../cmd/commands.js';
import { startEtcd, type EtcdInstance } from '../../e2e/harness/etcd.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { conditionOf } from '../../lib/api/conditions.js';
import type { Resource } from '../../lib/api/resource.js';
import type { ContainerObject, EndpointSliceObject } from '../../lib/api/typed.js';
import { captureIo } from '../../lib/cli/io.js';
import { isConflict } from '../../lib/client/errors.js';
import { OperationsClient } from '../../lib/client/operations.js';
import { summarize, type Summary } from './stats.js';
import { until } from './until.js';

const NS = 'bench-eps';
const SET = 'web';
const BASELINE = 'bench-baseline';

export interface EndpointsOptions {
  replicas: number;
  nodes: number;
  /** Not-ready-then-ready cycles per round, one replica at a time. */
  flips: number;
  /** Longest wait for one event. */
  eventTimeoutMs: number;
}

export const ENDPOINTS_DEFAULTS: EndpointsOptions = { replicas: 20, nodes: 4, flips: 100, eventTimeoutMs: 10_000 };

export interface EndpointsRound {
  /** Container event (Ready False) → slice event (that endpoint ready false). */
  notReadyMs: Summary;
  /** Container event (Ready True) → slice event (that endpoint ready true). */
  readyMs: Summary;
  /** The bench's own status write → its Container watch event. */
  statusWriteToEventMs: Summary;
  /** A ConfigMap write → its watch event: plain watch delivery through the same API server. */
  baselineMs: Summary;
  /** Flips whose Container or slice event did not come within eventTimeoutMs. */
  timeouts: number;
  /** Container events turning Ready back without the bench asking (an agent overwriting the flip). */
  unexpectedFlips: number;
}

type Waiter = { match: (obj: Resource) => boolean; resolve: (t: number) => void };

/** A watch whose events resolve registered waiters with the time they arrived; unmatched events go to `onOther`. */
class EventClock {
  private readonly waiters = new Set<Waiter>();
  onOther?: (obj: Resource) => void;
  done: Promise<void>;

  constructor(api: TestApiServer, kind: string, signal: AbortSignal) {
    this.done = (async () => {
      for await (const ev of api.client.watch(kind, { namespace: NS, signal })) {
        const t = performance.now();
        if (!ev.object || ev.type === 'BOOKMARK') continue;
        let matched = false;
        for (const w of [...this.waiters]) {
          if (w.match(ev.object)) {
            this.waiters.delete(w);
            w.resolve(t);
            matched = true;
          }
        }
        if (!matched) this.onOther?.(ev.object);
      }
    })();
  }

  /** Resolves with the arrival time of the first event matching, or undefined after `timeoutMs`. */
  next(match: (obj: Resource) => boolean, timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const w: Waiter = {
        match,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.add(w);
    });
  }
}

const readyOf = (c: Resource) => conditionOf((c as ContainerObject).status, 'Ready')?.status === 'True';
/** The endpoint's ready (false is left out on the wire), or undefined when the slice does not list it. */
function endpointReady(s: Resource, name: string): boolean | undefined {
  const e = (s as EndpointSliceObject).endpoints?.find((x) => x.containerName === name);
  return e ? !!e.ready : undefined;
}

export class EndpointsBench {
  private etcd?: EtcdInstance;
  private api?: TestApiServer;
  private dir?: string;
  private readonly stopAll = new AbortController();
  private readonly exits: Promise<number>[] = [];
  private containers?: EventClock;
  private slices?: EventClock;
  private configMaps?: EventClock;
  private names: string[] = [];
  /** The Ready each replica should have now, per the bench's last write. */
  private readonly expected = new Map<string, boolean>();
  private unexpected = 0;

  constructor(private readonly opts: EndpointsOptions) {
    // The hollow nodes, the controllers and three watches all end on this one signal.
    setMaxListeners(100, this.stopAll.signal);
  }

  async start(log: (msg: string) => void): Promise<void> {
    this.etcd = await startEtcd({ fsync: true });
    this.api = await startTestApiServer(this.etcd.endpoint);
    const api = this.api;
    this.dir = mkdtempSync(join(tmpdir(), 'persys-bench-svc-'));
    const ops = new OperationsClient(api.config);
    const joined = await ops.createJoinToken({ ttlSeconds: 600 }).finally(() => ops.close());
    const caCertHash = /sha256:[0-9a-f]{64}/.exec(joined.joinCommand)![0];
    const connection = ['--server', api.config.server, '--ca-cert', api.config.caCert, '--client-cert', api.config.clientCert, '--client-key', api.config.clientKey];
    const nodes = captureIo('', this.stopAll.signal);
    this.exits.push(
      main(['hollow-nodes', '--count', String(this.opts.nodes), '--server', api.config.server, '--join-server', `127.0.0.1:${api.server.joinPort}`, '--token', joined.token,
        '--ca-cert-hash', caCertHash, '--name-prefix', `svc${randomBytes(2).toString('hex')}-`, '--data-dir', this.dir, '--start-delay', '50ms',
        '--metrics-listen', '127.0.0.1:0', '--log-level', 'silent'], nodes),
    );
    await until('hollow nodes connected', 60_000, async () => nodes.stdout() + nodes.stderr(), (out) => out.includes(`${this.opts.nodes} hollow nodes connected`) || nodes.stderr() !== '');
    if (nodes.stderr()) throw new Error(`hollow-nodes: ${nodes.stderr()}`);
    this.exits.push(main(['controllers', ...connection, '--leader-elect=false', '--metrics-listen', '127.0.0.1:0', '--log-level', 'silent'], captureIo('', this.stopAll.signal)));

    await api.client.apply(`apiVersion: persys.dev/v1
kind: Namespace
metadata: {name: ${NS}}
`);
    await api.client.apply(`apiVersion: persys.dev/v1
kind: ContainerSet
metadata: {name: ${SET}, namespace: ${NS}}
spec:
  replicas: ${this.opts.replicas}
  template:
    metadata: {labels: {app: ${SET}}}
    spec:
      image: persys/busybox:test
      ports: [{name: http, containerPort: 80}]
`);
    await api.client.apply(`apiVersion: persys.dev/v1
kind: Service
metadata: {name: ${SET}, namespace: ${NS}}
spec:
  selector: {app: ${SET}}
  ports: [{name: http, port: 80, targetPort: http}]
`);
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name: BASELINE, namespace: NS }, data: { n: '0' } } as Resource);
    const t = performance.now();
    const slice = (await until(`${this.opts.replicas} ready endpoints`, 120_000,
      () => api.client.get('EndpointSlice', SET, NS) as Promise<EndpointSliceObject>,
      (s) => (s.endpoints ?? []).filter((e) => e.ready).length === this.opts.replicas, 200)) as EndpointSliceObject;
    log(`endpoints: ${this.opts.replicas} replicas on ${this.opts.nodes} hollow nodes ready in the slice after ${((performance.now() - t) / 1000).toFixed(1)} s`);
    this.names = slice.endpoints!.map((e) => e.containerName!).sort();
    for (const n of this.names) this.expected.set(n, true);

    this.containers = new EventClock(api, 'Container', this.stopAll.signal);
    this.slices = new EventClock(api, 'EndpointSlice', this.stopAll.signal);
    this.configMaps = new EventClock(api, 'ConfigMap', this.stopAll.signal);
    this.containers.onOther = (c) => {
      const want = this.expected.get(c.metadata.name ?? '');
      if (want !== undefined && readyOf(c) !== want) this.unexpected++;
    };
    // The watches list what exists first; let those events pass before timing anything.
    await sleep(1_000);
  }

  /**
   * Writes Ready `ready` into the Container's status as an agent would; retries a conflict with the
   * agent's own writes. Returns when the successful UpdateStatus call was sent.
   */
  private async writeReady(name: string, ready: boolean): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const c = (await this.api!.client.get('Container', name, NS)) as ContainerObject;
      const now = new Date().toISOString();
      const cond = ready
        ? { type: 'Ready', status: 'True', lastTransitionTime: now }
        : { type: 'Ready', status: 'False', reason: 'Unhealthy', message: 'the container healthcheck fails', lastTransitionTime: now };
      const conditions = [...(c.status?.conditions ?? []).filter((x) => x.type !== 'Ready'), cond];
      const sentAt = performance.now();
      try {
        await this.api!.client.updateStatus({ ...c, status: { ...c.status, conditions } } as Resource);
        return sentAt;
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  }

  /** One flip of one replica: returns [status write → Container event, Container event → slice event], or undefined on a timeout. */
  private async flip(name: string, ready: boolean): Promise<[number, number] | undefined> {
    const timeout = this.opts.eventTimeoutMs;
    this.expected.set(name, ready);
    const seen = this.containers!.next((c) => c.metadata.name === name && readyOf(c) === ready, timeout);
    const followed = this.slices!.next((s) => s.metadata.name === SET && endpointReady(s, name) === ready, timeout);
    const t0 = await this.writeReady(name, ready);
    const [tc, ts] = await Promise.all([seen, followed]);
    if (tc === undefined || ts === undefined) return undefined;
    return [tc - t0, ts - tc];
  }

  /** A ConfigMap update → its watch event. */
  private async baseline(i: number): Promise<number | undefined> {
    const cm = await this.api!.client.get('ConfigMap', BASELINE, NS);
    const value = `${Date.now()}-${i}`;
    const seen = this.configMaps!.next((o) => o.metadata.name === BASELINE && (o as { data?: Record<string, string> }).data?.n === value, this.opts.eventTimeoutMs);
    const t0 = performance.now();
    await this.api!.client.update({ ...cm, data: { n: value } } as Resource);
    const t = await seen;
    return t === undefined ? undefined : t - t0;
  }

  async round(): Promise<EndpointsRound> {
    const down: number[] = [];
    const up: number[] = [];
    const writes: number[] = [];
    const base: number[] = [];
    let timeouts = 0;
    const unexpectedBefore = this.unexpected;
    for (let i = 0; i < this.opts.flips; i++) {
      const name = this.names[i % this.names.length]!;
      for (const ready of [false, true]) {
        const r = await this.flip(name, ready);
        if (r) {
          writes.push(r[0]);
          (ready ? up : down).push(r[1]);
        } else timeouts++;
        const b = await this.baseline(i);
        if (b === undefined) timeouts++;
        else base.push(b);
      }
    }
    return {
      notReadyMs: summarize(down),
      readyMs: summarize(up),
      statusWriteToEventMs: summarize(writes),
      baselineMs: summarize(base),
      timeouts,
      unexpectedFlips: this.unexpected - unexpectedBefore,
    };
  }

  async stop(): Promise<void> {
    this.stopAll.abort();
    await Promise.allSettled([...this.exits, this.containers?.done, this.slices?.done, this.configMaps?.done]);
    await this.api?.stop();
    await this.etcd?.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
