// CronJobs end to end on the host's Docker engine with seconds-level schedules: runs on their times,
// history, Forbid and Replace, retries with back-off, and exactly one run per time across kill -9 and two controllers.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import type { Resource } from '../../lib/api/resource.js';
import { ATTEMPT_LABEL, SCHEDULED_TIME_LABEL } from '../../lib/cron/run-name.js';
import { ensureDocker, removeNamespaceContainers, TEST_IMAGE } from '../harness/docker.js';
import { eventually, ManagedProcess, TestCluster } from '../harness/cluster.js';

const NS = 'cron-e2e';
let cluster: TestCluster;
let docker: Dockerode;

beforeAll(async () => {
  docker = await ensureDocker();
  cluster = await TestCluster.start({
    // A node name of its own: agents remove their node's labelled orphans, and other files share this engine.
    agents: [{ name: 'cron-node', dockerHost: 'unix:///var/run/docker.sock' }],
  });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await removeNamespaceContainers([docker], NS);
}, 120_000);

function cronJob(name: string, script: string, spec: Record<string, unknown>): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'CronJob',
    metadata: { name, namespace: NS },
    spec: {
      jobTemplate: { spec: { image: TEST_IMAGE, command: ['sh', '-c', script], restartPolicy: 'Never' } },
      ...spec,
    },
  };
}

const runsOf = async (cj: string): Promise<Resource[]> =>
  (await cluster.client.list('Container', { namespace: NS })).items.filter((c) =>
    c.metadata.ownerReferences?.some((r) => r.kind === 'CronJob' && r.name === cj),
  );
const scheduledSec = (c: Resource) => Number(c.metadata.labels?.[SCHEDULED_TIME_LABEL]);
const attemptOf = (c: Resource) => Number(c.metadata.labels?.[ATTEMPT_LABEL] ?? 0);
const phaseOf = (c: Resource) => (c.status?.phase as string | undefined) ?? 'Pending';
const isActive = (c: Resource) => !c.metadata.deletionTimestamp && phaseOf(c) !== 'Succeeded' && phaseOf(c) !== 'Failed';

async function eventsOf(name: string, reason: string): Promise<Resource[]> {
  const events = (await cluster.client.list('Event', { namespace: NS })).items;
  return events.filter((e) => (e['involvedObject'] as { name?: string }).name === name && e['reason'] === reason);
}

/** Docker's containers for these persys Container names (all states), from the engine itself. */
async function inDocker(names: Iterable<string>): Promise<Dockerode.ContainerInfo[]> {
  const wanted = new Set(names);
  const list = await docker.listContainers({ all: true, filters: { label: [`dev.persys.namespace=${NS}`] } });
  return list.filter((c) => wanted.has(c.Labels['dev.persys.name'] ?? ''));
}

async function dockerExitCode(id: string): Promise<number> {
  return (await docker.getContainer(id).inspect()).State.ExitCode;
}

