// Leader election on a Lease through a real API server: one leader at a time, fast hand-over on a
// clean release, and take-over only after expiry when the leader is partitioned away or killed.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ApiClient } from '../../lib/client/client.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { Informer } from './informer.js';
import { LeaderElector, leaseExpired, type LeaderElectorOptions } from './leader.js';
import { waitFor } from '../../e2e/harness/wait.js';

let api: TestApiServer;
beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
});
afterAll(async () => api?.stop());

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const FAST = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 150 };
const leaseName = () => `lease-${randomBytes(4).toString('hex')}`;

/** Who leads, as the callbacks report it; `overlaps` counts moments with two leaders. */
class Leadership {
  readonly leaders = new Set<string>();
  readonly history: string[] = [];
  overlaps = 0;

  callbacks(identity: string) {
    return {
      onStartedLeading: (signal: AbortSignal) => {
        this.leaders.add(identity);
        this.history.push(`+${identity}`);
        if (this.leaders.size > 1) this.overlaps++;
        const stopped = () => {
          this.leaders.delete(identity);
          this.history.push(`-${identity}`);
        };
        if (signal.aborted) stopped();
        // Work "stops" when its signal aborts; the returned promise lets a clean stop wait for it.
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => (stopped(), resolve()), { once: true }));
      },
    };
  }
}

function campaign(name: string, identity: string, leadership: Leadership, extra: Partial<LeaderElectorOptions> = {}) {
  const client = extra.client ?? api.client;
  const elector = new LeaderElector({ client, namespace: 'default', name, identity, ...FAST, ...extra });
  const abort = new AbortController();
  let stoppedLeading = 0;
  const done = elector.run({ ...leadership.callbacks(identity), onStoppedLeading: () => void stoppedLeading++ }, abort.signal);
  cleanups.push(async () => {
    abort.abort();
    await done;
  });
  return { elector, abort, done, stoppedLeading: () => stoppedLeading };
}

/** Every version of the lease, as an informer sees it. */
function recordLease(name: string) {
  const versions: Resource[] = [];
  const informer = new Informer({ client: api.client, kind: 'Lease', namespace: 'default', fieldSelector: `metadata.name=${name}` });
  informer.addEventHandler({ onAdd: (o) => versions.push(o), onUpdate: (_, o) => versions.push(o) });
  informer.start();
  cleanups.push(() => informer.stop());
  return versions;
}

describe('LeaderElector', () => {
  it('refuses timings where the renew deadline is not shorter than the lease', () => {
    expect(() => new LeaderElector({ client: api.client, namespace: 'default', name: 'x', identity: 'a', leaseDurationMs: 1_000, renewDeadlineMs: 1_000 })).toThrow(
      RangeError,
    );
  });

  it('elects exactly one of two candidates and keeps renewing its lease', async () => {
    const name = leaseName();
    const leadership = new Leadership();
    campaign(name, 'a', leadership);
    campaign(name, 'b', leadership);
    await waitFor(() => leadership.leaders.size === 1, 'a leader');
    const leader = [...leadership.leaders][0]!;
    const first = await api.client.get('Lease', name, 'default');
    await sleep(500);
    const later = await api.client.get('Lease', name, 'default');
    expect(later.spec.holderIdentity).toBe(leader);
    expect(later.spec.acquireTime).toBe(first.spec.acquireTime);
    expect(Date.parse(later.spec.renewTime)).toBeGreaterThan(Date.parse(first.spec.renewTime));
    expect(later.spec.leaseDurationSeconds).toBe(1);
    expect(leadership.overlaps).toBe(0);
    expect(leadership.history).toEqual([`+${leader}`]);
  });

  it('does not take a lease another live holder keeps renewing', async () => {
    const name = leaseName();
    await api.client.create({
      apiVersion: 'persys.dev/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'default' },
      spec: { holderIdentity: 'someone-else', leaseDurationSeconds: 60, renewTime: new Date().toISOString() },
    });
    const leadership = new Leadership();
    const { elector, abort, done } = campaign(name, 'a', leadership);
    await sleep(800);
    expect(elector.isLeader).toBe(false);
    expect(elector.observedLeader).toBe('someone-else');
    abort.abort();
    await done;
    expect(leadership.history).toEqual([]);
  });

  it('hands over on a clean stop: the leader stops working, clears the holder, and the other takes over before expiry', async () => {
    const name = leaseName();
    const leadership = new Leadership();
    const versions = recordLease(name);
    const slow = { leaseDurationMs: 10_000, renewDeadlineMs: 5_000, retryPeriodMs: 100 };
    const a = campaign(name, 'a', leadership, slow);
    await waitFor(() => leadership.leaders.has('a'), 'a leads');
    const b = campaign(name, 'b', leadership, slow);
    a.abort.abort();
    await a.done;
    expect(a.stoppedLeading()).toBe(1);
    await waitFor(() => leadership.leaders.has('b'), 'b leads');
    expect(leadership.history).toEqual(['+a', '-a', '+b']);
    expect(leadership.overlaps).toBe(0);
    // Released, not expired: a emptied the holder, so b did not have to wait out a's lease.
    expect(versions.some((v) => !v.spec.holderIdentity)).toBe(true);
    const lastOfA = versions.filter((v) => v.spec.holderIdentity === 'a').at(-1)!;
    const firstOfB = versions.find((v) => v.spec.holderIdentity === 'b')!;
    expect(firstOfB.spec.leaseTransitions).toBeGreaterThan(lastOfA.spec.leaseTransitions ?? 0);
    expect(b.elector.isLeader).toBe(true);
  });

  it('stops leading when it cannot renew for the renew deadline; the other leads only after the lease expires', async () => {
    const name = leaseName();
    const leadership = new Leadership();
    const versions = recordLease(name);
    const partitioned = new ApiClient(api.config);
    const a = campaign(name, 'a', leadership, { client: partitioned });
    await waitFor(() => leadership.leaders.has('a'), 'a leads');
    campaign(name, 'b', leadership);
    await sleep(300);
    partitioned.close();
    await a.done;
    expect(a.stoppedLeading()).toBe(1);
    expect(leadership.leaders.has('a')).toBe(false);
    await waitFor(() => leadership.leaders.has('b'), 'b leads');
    expect(leadership.overlaps).toBe(0);
    const lastOfA = versions.filter((v) => v.spec.holderIdentity === 'a').at(-1)!;
    const firstOfB = versions.find((v) => v.spec.holderIdentity === 'b')!;
    expect(Date.parse(firstOfB.spec.acquireTime)).toBeGreaterThan(Date.parse(lastOfA.spec.renewTime) + 1_000);
    expect(versions.some((v) => !v.spec.holderIdentity)).toBe(false);
  });

  it('retries a failed renewal within a second instead of a whole retry period, so one failure does not cost the lease', async () => {
    const name = leaseName();
    const leadership = new Leadership();
    let failNextUpdates = 0;
    let renewals = 0;
    const flaky = {
      get: (kind: string, n: string, ns?: string) => api.client.get(kind, n, ns),
      create: (obj: Resource) => api.client.create(obj),
      update: async (obj: Resource) => {
        if (failNextUpdates > 0) {
          failNextUpdates--;
          throw Object.assign(new Error('etcd is slow'), { code: 14 });
        }
        renewals++;
        return api.client.update(obj);
      },
    };
    // Renewals every 2 s, given up 3.5 s after the last success.
    const a = campaign(name, 'a', leadership, { client: flaky, leaseDurationMs: 5_000, renewDeadlineMs: 3_500, retryPeriodMs: 2_000 });
    await waitFor(() => leadership.leaders.has('a'), 'a leads');
    failNextUpdates = 1;
    const before = renewals;
    // A retry one whole period after the failure would come 4 s after the last success, past the deadline.
    await waitFor(() => renewals >= before + 2, 'two renewals after the failed one', 10_000);
    expect(failNextUpdates).toBe(0);
    expect(a.stoppedLeading()).toBe(0);
    expect(leadership.leaders.has('a')).toBe(true);
  });

  it('takes over from a killed leader once its lease expires', async () => {
    const name = leaseName();
    const versions = recordLease(name);
    const script = fileURLToPath(new URL('./testdata/elector-process.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, PERSYS_TEST_CLIENT_CONFIG: JSON.stringify(api.config), PERSYS_TEST_LEASE: name, PERSYS_TEST_IDENTITY: 'doomed' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('leading') && resolve());
      child.once('exit', (code) => reject(new Error(`elector process exited with ${code}`)));
    });
    child.kill('SIGKILL');
    const leadership = new Leadership();
    campaign(name, 'survivor', leadership);
    await waitFor(() => leadership.leaders.has('survivor'), 'survivor leads');
    const lastOfDoomed = versions.filter((v) => v.spec.holderIdentity === 'doomed').at(-1)!;
    const firstOfSurvivor = versions.find((v) => v.spec.holderIdentity === 'survivor')!;
    expect(leaseExpired(lastOfDoomed.spec, Date.parse(firstOfSurvivor.spec.acquireTime))).toBe(true);
    expect(firstOfSurvivor.spec.leaseTransitions).toBe((lastOfDoomed.spec.leaseTransitions ?? 0) + 1);
  });
});