const withLogs = async <T>(p: Promise<T>): Promise<T> => {
  try {
    return await p;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${cluster.logs()}`);
  }
};

async function sleepUntil(ms: number): Promise<void> {
  const wait = ms - Date.now();
  if (wait > 0) await sleep(wait);
}

/** The first multiple of `periodS` seconds at least `leadMs` from now. */
function nextTimeOf(periodS: number, leadMs: number): number {
  const period = periodS * 1000;
  return Math.ceil((Date.now() + leadMs) / period) * period;
}

async function deleteCronJob(name: string): Promise<void> {
  await cluster.client.delete('CronJob', name, NS).catch(() => undefined);
}

describe('CronJob on Docker', () => {
  it('runs on every scheduled time, succeeds in Docker, trims history and runs now with create run --from', async () => {
    await cluster.client.apply(cronJob('tick', 'echo tick', { schedule: '*/3 * * * * *', successfulJobsHistoryLimit: 2 }));
    const seen = new Map<string, Resource>();
    const observe = async () => {
      for (const r of await runsOf('tick')) seen.set(r.metadata.name!, r);
      return [...seen.values()].filter((r) => phaseOf(r) === 'Succeeded');
    };
    const succeeded = await withLogs(eventually('five succeeded runs of tick', observe, (s) => s.length >= 5, 90_000, 200));

    // Each run sits on a schedule time, is named after it and was not created before it. (How late a
    // run starts is bench:cron's figure, not a pass/fail matter.)
    for (const r of seen.values()) {
      const sec = scheduledSec(r);
      expect(sec % 3).toBe(0);
      expect(r.metadata.name).toBe(`tick-${sec}`);
      expect(Date.parse(r.metadata.creationTimestamp!)).toBeGreaterThanOrEqual(sec * 1000);
    }

    // The job ran to completion in Docker: the engine's container exited 0.
    const done = succeeded.at(-1)!;
    const [container] = await inDocker([done.metadata.name!]);
    expect(container?.State).toBe('exited');
    expect(await dockerExitCode(container!.Id)).toBe(0);

    // History: only the 2 newest successful runs stay, in the API and in Docker.
    const trimmed = await withLogs(
      eventually(
        'tick history trimmed to 2',
        async () => {
          await observe();
          const now = await runsOf('tick');
          const names = new Set(now.map((r) => r.metadata.name!));
          const gone = [...seen.keys()].filter((n) => !names.has(n));
          return { kept: now.filter((r) => phaseOf(r) === 'Succeeded' && !r.metadata.deletionTimestamp), gone };
        },
        (v) => v.kept.length === 2 && v.gone.length >= 3,
        30_000,
        200,
      ),
    );
    const newest = [...seen.values()].filter((r) => phaseOf(r) === 'Succeeded').map(scheduledSec).sort((a, b) => b - a);
    for (const r of trimmed.kept) expect(newest.slice(0, 3)).toContain(scheduledSec(r));
    await eventually('trimmed runs gone from Docker', () => inDocker(trimmed.gone), (l) => l.length === 0, 30_000, 500);

    // persys get cj: the last schedule is in the past, the next one ahead.
    const get = await cluster.persys(['get', 'cj', 'tick', '-n', NS]);
    expect(get.code).toBe(0);
    const [header, row] = get.stdout.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(header).toEqual(['NAME', 'SCHEDULE', 'TIMEZONE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'NEXT', 'AGE']);
    expect(row![0]).toBe('tick');
    expect(row![1]).toBe('*/3 * * * * *');
    expect(row![5]).toMatch(/^\d+s$/);
    expect(row![6]).toMatch(/^in \d+s$/);

    // A run by hand starts now, outside the schedule, and runs in Docker.
    const create = await cluster.persys(['create', 'run', 'tick-now', '--from=cronjob/tick', '-n', NS]);
    expect(create.stderr).toBe('');
    expect(create.stdout).toContain('container/tick-now created');
    const manual = await withLogs(
      eventually('tick-now to succeed', () => cluster.client.get('Container', 'tick-now', NS), (c) => phaseOf(c) === 'Succeeded', 30_000, 200),
    );
    expect(manual.metadata.labels?.[SCHEDULED_TIME_LABEL]).toBeUndefined();
    expect(manual.metadata.ownerReferences?.[0]?.name).toBe('tick');
    const [manualInDocker] = await inDocker(['tick-now']);
    expect(manualInDocker?.State).toBe('exited');

    await deleteCronJob('tick');
  }, 180_000);

  it('Forbid never starts a second run while one is active and records the skipped time', async () => {
    await cluster.client.apply(
      cronJob('forbid', 'sleep 5', { schedule: '*/2 * * * * *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 20 }),
    );
    await withLogs(eventually('a forbid run to run in Docker', async () => (await inDocker((await runsOf('forbid')).map((r) => r.metadata.name!))).filter((c) => c.State === 'running').length, (n) => n === 1, 60_000, 200));

    let maxActive = 0;
    let maxRunning = 0;
    const until = Date.now() + 16_000;
    while (Date.now() < until) {
      const runs = await runsOf('forbid');
      maxActive = Math.max(maxActive, runs.filter(isActive).length);
      const running = (await inDocker(runs.map((r) => r.metadata.name!))).filter((c) => c.State === 'running');
      maxRunning = Math.max(maxRunning, running.length);
      await sleep(200);
    }
    expect(maxActive).toBe(1);
    expect(maxRunning).toBe(1);
    const runs = await runsOf('forbid');
    // Over 16 s a 5-second job ran more than once: runs continue after each one finishes.
    expect(runs.filter((r) => phaseOf(r) === 'Succeeded').length).toBeGreaterThanOrEqual(2);
    const skipped = await eventsOf('forbid', 'RunAlreadyActive');
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped[0]!['message']).toMatch(/^Not starting the run scheduled at \S+: run forbid-\d+ is still active and concurrencyPolicy is Forbid$/);

    await deleteCronJob('forbid');
  }, 120_000);

  it('Replace deletes the running run and its Docker container, and starts the new one', async () => {
    await cluster.client.apply(cronJob('replace', 'exec sleep 600', { schedule: '*/8 * * * * *', concurrencyPolicy: 'Replace' }));
    const first = await withLogs(
      eventually(
        'a replace run running in Docker',
        async () => {
          const runs = await runsOf('replace');
          const running = (await inDocker(runs.map((r) => r.metadata.name!))).filter((c) => c.State === 'running');
          return runs.find((r) => running.some((c) => c.Labels['dev.persys.name'] === r.metadata.name));
        },
        (r) => r !== undefined,
        60_000,
        200,
      ),
    );
    const firstName = first!.metadata.name!;
    const second = await withLogs(
      eventually('the next replace run', () => runsOf('replace'), (runs) => runs.some((r) => scheduledSec(r) > scheduledSec(first!)), 30_000, 200),
    );
    const secondName = second.find((r) => scheduledSec(r) > scheduledSec(first!))!.metadata.name!;

    await withLogs(
      eventually('the replaced run to be deleted', () => cluster.client.get('Container', firstName, NS).then(() => 'exists', () => 'gone'), (s) => s === 'gone', 30_000, 200),
    );
    await withLogs(eventually('the replaced run to leave Docker', () => inDocker([firstName]), (l) => l.length === 0, 30_000, 200));
    await withLogs(eventually('the new run to run in Docker', () => inDocker([secondName]), (l) => l.some((c) => c.State === 'running'), 30_000, 200));
    // The controller records a round's Events a moment after its creates.
    const deletes = await withLogs(eventually('the SuccessfulDelete Event', () => eventsOf('replace', 'SuccessfulDelete'), (l) => l.length > 0, 30_000, 200));
    expect(deletes.map((e) => e['message'])).toContainEqual(`Deleted run ${firstName}: replaced by the run scheduled at ${new Date(scheduledSec(second.find((r) => r.metadata.name === secondName)!) * 1000).toISOString()} (concurrencyPolicy Replace)`);

    await deleteCronJob('replace');
  }, 120_000);

  it('retries a failing run after 10 s then 20 s of back-off, then stops at backoffLimit', async () => {
    // A daily time a few seconds ahead: exactly one scheduled time in this test.
    const at = new Date(Math.ceil((Date.now() + 4000) / 1000) * 1000);
    const schedule = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
    await cluster.client.apply(cronJob('fail', 'echo failing; exit 1', { schedule, backoffLimit: 2 }));

    const exceeded = await withLogs(eventually('a BackoffLimitExceeded Event for fail', () => eventsOf('fail', 'BackoffLimitExceeded'), (e) => e.length > 0, 90_000, 500));
    expect(exceeded[0]!['type']).toBe('Warning');
    expect(exceeded[0]!['message']).toMatch(/failed 3 times; backoffLimit is 2$/);

    const attempts = (await runsOf('fail')).sort((a, b) => attemptOf(a) - attemptOf(b));
    expect(attempts.map(attemptOf)).toEqual([0, 1, 2]);
    for (const a of attempts) {
      expect(scheduledSec(a) * 1000).toBe(at.getTime());
      expect(phaseOf(a)).toBe('Failed');
      expect(a.status?.exitCode).toBe(1);
    }
    // Each retry waited at least its back-off after the previous attempt failed (creation times are whole seconds).
    const created = attempts.map((a) => Date.parse(a.metadata.creationTimestamp!));
    const failed = attempts.map((a) => Date.parse(a.status!.finishedAt as string));
    expect(created[1]! - failed[0]!).toBeGreaterThanOrEqual(9_000);
    expect(created[2]! - failed[1]!).toBeGreaterThanOrEqual(19_000);
    expect((await eventsOf('fail', 'RetryScheduled')).length).toBeGreaterThan(0);

    // Given up: nothing active, and no further attempt appears.
    await eventually('fail to have no active run', () => cluster.client.get('CronJob', 'fail', NS), (cj) => (cj.status?.active ?? []).length === 0, 10_000, 200);
    await sleep(5_000);
    expect((await runsOf('fail')).map(attemptOf).sort()).toEqual([0, 1, 2]);

    await deleteCronJob('fail');
  }, 150_000);

  it('starts exactly one run for a time when the controllers are killed around it', async () => {
    await cluster.client.apply(cronJob('crash', 'echo crash', { schedule: '*/20 * * * * *', successfulJobsHistoryLimit: 20 }));
    await withLogs(eventually('the controllers to act on crash', () => cluster.client.get('CronJob', 'crash', NS), (cj) => !!cj.status?.nextScheduleTime, 30_000, 200));

    // kill -9 two seconds before a scheduled time, back three seconds after it. The restarted process
    // waits out the dead one's 15 s lease, still within the 20 s period.
    const t = nextTimeOf(20, 5_000);
    await sleepUntil(t - 2_000);
    await cluster.controllers.kill();
    await sleepUntil(t + 3_000);
    cluster.controllers.start();
    const atT = await withLogs(eventually('the run for the time of the crash', () => runsOf('crash'), (runs) => runs.some((r) => scheduledSec(r) === t / 1000), 45_000, 200));

    // kill -9 as soon as the next run exists (its status write may not have happened), restart at once.
    const next = t + 20_000;
    await withLogs(eventually('the run after the crash', () => runsOf('crash'), (runs) => runs.some((r) => scheduledSec(r) === next / 1000), 45_000, 50));
    await cluster.controllers.kill();
    cluster.controllers.start();
    const after = await withLogs(eventually('the run after the second crash', () => runsOf('crash'), (runs) => runs.some((r) => scheduledSec(r) === next / 1000 + 20), 60_000, 200));

    const count = (runs: Resource[], sec: number) => runs.filter((r) => scheduledSec(r) === sec).length;
    expect(count(atT, t / 1000)).toBe(1);
    expect(count(after, t / 1000)).toBe(1);
    expect(count(after, next / 1000)).toBe(1);
    expect(count(after, next / 1000 + 20)).toBe(1);
    expect(after.every((r) => attemptOf(r) === 0)).toBe(true);

    await deleteCronJob('crash');
  }, 180_000);

  it('two controller processes at once still start exactly one run per time, across a hand-over', async () => {
    const second = new ManagedProcess(
      'controllers-2',
      () => ['controllers', '--config', join(cluster.dir, 'config.yaml'), '--metrics-listen', '127.0.0.1:0'],
      cluster.dir,
    );
    second.start();
    try {
      await cluster.client.apply(cronJob('pair', 'echo pair', { schedule: '*/2 * * * * *', successfulJobsHistoryLimit: 100 }));
      const counted = new Map<number, Set<string>>();
      const observe = async () => {
        for (const r of await runsOf('pair')) {
          const s = counted.get(scheduledSec(r)) ?? new Set<string>();
          s.add(r.metadata.uid!);
          counted.set(scheduledSec(r), s);
        }
        return counted.size;
      };
      await withLogs(eventually('five pair runs', observe, (n) => n >= 5, 60_000, 300));

      // Hand over: stop whichever process leads the controllers; the other one takes over.
      const lease = await cluster.client.get('Lease', 'persys-controllers', 'persys-system');
      const holder: string = lease.spec?.holderIdentity ?? '';
      const leader = [cluster.controllers, second].find((p) => holder.includes(`_${p.child?.pid}_`));
      expect(leader, `lease holder ${holder}`).toBeDefined();
      await leader!.stop();
      const handedOverSec = Math.ceil(Date.now() / 1000);
      await withLogs(eventually('four pair runs after the hand-over', async () => (await observe(), [...counted.keys()].filter((s) => s > handedOverSec).length), (n) => n >= 4, 60_000, 300));
      await observe();

      for (const [sec, uids] of counted) expect(uids.size, `runs for ${sec}`).toBe(1);
      expect([...counted.keys()].every((s) => s % 2 === 0)).toBe(true);
      if (leader === cluster.controllers) cluster.controllers.start();
    } finally {
      await second.stop();
      if (!cluster.controllers.running) cluster.controllers.start();
      await deleteCronJob('pair');
    }
  }, 150_000);
});
